"""The image-folder data module: discovery, decoding, labels, bad files, errors, the CLI."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_lab.data import ImageFolderDataModule
from gan_lab.data.samples.image_folder import ImageFolderDataset, UnreadableImageWarning
from tests.conftest import run_cli


def save(path: Path, size: tuple[int, int], color, mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)
    return path


@pytest.fixture
def tree(tmp_path) -> Path:
    """Two classes, nested folders, PNG and JPEG, RGB and grey-scale, several sizes."""
    root = tmp_path / "images"
    save(root / "cats" / "a.png", (20, 12), (255, 0, 0))
    save(root / "cats" / "b.JPG", (9, 30), (0, 255, 0))
    save(root / "cats" / "deep" / "deeper" / "c.png", (16, 16), 128, mode="L")
    save(root / "dogs" / "d.jpeg", (40, 40), (0, 0, 255))
    save(root / "dogs" / "e.png", (8, 8), 0, mode="L")
    save(root / "dogs" / "sub" / "f.bmp", (10, 14), (255, 255, 255))
    (root / "dogs" / "notes.txt").write_text("not an image")
    save(root / ".hidden" / "g.png", (8, 8), (1, 2, 3))
    save(root / "dogs" / "._h.png", (8, 8), (1, 2, 3))
    return root


def test_recursive_discovery_sorted_and_attributes(tree):
    dm = ImageFolderDataModule(str(tree), image_size=8, batch_size=2)
    rel = [f.relative_to(tree).as_posix() for f in dm.files]
    assert rel == ["cats/a.png", "cats/b.JPG", "cats/deep/deeper/c.png",
                   "dogs/d.jpeg", "dogs/e.png", "dogs/sub/f.bmp"]
    assert dm.sample_shape == (3, 8, 8) and dm.channels == 3 and dm.image_size == 8
    assert dm.num_classes == 0 and dm.classes == []
    assert len(dm.train_set) == 6


def test_items_shape_range_and_colours(tree):
    dm = ImageFolderDataModule(str(tree), image_size=8, batch_size=2)
    for i in range(len(dm.train_set)):
        item = dm.train_set[i]
        assert isinstance(item, tuple) and len(item) == 1
        image = item[0]
        assert image.shape == (3, 8, 8) and image.dtype == torch.float32
        assert image.min() >= -1.0 and image.max() <= 1.0
    red = dm.train_set[0][0]  # cats/a.png, pure red
    assert torch.allclose(red[0], torch.ones(8, 8)) and torch.allclose(red[1:], -torch.ones(2, 8, 8))
    grey = dm.train_set[2][0]  # an L image replicated to RGB
    assert torch.allclose(grey, torch.full((3, 8, 8), 128 / 127.5 - 1.0), atol=1e-6)


def test_grayscale_conversion(tree):
    dm = ImageFolderDataModule(str(tree), image_size=6, channels=1, batch_size=2)
    assert dm.sample_shape == (1, 6, 6)
    for i in range(len(dm.train_set)):
        assert dm.train_set[i][0].shape == (1, 6, 6)
    red = dm.train_set[0][0]  # luma of pure red: 0.299 * 255 -> 76
    assert torch.allclose(red, torch.full((1, 6, 6), 76 / 127.5 - 1.0), atol=1e-6)
    white = dm.train_set[5][0]
    assert torch.equal(white, torch.ones(1, 6, 6))


def test_sixteen_bit_grey_is_rescaled_not_clipped(tmp_path):
    pixels = np.array([[0, 128 * 257], [65535, 128 * 257]], dtype=np.uint16)
    Image.fromarray(pixels).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    dm = ImageFolderDataModule(str(tmp_path), image_size=2, channels=1, batch_size=1)
    expected = torch.tensor([[[-1.0, 128 / 127.5 - 1.0], [1.0, 128 / 127.5 - 1.0]]])
    assert torch.allclose(dm.train_set[0][0], expected, atol=1e-6)


def test_resize_shorter_side_then_centre_crop(tmp_path):
    image = Image.new("L", (30, 10), 0)
    image.paste(255, (10, 0, 20, 10))  # a white middle third
    image.save(tmp_path / "x.png")
    (item,) = ImageFolderDataModule(str(tmp_path), image_size=5, channels=1, batch_size=1).train_set[0]
    # 30x10 -> 15x5, crop the middle 5 columns: exactly the white third
    assert item.shape == (1, 5, 5)
    assert item[:, :, 1:4].min() > 0.9


def test_labels_from_first_level_folders(tree):
    dm = ImageFolderDataModule(str(tree), image_size=8, batch_size=2, labels=True)
    assert dm.classes == ["cats", "dogs"] and dm.num_classes == 2
    labels = [dm.train_set[i][1] for i in range(6)]
    assert labels == [0, 0, 0, 1, 1, 1]
    images, batch_labels = next(iter(dm.train_dataloader()))
    assert images.shape == (2, 3, 8, 8) and batch_labels.dtype == torch.int64


def test_labels_need_class_folders(tree):
    save(tree / "loose.png", (8, 8), (0, 0, 0))
    with pytest.raises(ValueError, match="data.labels=true: 1 image file"):
        ImageFolderDataModule(str(tree), labels=True, batch_size=2)
    assert len(ImageFolderDataModule(str(tree), batch_size=2).files) == 7


def test_loader_batches_are_tuples_and_seeded(tree):
    dm = ImageFolderDataModule(str(tree), image_size=8, batch_size=4, seed=3)
    batches = list(dm.train_dataloader())
    assert len(batches) == 1  # 6 images, incomplete batch dropped
    assert isinstance(batches[0], list | tuple) and len(batches[0]) == 1
    assert batches[0][0].shape == (4, 3, 8, 8)
    again = next(iter(ImageFolderDataModule(str(tree), image_size=8, batch_size=4, seed=3)
                      .train_dataloader()))
    assert torch.equal(batches[0][0], again[0])


def test_unreadable_files_are_skipped_with_a_warning(tmp_path):
    root = tmp_path / "imgs"
    for i in range(6):
        save(root / f"ok{i}.png", (8, 8), (40 * i, 0, 0))
    save(root / "photo.jpg", (64, 64), (10, 200, 30))
    data = (root / "photo.jpg").read_bytes()
    (root / "broken.jpg").write_bytes(data[: len(data) // 2])  # truncated JPEG
    (root / "fake.png").write_text("this is text, not a PNG\n")
    dm = ImageFolderDataModule(str(root), image_size=8, batch_size=3)
    assert len(dm.files) == 9
    with pytest.warns(UnreadableImageWarning) as record:
        batches = [batch[0] for _ in range(2) for batch in dm.train_dataloader()]
    messages = [str(w.message) for w in record if issubclass(w.category, UnreadableImageWarning)]
    assert sorted(m.split()[3] for m in messages) == [str(root / "broken.jpg"),
                                                        str(root / "fake.png")]  # once each
    assert len(batches) == 6
    for images in batches:
        assert images.shape == (3, 3, 8, 8) and torch.isfinite(images).all()
    # a bad file is replaced by the next good one in sorted order (broken.jpg -> fake.png -> ok0)
    dataset = dm.train_set
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # already reported: no second warning
        assert torch.equal(dataset[0][0], dataset[2][0])


def test_all_files_unreadable_is_a_clear_error(tmp_path):
    (tmp_path / "a.png").write_text("nope")
    (tmp_path / "b.png").write_bytes(b"")
    dataset = ImageFolderDataset(sorted(tmp_path.glob("*.png")), 8, 3, root=tmp_path)
    with pytest.warns(UnreadableImageWarning), pytest.raises(RuntimeError) as error:
        dataset[1]
    assert str(error.value) == f"none of the 2 image files under {tmp_path} could be decoded"


def test_missing_path_file_path_and_empty_folder(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ValueError) as error:
        ImageFolderDataModule(str(missing))
    assert str(error.value) == (f"data.path='{missing}' does not exist: point data.path at a "
                                "folder of images (searched recursively)")
    a_file = save(tmp_path / "one.png", (4, 4), (0, 0, 0))
    with pytest.raises(ValueError, match=r"is a file, not a folder"):
        ImageFolderDataModule(str(a_file))
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError) as error:
        ImageFolderDataModule(str(empty))
    assert str(error.value) == (f"data.path='{empty}': no image files in {empty} (searched "
                                "recursively for .png, .jpg, .jpeg, .bmp, .webp, .tif, .tiff; found only .txt)")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": 2}, "data.channels=2: must be 1 (grayscale) or 3 (RGB)"),
        ({"image_size": 0}, "data.image_size=0: must be an integer >= 1"),
        ({"batch_size": 5}, "data.batch_size=5 is more than the 4 images in"),
        ({"extensions": (".gif",)}, "(searched recursively for .gif; found only .png)"),
    ],
)
def test_bad_arguments_name_the_key(tmp_path, kwargs, message):
    for i in range(4):
        save(tmp_path / f"{i}.png", (4, 4), (0, 0, 0))
    with pytest.raises(ValueError) as error:
        ImageFolderDataModule(str(tmp_path), **kwargs)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_batch_size_checked_again_by_the_loader(tmp_path):
    for i in range(4):
        save(tmp_path / f"{i}.png", (4, 4), (0, 0, 0))
    dm = ImageFolderDataModule(str(tmp_path), image_size=4, batch_size=4)
    dm.batch_size = 8
    with pytest.raises(ValueError, match=r"data.batch_size=8 is more than the 4 images"):
        dm.train_dataloader()


@pytest.mark.slow
def test_cli_trains_dcgan_on_a_folder(tmp_path):
    folder = tmp_path / "faces"
    for i in range(8):
        save(folder / f"{i % 2}" / f"{i}.png", (12 + i, 10), (30 * i, 255 - 30 * i, 90))
    result = run_cli("data=image_folder", f"data.path={folder}", "data.image_size=8",
                     "data.channels=3", "data.batch_size=4", "model.generator.width=8",
                     "model.discriminator.width=8", "iterations=2", "callbacks.progress=null",
                     "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
def test_cli_missing_path_is_one_line(tmp_path):
    result = run_cli("data=image_folder", "data.path=/no/such/dir", "hydra.run.dir=run",
                     cwd=tmp_path)
    assert result.returncode == 2
    assert ("gan_lab: config error: data: data.path='/no/such/dir' does not exist: point "
            "data.path at a folder of images (searched recursively)") in result.stderr
    assert "Traceback" not in result.stderr
