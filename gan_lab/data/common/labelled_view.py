"""A labelled image set dressed as a tiny data module, for classifiers to train and score on.

The translation data modules hand their domain (A vs B) and class views out as
:class:`LabelledView`; the translation metrics wrap test sets in one too.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch.utils.data import Dataset

__all__ = ["LabelledView"]


class LabelledView:
    """A labelled image set dressed as a tiny data module, for a classifier to train on.

    ``train_set`` yields ``(image, label)``; ``sample_shape`` is the images' shape; ``classes``
    names the labels. It is fingerprintable (:func:`gan_lab.data.common.fingerprint.data_fingerprint`):
    its ``train_set`` is a ``TensorDataset`` or has ``files`` and ``labels`` lists.
    """

    def __init__(
        self, train_set: Dataset, sample_shape: tuple[int, int, int], classes: Sequence[str]
    ) -> None:
        self.train_set = train_set
        self.sample_shape = tuple(sample_shape)
        self.classes = list(classes)
        self.num_classes = len(self.classes)

    def setup(self, stage: str | None = None) -> None:
        """Nothing to do: the set is built already."""

    @property
    def reference_set(self) -> Dataset:
        """What a classifier learns from and evaluation compares with: the whole set."""
        return self.train_set
