"""``data=digit_attributes``: scikit-learn's digits drawn with four independent binary attributes,
the embedded multi-domain set of StarGAN (no download, CPU-sized, scorable).

Each of the 1,797 digits is rendered once (RGB, ``image_size`` square) with attributes drawn
independently, each on with probability 1/2, by a fixed-seed generator (the same for every
``data.seed``), so no attribute can be predicted from another or from the digit:

- ``red_ink``: red ink, else blue;
- ``thick_stroke``: a bold stroke, else a thin one (the smoothstep band of the stroke mask);
- ``dark_paper``: a dark slate background, else light paper;
- ``framed``: an ink frame along the border (``image_size / 16`` pixels wide), else none.

Every combination is one of 16 domains, as the paper's 5 CelebA attributes give 32; the digit and
its handwriting are the content a translation must keep, and the digit's class is handed out for a
content classifier to check it (:meth:`DigitAttributesDataModule.class_view`, ``eval_labels``). Because the renderer is known, the
attributes of a translation can be scored by a classifier trained on real images
(gan_lab.metrics.attributes), as the paper scores translations with a classifier on RaFD.
The split is the digit sets' fixed one (1,617 training, 180 test digits;
gan_lab.data.translation.embedded.digit_split). ``data.attributes`` picks which attributes the
model is conditioned on (all four by default); the others still vary, as CelebA's unchosen ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from gan_lab.data.attributes.base import AttributeDataModule, select_attributes
from gan_lab.data.common.labelled_view import LabelledView
from gan_lab.data.common.option_checks import check_int
from gan_lab.data.translation.embedded import digit_intensity, digit_split, strokes

__all__ = ["DIGIT_ATTRIBUTES", "DigitAttributesDataModule", "digit_attribute_values",
           "render_digit_attributes"]

DIGIT_ATTRIBUTES = ("red_ink", "thick_stroke", "dark_paper", "framed")
ATTRIBUTE_SEED = 5  # fixed: the attributes of each digit never depend on data.seed
RED, BLUE = (0.90, 0.15, 0.10), (0.15, 0.40, 0.95)
DARK, LIGHT = (0.10, 0.10, 0.14), (0.96, 0.95, 0.90)
THIN, THICK = (0.40, 0.70), (0.10, 0.35)  # smoothstep bands of the stroke mask


def digit_attribute_values(count: int) -> torch.Tensor:
    """(count, 4) float {0, 1}: independent fair coin flips per digit and attribute, in the
    order of :data:`DIGIT_ATTRIBUTES`, from a fixed-seed generator."""
    generator = torch.Generator().manual_seed(ATTRIBUTE_SEED)
    return torch.randint(0, 2, (count, len(DIGIT_ATTRIBUTES)), generator=generator).float()


def _frame(size: int) -> torch.Tensor:
    width = max(1, size // 16)
    mask = torch.zeros(1, 1, size, size)
    mask[..., :width, :] = mask[..., -width:, :] = 1.0
    mask[..., :, :width] = mask[..., :, -width:] = 1.0
    return mask


def render_digit_attributes(intensity: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Digits (N, 1, S, S) of ink intensity in [0, 1] drawn with attributes ``values`` (N, 4)
    as RGB images (N, 3, S, S) in [-1, 1]."""
    red, thick, dark, framed = (values[:, k].view(-1, 1, 1, 1) for k in range(4))
    mask = torch.where(thick > 0.5, strokes(intensity, THICK), strokes(intensity, THIN))
    mask = torch.where(framed > 0.5, torch.maximum(mask, _frame(intensity.shape[-1])), mask)
    ink = torch.where(red > 0.5, torch.tensor(RED).view(1, 3, 1, 1),
                      torch.tensor(BLUE).view(1, 3, 1, 1))
    paper = torch.where(dark > 0.5, torch.tensor(DARK).view(1, 3, 1, 1),
                        torch.tensor(LIGHT).view(1, 3, 1, 1))
    return (paper + (ink - paper) * mask) * 2.0 - 1.0


class DigitAttributesDataModule(AttributeDataModule):
    """The embedded attribute set; see the module docstring.

    Args:
        attributes: the attributes to condition on, a subset of :data:`DIGIT_ATTRIBUTES` in any
            order (the columns of the batches' attribute vectors follow it).
        image_size: side of the square images, at least 16.
        batch_size: images per training batch (StarGAN's 16).
        seed: seed of the loader's shuffling.
        num_workers: loader worker processes.
    """

    def __init__(self, attributes: Sequence[str] = DIGIT_ATTRIBUTES, image_size: int = 32,
                 batch_size: int = 16, seed: int = 0, num_workers: int = 0) -> None:
        names = select_attributes(attributes, DIGIT_ATTRIBUTES, "data=digit_attributes")
        super().__init__(attribute_names=names, image_size=check_int("image_size", image_size, 16),
                         channels=3, batch_size=batch_size, seed=seed, num_workers=num_workers)
        intensity, self.digit_labels = digit_intensity(self.image_size)
        values = digit_attribute_values(len(intensity))
        images = render_digit_attributes(intensity, values)
        columns = values[:, [DIGIT_ATTRIBUTES.index(name) for name in names]].contiguous()
        self.train_indices, self.test_indices = digit_split()
        self.train_set = TensorDataset(images[self.train_indices], columns[self.train_indices])
        self.test_set = TensorDataset(images[self.test_indices], columns[self.test_indices])
        self._class_view = LabelledView(
            TensorDataset(images[self.train_indices], self.digit_labels[self.train_indices]),
            self.sample_shape, [str(digit) for digit in range(10)])
        self._check_batch_size()

    def describe(self) -> str:
        return "data=digit_attributes"

    def class_view(self) -> LabelledView:
        """The training images (every attribute rendering) labelled with their digit, 10 classes:
        a classifier of it reads the digit whatever the attributes."""
        return self._class_view

    def eval_labels(self) -> Tensor:
        """The digits of ``test_set``'s items, in order."""
        return self.digit_labels[self.test_indices].clone()
