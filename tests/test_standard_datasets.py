"""MNIST, Fashion-MNIST and CIFAR-10 on tiny synthetic files; nothing here touches the network."""

from __future__ import annotations

import gzip
import os
import pickle
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from gan_lab.building import build
from gan_lab.config import ConfigError
from gan_lab.data import (
    CIFAR10DataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
)
from gan_lab.data.samples import fashion_mnist, torchvision_sets
from gan_lab.data.samples.torchvision_sets import read_idx
from tests.conftest import make_cfg

N_TRAIN, N_TEST = 20, 8
IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """No network (torchvision fails as on an offline machine), no real cache or Debian files."""

    def no_network(*args, **kwargs):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", tmp_path / "no_debian")


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_file(path: Path, data: bytes, gz: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[:, 0, 0], images[:, 0, 1] = 0, 255  # the full range, so [-1, 1] is reached
    return images, np.arange(n, dtype=np.uint8) % 10


def write_idx_set(folder: Path, gz: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four IDX files in ``folder``: 20 train and 8 test images; returns the arrays."""
    arrays = {"train": synthetic(N_TRAIN, 0), "test": synthetic(N_TEST, 1)}
    for split, (images_name, labels_name) in IDX_NAMES.items():
        images, labels = arrays[split]
        write_file(folder / images_name, idx_bytes(images), gz)
        write_file(folder / labels_name, idx_bytes(labels), gz)
    return arrays


IDX_MODULES = [(MNISTDataModule, "MNIST"), (FashionMNISTDataModule, "FashionMNIST")]


@pytest.mark.parametrize(("module", "raw"), IDX_MODULES)
@pytest.mark.parametrize(("layout", "gz"), [("flat", True), ("flat", False), ("torchvision", True)])
def test_idx_sets_load_from_either_layout(tmp_path, module, raw, layout, gz):
    folder = tmp_path / "data" if layout == "flat" else tmp_path / "data" / raw / "raw"
    arrays = write_idx_set(folder, gz=gz)
    dm = module(root=str(tmp_path / "data"), image_size=28, batch_size=4)
    assert dm.files[0].parent == folder
    assert (dm.image_size, dm.channels, dm.num_classes) == (28, 1, 10)
    assert dm.sample_shape == (1, 28, 28)
    dm.setup("fit")
    images, labels = dm.train_set.tensors
    assert images.shape == (N_TRAIN, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and labels.tolist() == arrays["train"][1].tolist()
    assert images.min() == -1.0 and images.max() == 1.0
    # the native size is a plain rescaling of the bytes
    expected = torch.as_tensor(arrays["train"][0], dtype=torch.float32) / 127.5 - 1.0
    assert torch.allclose(images[:, 0], expected, atol=1e-6)
    batch = next(iter(dm.train_dataloader()))
    assert batch[0].shape == (4, 1, 28, 28) and batch[1].shape == (4,)


def test_resizing_and_test_split(tmp_path):
    arrays = write_idx_set(tmp_path)
    dm = FashionMNISTDataModule(root=str(tmp_path), image_size=32, split="test", batch_size=8)
    assert dm.sample_shape == (1, 32, 32)
    dm.setup("fit")
    images, labels = dm.train_set.tensors
    assert images.shape == (N_TEST, 1, 32, 32)
    assert labels.tolist() == arrays["test"][1].tolist()
    assert images.min() >= -1.0 and images.max() <= 1.0
    small = torch.as_tensor(arrays["test"][0], dtype=torch.float32) / 127.5 - 1.0
    # bilinear resizing keeps each image's mean brightness
    assert (images.mean(dim=(1, 2, 3)) - small.mean(dim=(1, 2))).abs().max() < 0.02


def test_read_idx_rejects_bad_magic_and_truncation(tmp_path):
    images, _ = synthetic(5, 0)
    good = idx_bytes(images)
    bad = b"\x00\x00\x0d\x03" + good[4:]  # 0x0d: float, not unsigned byte
    bad_magic = write_file(tmp_path / "magic" / "train-images-idx3-ubyte", bad, True)
    with pytest.raises(ValueError, match=r"magic.*train-images|train-images.*magic"):
        read_idx(bad_magic)
    short = write_file(tmp_path / "short" / "train-images-idx3-ubyte", good[:-100], False)
    with pytest.raises(ValueError, match="truncated or corrupt") as error:
        read_idx(short)
    assert str(short) in str(error.value)
    cut = tmp_path / "cut" / "train-images-idx3-ubyte.gz"
    cut.parent.mkdir()
    cut.write_bytes(gzip.compress(good)[:-30])
    with pytest.raises(ValueError, match="unreadable") as error:
        read_idx(cut)
    assert str(cut) in str(error.value)
    assert np.array_equal(read_idx(write_file(tmp_path / "ok" / "x", good, True)), images)


def test_corrupt_files_are_named(tmp_path):
    write_idx_set(tmp_path)
    images_path = tmp_path / "train-images-idx3-ubyte.gz"
    images_path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + bytes(20)))  # a 1-D file
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*expected \\(N, 28, 28\\)"):
        MNISTDataModule(root=str(tmp_path))
    # a header that promises more images than the file holds: found when the data is read
    images, _ = synthetic(N_TRAIN, 0)
    images_path.write_bytes(gzip.compress(idx_bytes(images)[:-784]))
    dm = MNISTDataModule(root=str(tmp_path), batch_size=4)
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*truncated"):
        dm.setup("fit")
    # labels for a different number of images
    write_file(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(3, np.uint8)), True)
    images_path.write_bytes(gzip.compress(idx_bytes(images)))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz: labels of shape \\(3,\\)"):
        MNISTDataModule(root=str(tmp_path))


@pytest.mark.parametrize(
    ("module", "kwargs", "message"),
    [
        (MNISTDataModule, {"channels": 3}, r"data.channels=3: MNIST allows 1 \(grayscale\)"),
        (FashionMNISTDataModule, {"split": "val"}, "data.split='val': must be 'train' or 'test'"),
        (MNISTDataModule, {"batch_size": 21}, "data.batch_size=21 is more than the 20 images"),
        (MNISTDataModule, {"image_size": 0}, "data.image_size=0: must be an integer >= 1"),
        (CIFAR10DataModule, {"channels": 2}, r"data.channels=2: CIFAR-10 allows 3 \(RGB\) or 1"),
    ],
)
def test_bad_arguments(tmp_path, module, kwargs, message):
    write_idx_set(tmp_path)
    with pytest.raises(ValueError, match=message):
        module(root=str(tmp_path), **kwargs)


@pytest.mark.parametrize(
    ("module", "folders", "files"),
    [
        (
            MNISTDataModule,
            ["{root} or {root}/MNIST/raw;"],
            ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
        ),
        (
            FashionMNISTDataModule,
            ["{root} or {root}/FashionMNIST/raw;"],
            ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "make fashion-mnist"],
        ),
        (
            CIFAR10DataModule,
            ["{root}/cifar-10-batches-py or {root};"],
            ["{root}/cifar-10-batches-py/data_batch_1..5 and test_batch"],
        ),
    ],
)
@pytest.mark.parametrize("download", [True, False])
def test_offline_error_says_where_to_put_the_files(tmp_path, module, folders, files, download):
    root = tmp_path / "empty"
    with pytest.raises(ValueError) as error:
        module(root=str(root), download=download)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"data.root={root}: no ")
    for part in folders + files:
        assert part.format(root=root) in message
    if download:
        assert "downloading them failed" in message and "Name or service not known" in message
    else:
        assert "data.download=false" in message


def test_fashion_mnist_default_places(tmp_path, monkeypatch):
    debian, cache = tmp_path / "debian", tmp_path / "cache" / "gan_lab" / "fashion_mnist"
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", debian)
    with pytest.raises(ValueError) as error:
        FashionMNISTDataModule(batch_size=4)
    message = str(error.value)
    assert message.startswith("data.root=null: no Fashion-MNIST train files in ")
    assert f"{debian} or {cache} or {cache}/FashionMNIST/raw;" in message
    write_idx_set(cache / "FashionMNIST" / "raw")
    found = FashionMNISTDataModule(batch_size=4).files[0].parent
    assert found == cache / "FashionMNIST" / "raw"
    write_idx_set(debian)
    assert FashionMNISTDataModule(batch_size=4).files[0].parent == debian  # Debian's copy comes first


def test_download_fills_torchvision_layout(tmp_path, monkeypatch):
    calls = []

    def fake_download(dataset, root):
        calls.append((dataset, root))
        write_idx_set(root / "MNIST" / "raw")
        return None

    monkeypatch.setattr(torchvision_sets, "torchvision_download", fake_download)
    dm = MNISTDataModule(root=str(tmp_path / "new"), batch_size=4)
    assert calls == [("MNIST", tmp_path / "new")]
    assert dm.files[0] == tmp_path / "new" / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    MNISTDataModule(root=str(tmp_path / "new"), batch_size=4)  # found now: no second download
    assert len(calls) == 1
    MNISTDataModule(batch_size=4)  # root: null downloads into the cache
    assert calls[-1] == ("MNIST", tmp_path / "cache" / "gan_lab" / "mnist")


# -- CIFAR-10 --------------------------------------------------------------------------------

PER_BATCH = 4


def write_cifar(root: Path) -> tuple[np.ndarray, list[int]]:
    """The python-version layout with 4 images per batch file; returns the test batch."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    test = None
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, size=(PER_BATCH, 3072), dtype=np.uint8)
        data[:, 0], data[:, 1] = 0, 255
        labels = [(i + j) % 10 for j in range(PER_BATCH)]
        batch = {"batch_label": name, "labels": labels, "data": data,
                 "filenames": [f"{name}_{j}.png" for j in range(PER_BATCH)]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
        test = (data, labels)
    meta = {"label_names": [f"class{k}" for k in range(10)], "num_cases_per_batch": PER_BATCH}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return test


def test_cifar10_layout_loads(tmp_path, monkeypatch):
    test_data, test_labels = write_cifar(tmp_path)
    dm = CIFAR10DataModule(root=str(tmp_path), batch_size=4, download=False)
    assert dm.sample_shape == (3, 32, 32) and dm.num_classes == 10
    dm.setup("fit")
    images, labels = dm.train_set.tensors
    assert images.shape == (5 * PER_BATCH, 3, 32, 32) and labels.dtype == torch.int64
    assert images.min() == -1.0 and images.max() == 1.0

    # the same pixels and labels as torchvision's own reader (its MD5 check switched off)
    import torchvision.datasets.cifar as tv_cifar

    monkeypatch.setattr(tv_cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    reference = tv_cifar.CIFAR10(root=str(tmp_path), train=True, download=False)
    expected = torch.as_tensor(reference.data).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    assert torch.allclose(images, expected, atol=1e-6)
    assert labels.tolist() == list(reference.targets)

    gray = CIFAR10DataModule(root=str(tmp_path), channels=1, image_size=16, split="test",
                             batch_size=2)
    assert gray.sample_shape == (1, 16, 16)
    gray.setup("fit")
    images, labels = gray.train_set.tensors
    assert images.shape == (PER_BATCH, 1, 16, 16) and labels.tolist() == test_labels


def test_cifar10_corrupt_batch_is_named(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x02}q\x00")
    dm = CIFAR10DataModule(root=str(tmp_path), download=False, batch_size=4)
    with pytest.raises(ValueError, match="data_batch_3: not a CIFAR-10 batch"):
        dm.setup("fit")


# -- configs -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_configs_compose(tmp_path, name):
    if name == "cifar10":
        write_cifar(tmp_path / "data")
    else:
        write_idx_set(tmp_path / "data")
    cfg = make_cfg(tmp_path / "run", f"data={name}", f"data.root={tmp_path / 'data'}",
                   "data.batch_size=4")
    assert cfg.data.image_size == 32 and cfg.data.split == "train" and cfg.data.download is True
    dm = instantiate(cfg.data)
    channels = 3 if name == "cifar10" else 1
    assert dm.sample_shape == (channels, 32, 32) == (cfg.model.generator.channels, 32, 32)


def test_config_error_is_one_line(tmp_path):
    cfg = make_cfg(tmp_path / "run", "data=cifar10", f"data.root={tmp_path / 'nothing'}")
    with pytest.raises(ConfigError) as error:
        build(cfg, "data")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"data: data.root={tmp_path / 'nothing'}: no CIFAR-10 train files")


# -- the real files, where Debian's package installed them -----------------------------------

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not (DEBIAN / "train-images-idx3-ubyte.gz").is_file(),
                    reason="dataset-fashion-mnist is not installed (make fashion-mnist)")
def test_debian_fashion_mnist(monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", DEBIAN)
    dm = FashionMNISTDataModule(image_size=28)
    assert dm.files[0] == DEBIAN / "train-images-idx3-ubyte.gz"
    dm.setup("fit")
    images, labels = dm.train_set.tensors
    assert images.shape == (60000, 1, 28, 28) and labels.shape == (60000,)
    assert torch.equal(labels.bincount(), torch.full((10,), 6000))
