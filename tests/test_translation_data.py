"""Image-to-image translation data: the three folder layouts, published sets, embedded sets."""

from __future__ import annotations

import os
import shutil
import urllib.error
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_lab.data import (
    Chalk2InkDataModule,
    Edges2DigitsDataModule,
    FolderTranslationDataModule,
    PublishedTranslationDataModule,
)
from gan_lab.data.common.fingerprint import data_fingerprint
from gan_lab.data.samples.digits import load_digit_tensors
from gan_lab.data.samples.image_folder import UnreadableImageWarning
from gan_lab.data.translation import published
from gan_lab.data.translation.embedded import (
    Jitter,
    digit_intensity,
    render_chalk,
    render_ink,
)
from gan_lab.data.translation.sampling import item_generator


def save(path: Path, image: Image.Image) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def noise(size: tuple[int, int], seed: int, mode: str = "RGB") -> Image.Image:
    """A random image (width, height): crops and flips of it are all different."""
    channels = 3 if mode == "RGB" else 1
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), np.uint8)
    return Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels)


def plain(size: tuple[int, int], colour) -> Image.Image:
    return Image.new("RGB", size, colour)


def side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    ab = Image.new("RGB", (left.width + right.width, left.height))
    ab.paste(left, (0, 0))
    ab.paste(right, (left.width, 0))
    return ab


@pytest.fixture
def unpaired(tmp_path) -> Path:
    """3 A images and 5 B images (20x30 and 30x20), 2 test images each."""
    root = tmp_path / "unpaired"
    for i in range(3):
        save(root / "trainA" / f"a{i}.png", noise((20, 30), i))
    for i in range(5):
        save(root / "trainB" / f"b{i}.png", noise((30, 20), 10 + i))
    for i in range(2):
        save(root / "testA" / f"ta{i}.png", plain((20, 30), (200, 20 * i, 0)))
        save(root / "testB" / f"tb{i}.png", plain((30, 20), (0, 20 * i, 200)))
    return root


@pytest.fixture
def aligned(tmp_path) -> Path:
    """4 AB training images whose halves are identical noise; 2 test images red | blue."""
    root = tmp_path / "aligned"
    for i in range(4):
        half = noise((20, 30), i)
        save(root / "train" / f"{i}.png", side_by_side(half, half))
    for i in range(2):
        save(root / "test" / f"{i}.png",
             side_by_side(plain((20, 30), (255, 0, 0)), plain((20, 30), (0, 0, 255))))
    return root


@pytest.fixture
def paired(tmp_path) -> Path:
    """4 training pairs of identical noise images, 2 test pairs, same names in A/ and B/."""
    root = tmp_path / "paired"
    for i in range(4):
        for domain in ("A", "B"):
            save(root / domain / "train" / f"p{i}.png", noise((20, 30), i))
    for i in range(2):
        save(root / "A" / "test" / f"t{i}.png", plain((20, 30), (255, 0, 0)))
        save(root / "B" / "test" / f"t{i}.png", plain((20, 30), (0, 0, 255)))
    return root


def build(root: Path, layout: str, **kwargs) -> FolderTranslationDataModule:
    options = {"image_size": 16, "load_size": 20, "batch_size": 2, **kwargs}
    return FolderTranslationDataModule(str(root), layout, **options)


def take(loader, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The next ``n`` batches, starting new epochs as needed."""
    out = []
    while len(out) < n:
        for a, b in loader:
            out.append((a.clone(), b.clone()))
            if len(out) == n:
                break
    return out


# -- the folder layouts ----------------------------------------------------------------------


def test_unpaired_items_shapes_ranges_and_contract(unpaired):
    dm = build(unpaired, "unpaired")
    assert not dm.paired and not dm.eval_paired and dm.domains == ("A", "B")
    assert dm.sample_shape == (3, 16, 16) and dm.num_classes == 0 and dm.class_view() is None
    assert len(dm.train_set) == 5  # max(3, 5)
    assert len(dm.train_set.files) == 8
    a, b = dm.train_set[(2, 4)]
    for image in (a, b):
        assert image.shape == (3, 16, 16) and image.dtype == torch.float32
        assert -1.0 <= image.min() and image.max() <= 1.0
    assert torch.equal(dm.train_set[7][0], dm.train_set[(1, 2)][0])  # int k: (k % 3, k % 5)
    batches = take(dm.train_dataloader(), 2)
    assert [tuple(x.shape) for x in batches[0]] == [(2, 3, 16, 16)] * 2


@pytest.mark.parametrize("layout", ["aligned", "paired"])
@pytest.mark.parametrize("preprocess", ["resize_and_crop", "crop"])
def test_pairs_share_crop_and_flip(request, layout, preprocess):
    dm = build(request.getfixturevalue(layout), layout, preprocess=preprocess, flip=True)
    assert dm.paired and dm.eval_paired and len(dm.train_set) == 4
    outputs = set()
    for epoch in range(6):
        indices = dm.train_set.epoch_indices(torch.Generator().manual_seed(epoch))
        assert sorted(k for k, _ in indices) == [0, 1, 2, 3]
        for index in indices:
            a, b = dm.train_set[index]
            assert a.shape == (3, 16, 16) and torch.equal(a, b)  # identical images stay so
            if index[0] == 0:
                outputs.add(a.numpy().tobytes())
    assert len(outputs) > 3  # the crop and flip of one image change between epochs


def test_aligned_halves_and_direction(aligned):
    dm = build(aligned, "aligned", preprocess="resize", flip=False)
    (a,), (b,) = dm.eval_set("A")[0], dm.eval_set("B")[0]
    red, blue = torch.tensor([1.0, -1.0, -1.0]), torch.tensor([-1.0, -1.0, 1.0])
    assert torch.allclose(a.mean((1, 2)), red, atol=0.02)
    assert torch.allclose(b.mean((1, 2)), blue, atol=0.02)
    assert dm.eval_set("A").files == dm.eval_set("B").files
    assert (dm.eval_set("A").half, dm.eval_set("B").half) == ("left", "right")
    # the same files: what tells the two sets apart for caches
    assert dm.eval_set("A").fingerprint_extra != dm.eval_set("B").fingerprint_extra
    swapped = build(aligned, "aligned", preprocess="resize", flip=False, direction="BtoA")
    assert torch.allclose(swapped.eval_set("A")[0][0].mean((1, 2)), blue, atol=0.02)
    assert swapped.eval_set("A").half == "right"


def test_large_jpeg_ab_images_are_decoded_at_a_reduced_scale(tmp_path):
    ab = side_by_side(plain((400, 300), (255, 0, 0)), plain((400, 300), (0, 0, 255)))
    save(tmp_path / "train" / "big.jpg", ab)
    with pytest.warns(UserWarning, match="no test/ or val/"):
        dm = build(tmp_path, "aligned", batch_size=1)
    assert dm.train_set.decoder.draft == (40, 20)  # both halves >= load_size 20
    a, b = dm.train_set[0]
    assert a.shape == b.shape == (3, 16, 16)
    assert a[0].mean() > 0.9 and b[2].mean() > 0.9 and a[2].mean() < -0.9


def test_btoa_swaps_folders_and_channels(unpaired):
    dm = build(unpaired, "unpaired", direction="BtoA", channels_a=1, channels_b=3)
    assert [f.parent.name for f in dm.eval_set("A").files] == ["testB", "testB"]
    assert dm.sample_shape == (3, 16, 16)
    a, b = dm.train_set[(4, 2)]  # the served A has the 5 images of trainB
    assert a.shape == (1, 16, 16) and b.shape == (3, 16, 16)
    normal = build(unpaired, "unpaired", flip=False, preprocess="resize")
    flipped = build(unpaired, "unpaired", flip=False, preprocess="resize", direction="BtoA")
    assert torch.equal(normal.train_set[(0, 3)][1], flipped.train_set[(3, 0)][0])


def test_unpaired_epoch_pairing_changes_and_is_seeded(unpaired):
    dm = build(unpaired, "unpaired")
    sampler = dm.train_dataloader().sampler
    epochs = [sampler.permutation(e) for e in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    for epoch in epochs:
        assert len(epoch) == 4  # 5 items, batches of 2, the last dropped
    full = dm.train_set.epoch_indices(torch.Generator().manual_seed(3))
    assert sorted(j for _, j in full) == [0, 1, 2, 3, 4]  # B: one permutation
    assert sorted(Counter(i for i, _ in full).values()) == [1, 2, 2]  # A: cycled evenly
    again = build(unpaired, "unpaired").train_dataloader().sampler
    assert [again.permutation(e) for e in range(3)] == epochs
    other = build(unpaired, "unpaired", seed=1).train_dataloader().sampler
    assert [other.permutation(e) for e in range(3)] != epochs


@pytest.mark.parametrize("stop", [1, 3])
def test_loader_resumes_on_the_same_augmented_batches(unpaired, stop):
    reference = take(build(unpaired, "unpaired", seed=5).train_dataloader(), 6)
    loader = build(unpaired, "unpaired", seed=5).train_dataloader()
    head = take(loader, stop)
    resumed = build(unpaired, "unpaired", seed=5).train_dataloader()
    resumed.load_state_dict(loader.state_dict())
    tail = take(resumed, 6 - stop)
    for (a, b), (ra, rb) in zip(head + tail, reference, strict=True):
        assert torch.equal(a, ra) and torch.equal(b, rb)
    # augmentation differs between epochs and never touches the global RNG
    assert not torch.equal(reference[0][0], reference[2][0])
    state = torch.get_rng_state()
    take(build(unpaired, "unpaired", seed=5).train_dataloader(), 3)
    assert torch.equal(torch.get_rng_state(), state)


def test_workers_give_the_same_batches(paired):
    reference = take(build(paired, "paired").train_dataloader(), 4)
    with_workers = take(build(paired, "paired", num_workers=2).train_dataloader(), 4)
    for (a, b), (ra, rb) in zip(with_workers, reference, strict=True):
        assert torch.equal(a, ra) and torch.equal(b, rb)


def test_eval_sets_are_deterministic_and_paired(paired):
    dm = build(paired, "paired", preprocess="resize_and_crop")
    ea, eb = dm.eval_set("A"), dm.eval_set("B")
    assert len(ea) == len(eb) == 2
    assert [f.name for f in ea.files] == [f.name for f in eb.files] == ["t0.png", "t1.png"]
    assert [f.parent.parent.name for f in ea.files] == ["A", "A"]
    assert torch.equal(ea[1][0], ea[1][0]) and ea[1][0].shape == (3, 16, 16)
    with pytest.raises(ValueError, match="domain 'C'"):
        dm.eval_set("C")


def test_eval_preprocessing_is_resize_then_centre_crop(tmp_path):
    # a horizontal ramp: a centre crop keeps the middle, a flip would reverse it
    ramp = np.tile(np.arange(40, dtype=np.uint8)[None, :, None] * 6, (40, 1, 3))
    for split in ("trainA", "trainB", "testA", "testB"):
        save(tmp_path / split / "x.png", Image.fromarray(ramp))
    dm = FolderTranslationDataModule(str(tmp_path), "unpaired", image_size=10, load_size=20,
                                     batch_size=1)
    (image,) = dm.eval_set("A")[0]
    row = image[0, 5]
    assert row.shape == (10,) and bool((row[1:] > row[:-1]).all())  # increasing: not flipped
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(ramp).permute(2, 0, 1)[None].float() / 127.5 - 1, size=(20, 20),
        mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)[0, 0, 10, 5:15]
    assert torch.allclose(row, expected, atol=1e-4)


def test_missing_test_folders_fall_back_with_a_warning(unpaired, aligned, paired):
    shutil.rmtree(unpaired / "testB")
    with pytest.warns(UserWarning, match=r"no testB/ folder with images.*trainB/"):
        dm = build(unpaired, "unpaired")
    assert dm.eval_set("B").files == dm.train_set.files[3:]
    shutil.rmtree(aligned / "test")
    with pytest.warns(UserWarning, match=r"no test/ or val/ folder"):
        build(aligned, "aligned")
    shutil.rmtree(paired / "B" / "test")
    with pytest.warns(UserWarning, match=r"no A/test/ and B/test/"):
        dm = build(paired, "paired")
    assert len(dm.eval_set("A")) == 4
    (aligned / "val").mkdir()
    shutil.copy(aligned / "train" / "0.png", aligned / "val" / "v.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [f.name for f in build(aligned, "aligned").eval_set("B").files] == ["v.png"]


def test_unreadable_files_skip_the_whole_pair(paired):
    (paired / "B" / "train" / "p1.png").write_text("not an image")
    dm = build(paired, "paired", preprocess="resize", flip=False)
    with pytest.warns(UnreadableImageWarning, match=r"p1\.png") as record:
        a, b = dm.train_set[1]
    assert len(record) == 1 and str(paired / "B" / "train" / "p1.png") in str(record[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reported once only
        a2, b2 = dm.train_set[2]
        assert torch.equal(a, a2) and torch.equal(b, b2)  # p1 replaced by the next pair, p2


def test_domain_view_labels_shape_and_fingerprint(unpaired):
    dm = build(unpaired, "unpaired", channels_a=1, channels_b=3)
    view = dm.domain_view()
    view.setup()
    assert view.num_classes == 2 and view.classes == ["A", "B"]
    assert view.sample_shape == (3, 16, 16)  # grey A repeated to RGB
    assert view.train_set.labels == [0, 0, 0, 1, 1, 1, 1, 1]
    image, label = view.train_set[1]
    assert image.shape == (3, 16, 16) and label == 0 and torch.equal(image[0], image[2])
    assert view.train_set[5][1] == 1
    assert torch.equal(view.train_set[6][0], view.train_set[6][0])  # deterministic
    first = data_fingerprint(view)
    assert data_fingerprint(build(unpaired, "unpaired", channels_a=1).domain_view()) == first
    assert data_fingerprint(dm) == data_fingerprint(build(unpaired, "unpaired", channels_a=1))
    save(unpaired / "trainB" / "b9.png", noise((30, 20), 99))
    assert data_fingerprint(build(unpaired, "unpaired", channels_a=1).domain_view()) != first


# -- one-line errors -------------------------------------------------------------------------


def one_line_error(call) -> str:
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert "\n" not in message
    return message


def test_missing_layout_folders_name_the_layout(tmp_path, unpaired, paired):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert one_line_error(lambda: build(empty, "unpaired")) == (
        f"data.path='{empty}' has no trainA/ and trainB/ folders: the unpaired layout is "
        "trainA/ trainB/ [testA/ testB/] of images")
    message = one_line_error(lambda: build(empty, "aligned"))
    assert message.startswith(f"data.path='{empty}' has no train/ folder: the aligned layout is")
    message = one_line_error(lambda: build(empty, "paired"))
    assert "has no A/train/ and B/train/ folders: the paired layout is A/train/ B/train/" in message
    assert "does not exist" in one_line_error(lambda: build(tmp_path / "nope", "unpaired"))
    for f in (unpaired / "trainA").iterdir():
        f.unlink()
    message = one_line_error(lambda: build(unpaired, "unpaired"))
    assert f"no image files in {unpaired / 'trainA'}" in message and "unpaired layout" in message
    (paired / "B" / "train" / "p3.png").rename(paired / "B" / "train" / "other.png")
    message = one_line_error(lambda: build(paired, "paired"))
    assert "A/train/p3.png has no counterpart B/train/p3.png" in message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 6}, "data.batch_size=6 is more than the 5 training items"),
        ({"preprocess": "scale_width"}, "data.preprocess='scale_width': must be one of"),
        ({"direction": "AB"}, "data.direction='AB': must be one of AtoB, BtoA"),
        ({"channels_a": 2}, "data.channels_a=2: must be 1 (grayscale) or 3 (RGB)"),
        ({"channels_b": 4}, "data.channels_b=4: must be 1 (grayscale) or 3 (RGB)"),
        ({"image_size": 0}, "data.image_size=0: must be an integer >= 1"),
        ({"load_size": 10}, "data.load_size=10 is smaller than data.image_size=16"),
        ({"flip": "yes"}, "data.flip='yes': must be true or false"),
        ({"layout": "side_by_side"}, "data.layout='side_by_side': must be one of unpaired,"),
    ],
)
def test_bad_arguments_name_the_key(unpaired, kwargs, message):
    options = {"layout": "unpaired", **kwargs}
    layout = options.pop("layout")
    assert message in one_line_error(lambda: build(unpaired, layout, **options))


def test_batch_size_is_checked_again_by_the_loader(paired):
    dm = build(paired, "paired")
    dm.batch_size = 5
    assert "data.batch_size=5 is more than the 4 training pairs" in one_line_error(
        dm.train_dataloader)


# -- published sets --------------------------------------------------------------------------


def test_published_set_offline_is_one_clear_line(tmp_path, monkeypatch):
    def offline(url, root):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(published, "download_archive", offline)
    message = one_line_error(
        lambda: PublishedTranslationDataModule("horse2zebra", root=str(tmp_path)))
    url = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip"
    assert message.startswith(f"data.name='horse2zebra': no unpaired data set in "
                              f"{tmp_path / 'horse2zebra'} (the unpaired layout is trainA/")
    assert f"downloading {url} failed (URLError: " in message
    assert message.endswith(f"download {url} and extract it into {tmp_path}, or set "
                            "data.path=... to a folder in that layout")
    message = one_line_error(lambda: PublishedTranslationDataModule(
        "facades", root=str(tmp_path), download=False))
    assert "no aligned data set in" in message and "data.download=false" in message
    assert "pix2pix/datasets/facades.tar.gz" in message
    message = one_line_error(lambda: PublishedTranslationDataModule("cats2dogs"))
    assert message.startswith("data.name='cats2dogs': not a published translation set; known: ")
    assert "horse2zebra" in message and "edges2shoes" in message
    message = one_line_error(lambda: PublishedTranslationDataModule(
        "edges2shoes", layout="unpaired"))
    assert "published in the aligned layout only" in message


def test_published_set_download_extracts_and_is_read(tmp_path, monkeypatch, unpaired):
    # a real archive through torchvision's extraction; only the network is faked
    archive = tmp_path / "horse2zebra.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(unpaired.rglob("*.png")):
            zf.write(path, Path("horse2zebra") / path.relative_to(unpaired))
    fetched = []

    def fake_download_url(url, root, filename=None, md5=None, **kwargs):
        fetched.append(url)
        shutil.copy(archive, os.path.join(root, filename or os.path.basename(url)))

    import torchvision.datasets.utils as tv_utils

    monkeypatch.setattr(tv_utils, "download_url", fake_download_url)
    root = tmp_path / "cache"
    dm = PublishedTranslationDataModule("horse2zebra", root=str(root), image_size=16,
                                        load_size=20, batch_size=2)
    assert fetched == [published.CYCLEGAN_URL.format(name="horse2zebra")]
    assert dm.path == root / "horse2zebra" and len(dm.train_set) == 5
    assert not (root / "horse2zebra.zip").exists()  # removed after extraction
    assert next(iter(dm.train_dataloader()))[0].shape == (2, 3, 16, 16)
    # found the second time, no download; data.path wins over data.root
    monkeypatch.setattr(published, "download_archive", lambda url, root: pytest.fail("fetched"))
    assert len(PublishedTranslationDataModule("horse2zebra", root=str(root), image_size=16,
                                              load_size=20, batch_size=2).train_set) == 5
    dm = PublishedTranslationDataModule("horse2zebra", root=str(tmp_path / "none"),
                                        path=str(unpaired), image_size=16, load_size=20)
    assert dm.path == unpaired


# -- embedded digit sets ---------------------------------------------------------------------


def test_embedded_sets_are_deterministic_and_well_formed():
    for make in (Edges2DigitsDataModule, Chalk2InkDataModule):
        one, two = make(), make(seed=3)
        assert one.sample_shape == (3, 32, 32) and one.eval_paired
        for x, y in zip(one.train_set.tensors, two.train_set.tensors, strict=True):
            assert torch.equal(x, y) and x.dtype == torch.float32
            assert x.min() >= -1.0 and x.max() <= 1.0 and x.shape[1:] == (3, 32, 32)
        assert torch.equal(one.eval_set("B").tensors[0], two.eval_set("B").tensors[0])
        assert len(one.eval_set("A")) == len(one.eval_set("B")) == 180
        assert data_fingerprint(one) == data_fingerprint(make())
        batch = next(iter(one.train_dataloader()))
        assert [tuple(t.shape) for t in batch] == [(16, 3, 32, 32)] * 2


def test_edges2digits_outlines_colours_and_labels():
    dm = Edges2DigitsDataModule()
    assert dm.paired and len(dm.train_set) == 1617
    a, b = dm.train_set.tensors
    assert torch.equal(a[:, 0], a[:, 1]) and torch.equal(a[:, 1], a[:, 2])  # grey outlines
    assert (a > 0.9).float().mean() > 0.7  # mostly white paper
    # the ink colour: the pixel furthest from white in each image, matched to the palette
    darkest = (b.sum(1)).flatten(1).argmin(1)
    colours = b.flatten(2)[torch.arange(len(b)), :, darkest]
    found = Counter(tuple(np.round(c.numpy(), 1)) for c in colours[:300])
    assert len(found) >= 5
    labels = dm.class_view().train_set.tensors[1]
    per_label = {tuple(np.round(c.numpy(), 1)) for c, y in zip(colours, labels) if y == 3}
    assert len(per_label) >= 4  # the colour does not follow from the digit
    view = dm.class_view()
    assert view.num_classes == 10 and view.classes[3] == "3" and view.sample_shape == (3, 32, 32)
    assert torch.equal(view.train_set.tensors[0], b)
    all_labels = load_digit_tensors(8)[1]
    assert torch.equal(dm.eval_labels(), all_labels[dm.test_indices])
    assert torch.equal(labels, all_labels[dm.train_indices_b])


def test_chalk2ink_domains_are_disjoint_and_test_pairs_are_ground_truth():
    dm = Chalk2InkDataModule()
    assert not dm.paired and dm.eval_paired
    a_idx, b_idx = set(dm.train_indices_a.tolist()), set(dm.train_indices_b.tolist())
    assert not a_idx & b_idx and len(a_idx) + len(b_idx) == 1617
    assert not (a_idx | b_idx) & set(dm.test_indices.tolist())
    assert len(dm.train_set) == max(len(a_idx), len(b_idx))
    indices = dm.train_set.epoch_indices(torch.Generator().manual_seed(0))
    assert len(indices) == len(dm.train_set) and isinstance(indices[0], tuple)
    intensity = digit_intensity(32)[0][dm.test_indices]
    assert torch.equal(dm.eval_set("B").tensors[0], render_ink(intensity))
    assert torch.equal(dm.eval_set("A").tensors[0], render_chalk(intensity))
    assert Chalk2InkDataModule.render_b is render_ink
    labels = dm.class_view().train_set.tensors[1]
    assert torch.equal(labels, load_digit_tensors(8)[1][dm.train_indices_b])
    view = dm.domain_view()
    assert view.train_set.tensors[1].tolist() == [0] * len(a_idx) + [1] * len(b_idx)
    assert data_fingerprint(view) == data_fingerprint(Chalk2InkDataModule().domain_view())


def test_embedded_direction_channels_and_jitter():
    normal, swapped = Chalk2InkDataModule(), Chalk2InkDataModule(direction="BtoA", channels_a=1)
    assert torch.allclose(swapped.eval_set("B").tensors[0], normal.eval_set("A").tensors[0])
    assert swapped.eval_set("A").tensors[0].shape[1] == 1
    assert swapped.domain_view().sample_shape == (3, 32, 32)
    dm = Edges2DigitsDataModule(jitter=3, flip=True)
    indices = dm.train_set.epoch_indices(torch.Generator().manual_seed(1))
    moved = 0
    for index in indices[:20]:
        a, b = dm.train_set[index]
        plain_a, plain_b = (t[index[0]] for t in dm.train_set.tensors)
        move = dm.train_set.jitter.draw(item_generator(dm.seed, *index))
        jitter = dm.train_set.jitter
        assert torch.equal(a, jitter(plain_a, move)) and torch.equal(b, jitter(plain_b, move))
        moved += not torch.equal(a, plain_a)
    assert moved >= 15
    assert torch.equal(Jitter(1, False)(plain_a, (1, -1, False))[:, 1:, :-1], plain_a[:, :-1, 1:])
    bad = one_line_error(lambda: Edges2DigitsDataModule(image_size=8))
    assert bad == "data.image_size=8: must be an integer >= 16"
    assert "data.jitter=9" in one_line_error(lambda: Edges2DigitsDataModule(jitter=9))
