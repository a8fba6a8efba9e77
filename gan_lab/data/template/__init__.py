"""A template data module to copy (junyanz's template_dataset)."""

from gan_lab.data.template.tensor_file import TensorFileDataModule

__all__ = ["TensorFileDataModule"]
