"""The scikit-learn digits data module."""

from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_digits

from gan_lab.data import DigitsDataModule
from gan_lab.data.samples.digits import load_digit_tensors


@pytest.fixture(scope="module")
def digits16():
    dm = DigitsDataModule(image_size=16, batch_size=64, seed=0)
    dm.setup("fit")
    return dm


def test_attributes():
    dm = DigitsDataModule(image_size=24)
    assert dm.sample_shape == (1, 24, 24)
    assert dm.num_classes == 10
    assert dm.channels == 1
    assert dm.image_size == 24


def test_images_and_labels(digits16):
    images, labels = digits16.train_set.tensors
    assert images.shape == (1797, 1, 16, 16) and images.dtype == torch.float32
    assert labels.shape == (1797,) and labels.dtype == torch.int64
    assert images.min() == -1.0 and images.max() == 1.0
    assert set(labels.tolist()) == set(range(10))
    assert torch.equal(labels, torch.as_tensor(load_digits().target))


def test_native_size_is_a_plain_rescaling():
    images, _ = load_digit_tensors(8)
    raw = torch.as_tensor(load_digits().images, dtype=torch.float32)
    assert images.shape == (1797, 1, 8, 8)
    assert torch.equal(images[:, 0], raw / 8.0 - 1.0)


def test_resizing_keeps_the_picture(digits16):
    small, _ = load_digit_tensors(8)
    large = digits16.train_set.tensors[0]
    # bilinear up-sampling keeps each image's mean brightness and its layout
    assert (large.mean(dim=(1, 2, 3)) - small.mean(dim=(1, 2, 3))).abs().max() < 0.05
    pooled = torch.nn.functional.avg_pool2d(large, 2)
    assert (pooled - small).abs().mean() < 0.15


def test_setup_resizes_once(digits16):
    dataset = digits16.train_set
    digits16.setup("fit")
    assert digits16.train_set is dataset


def test_loader_batches(digits16):
    loader = digits16.train_dataloader()
    assert len(loader) == 1797 // 64  # incomplete last batch dropped
    images, labels = next(iter(loader))
    assert images.shape == (64, 1, 16, 16) and images.dtype == torch.float32
    assert labels.shape == (64,) and labels.dtype == torch.int64


def test_loader_is_deterministic_by_seed(digits16):
    def labels(seed):
        dm = DigitsDataModule(image_size=8, batch_size=100, seed=seed)
        return torch.cat([batch[1] for batch in dm.train_dataloader()])

    assert torch.equal(labels(0), labels(0))
    assert not torch.equal(labels(0), labels(1))


@pytest.mark.parametrize("size", [0, 4, 7])
def test_too_small_image_size(size):
    with pytest.raises(ValueError, match="data.image_size"):
        DigitsDataModule(image_size=size)


def test_batch_size_validation():
    with pytest.raises(ValueError, match="data.batch_size"):
        DigitsDataModule(batch_size=5000)


def test_only_one_channel():
    assert DigitsDataModule(channels=1).channels == 1
    with pytest.raises(ValueError, match="data.channels"):
        DigitsDataModule(channels=3)
