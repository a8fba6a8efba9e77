"""The contract of multi-attribute image sets (StarGAN's data): images with binary attributes.

A batch is ``(images, attributes)``: images float32 ``(B, C, S, S)`` in ``[-1, 1]`` and
attributes float32 ``(B, K)`` in ``{0, 1}``, one column per name of ``attribute_names``
(``batch_kind = "attributes"``). ``test_set`` holds the held-out ``(image, attributes)`` items,
preprocessed deterministically, on which translations are shown and scored. Two sets follow it:
the CelebA layout (:mod:`gan_lab.data.attributes.celeba`) and the embedded digits with rendered attributes
(:mod:`gan_lab.data.attributes.digits`).

Where the data also knows what a translation must keep (the digit of the embedded set), it hands
it out as the translation sets do: :meth:`~AttributeDataModule.class_view` (training images with
their content labels, for a content classifier) and :meth:`~AttributeDataModule.eval_labels` (the
labels of ``test_set``'s items, in order); both are None where the data has none (CelebA).

Named ``test_set`` rather than ``eval_set`` on purpose: ``eval_set(domain)`` is the two-domain
translation sets' protocol, which the translation metrics and health probes read by domain.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor
from torch.utils.data import Dataset

from gan_lab.data.common.labelled_view import LabelledView
from gan_lab.data.common.option_checks import check_int
from gan_lab.data.common.train_set import TrainSetDataModule
from gan_lab.kinds import BatchKind

__all__ = ["AttributeDataModule", "select_attributes"]


def select_attributes(requested: object, available: Sequence[str], where: str) -> tuple[str, ...]:
    """The chosen attribute names (``data.attributes``), checked against those ``where`` has;
    one ValueError line listing the allowed names for an unknown one."""
    if isinstance(requested, str) or not isinstance(requested, Sequence) or not requested:
        raise ValueError(f"data.attributes={requested!r}: must be a non-empty list of attribute "
                         f"names of {where}: {', '.join(available)}")
    names = [str(name) for name in requested]
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(f"data.attributes: {unknown[0]!r} is not an attribute of {where}; "
                         f"allowed: {', '.join(available)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"data.attributes: {repeated[0]!r} is listed twice")
    return tuple(names)


class AttributeDataModule(TrainSetDataModule):
    """Images with K binary attributes; see the module docstring.

    Subclasses set ``attribute_names``, ``train_set`` and ``test_set`` in their constructor.
    ``reference_set`` (the training set) is what an attribute classifier learns from.
    """

    batch_kind = BatchKind.ATTRIBUTES
    num_classes = 0  # attributes are not classes: class-conditional metrics do not apply

    def __init__(self, *, attribute_names: Sequence[str], image_size: int, channels: int,
                 batch_size: int, seed: int, num_workers: int) -> None:
        super().__init__(batch_size=check_int("batch_size", batch_size, 1), seed=int(seed),
                         num_workers=check_int("num_workers", num_workers, 0))
        self.attribute_names = tuple(attribute_names)
        self.image_size = check_int("image_size", image_size, 1)
        self.channels = int(channels)
        self.sample_shape = (self.channels, self.image_size, self.image_size)
        self.test_set: Dataset | None = None

    @property
    def num_attributes(self) -> int:
        return len(self.attribute_names)

    def describe(self) -> str:
        """The data, for messages."""
        return type(self).__name__

    def class_view(self) -> LabelledView | None:
        """Training images labelled with their content (what translations must keep), where the
        data knows it; None here."""
        return None

    def eval_labels(self) -> Tensor | None:
        """The content labels of ``test_set``'s items, in order, where the data knows them;
        None here."""
        return None

    def setup(self, stage: str | None = None) -> None:
        """Nothing to do: the sets are built in the constructor."""

    def _check_batch_size(self) -> None:
        count = len(self.train_set)
        if self.batch_size > count:
            raise ValueError(f"data.batch_size={self.batch_size} is more than the {count} "
                             f"training images of {self.describe()}; lower data.batch_size")

    def train_dataloader(self):
        self._check_batch_size()
        return super().train_dataloader()
