"""scikit-learn's 8x8 handwritten digits as a small image data set.

``sklearn.datasets.load_digits`` ships inside the scikit-learn wheel (1,797 grey-scale 8x8 images
with integer intensities 0..16 and labels 0..9), so this needs no download: a quick, offline
stand-in for MNIST in tests and smoke runs.
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch.utils.data import TensorDataset

from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.data.common.transforms import resize_square

__all__ = ["DigitsDataModule", "load_digit_tensors"]

NUM_DIGITS = 1797


def load_digit_tensors(image_size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as ``(images, labels)``.

    ``images`` is ``(N, 1, image_size, image_size)`` float32 in ``[-1, 1]`` (``v / 8 - 1`` for the
    raw intensities ``v`` in 0..16, then bilinear, antialiased resizing); ``labels`` is ``(N,)``
    int64 in 0..9.
    """
    if image_size < 8:
        raise ValueError(f"data.image_size={image_size} must be at least 8 (the digits are 8x8)")
    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1)  # (N, 1, 8, 8)
    images = resize_square(images / 8.0 - 1.0, image_size)
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return images, labels


class DigitsDataModule(TrainSetDataModule):
    """The scikit-learn digits, scaled to ``[-1, 1]`` and resized once in :meth:`setup`.

    Batches are ``(images, labels)`` with images ``(B, 1, S, S)`` float32 and labels ``(B,)``
    int64. Only a training loader is provided (shuffled with ``seed``, incomplete final batch
    dropped).

    Args:
        image_size: side ``S`` of the square output images; at least 8.
        batch_size: images per batch; at most 1,797.
        seed: seed of the loader's shuffling.
        num_workers: loader worker processes.
        channels: must be 1 (the digits are grey-scale); accepted so that configs can state it.
    """

    def __init__(
        self,
        image_size: int = 16,
        batch_size: int = 64,
        seed: int = 0,
        num_workers: int = 0,
        channels: int = 1,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        if channels != 1:
            raise ValueError(
                f"data.channels={channels}: the digits are grayscale, only 1 is allowed"
            )
        if image_size < 8:
            raise ValueError(
                f"data.image_size={image_size} must be at least 8 (the digits are 8x8)"
            )
        if not 1 <= batch_size <= NUM_DIGITS:
            raise ValueError(f"data.batch_size={batch_size} must be between 1 and {NUM_DIGITS}")
        self.image_size = image_size
        self.channels = 1
        self.num_classes = 10
        self.sample_shape = (1, image_size, image_size)

    def build_train_set(self) -> TensorDataset:
        return TensorDataset(*load_digit_tensors(self.image_size))
