"""``data=textures``: procedurally drawn label maps filled with bundled textures (no download).

The embedded set of semantic image synthesis: each label map is a warped Voronoi partition of the
image into 2 to ``max_regions`` cells (random sites, a smooth random displacement of the pixel
grid so that borders curve), each cell given a class at random. The photo fills every class's
region with that class's material (:data:`MATERIALS`): the scikit-image textures (grass, gravel,
brick, and the moon's surface as rock) tinted to a colour, flat colours (sky, sand, water), or a
crop of a colour photo (the Hubble deep field as stars). Each material is resized once to
``4 * image_size`` and every image shows a random ``image_size`` crop of it per class (one crop
per class and image), so the same class looks alike but never identical.

Ground truth is exact: the label map made the photo, so a segmenter trained on the real photos
scores generated ones (the SPADE paper's Table 1 protocol). The sets are fixed (their own seeds,
not ``data.seed``, which only shuffles): ``num_train`` training and ``num_test`` test scenes
drawn from different streams, checked to share no label map. Items are ``(labels, image)``
(:mod:`gan_lab.data.label_maps.base`); ``flip`` adds random horizontal flips of both.

``pairs=true`` serves the same scenes as a paired translation set for pix2pix
(:class:`~gan_lab.data.label_maps.base.LabelMapPairs`: colour-coded label map -> photo).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import TensorDataset

from gan_lab.data.common.labelled_view import LabelledView
from gan_lab.data.common.option_checks import check_bool, check_int
from gan_lab.data.common.photos import photo_tensor
from gan_lab.data.label_maps.base import LabelMapDataModule, LabelMapPairs, dominant_classes
from gan_lab.data.translation.embedded import Jitter, PairedTensorSet

__all__ = ["MATERIALS", "Material", "TextureScenesDataModule", "draw_layouts",
           "material_textures", "render_scenes", "texture_scenes"]

TEXTURE_SCALE = 4  # a material is resized to this many image sides before cropping
CONTRAST = 0.15  # std of a tinted texture's intensity around its tint
WARP = 0.12  # std of the grid displacement, in image sides
TRAIN_SEED, TEST_SEED = 2019, 2020  # fixed: the scenes never depend on data.seed


@dataclass(frozen=True)
class Material:
    """A class of the embedded set: ``source`` a bundled image (gan_lab.data.common.photos) or None for
    a flat colour; ``colour`` the tint of a grey texture, the flat colour, or None to keep a
    colour photo as it is."""

    name: str
    source: str | None
    colour: tuple[float, float, float] | None


MATERIALS = (
    Material("grass", "grass", (0.33, 0.58, 0.20)),
    Material("gravel", "gravel", (0.60, 0.54, 0.45)),
    Material("brick", "brick", (0.70, 0.30, 0.20)),
    Material("sky", None, (0.55, 0.73, 0.93)),
    Material("rock", "moon", (0.50, 0.50, 0.52)),
    Material("sand", None, (0.87, 0.78, 0.52)),
    Material("water", None, (0.12, 0.30, 0.60)),
    Material("stars", "hubble_deep_field", None),
)


@lru_cache(maxsize=8)
def material_textures(side: int, count: int) -> Tensor:
    """The first ``count`` materials as ``(count, 3, side, side)`` images in ``[-1, 1]``."""
    textures = []
    for material in MATERIALS[:count]:
        if material.source is None:
            texture = torch.tensor(material.colour).view(3, 1, 1).expand(3, side, side)
        else:
            photo = photo_tensor(material.source)  # (3, H, W) in [-1, 1]
            crop = min(photo.shape[-2:])
            photo = photo[:, :crop, :crop]
            photo = F.interpolate(photo[None], size=(side, side), mode="bicubic",
                                  antialias=True, align_corners=False)[0]
            if material.colour is None:
                texture = (photo + 1) / 2
            else:  # a grey texture: its normalised intensity around the tint
                grey = photo.mean(0, keepdim=True)
                z = (grey - grey.mean()) / grey.std().clamp_min(1e-6)
                texture = torch.tensor(material.colour).view(3, 1, 1) + CONTRAST * z
        textures.append(texture.clamp(0, 1) * 2 - 1)
    return torch.stack(textures).contiguous()


def draw_layouts(count: int, size: int, num_classes: int, max_regions: int,
                 generator: torch.Generator) -> Tensor:
    """``count`` label maps ``(count, size, size)`` int64: warped Voronoi cells, 2 to
    ``max_regions`` per map, each of a random class; every map has at least two classes (maps
    where they collapse into one are drawn again from the same stream: single-class maps would
    repeat exactly between the splits)."""
    labels = _voronoi(count, size, num_classes, max_regions, generator)
    while True:
        flat = labels.flatten(1)
        single = (flat == flat[:, :1]).all(1).nonzero().flatten()
        if not len(single):
            return labels
        labels[single] = _voronoi(len(single), size, num_classes, max_regions, generator)


def _voronoi(count: int, size: int, num_classes: int, max_regions: int,
             generator: torch.Generator) -> Tensor:
    sites = torch.rand(count, max_regions, 2, generator=generator)
    regions = torch.randint(2, max_regions + 1, (count,), generator=generator)
    classes = torch.randint(0, num_classes, (count, max_regions), generator=generator)
    # The first two cells differ, so a scene has two classes unless a cell vanishes.
    shift = torch.randint(1, num_classes, (count,), generator=generator)
    classes[:, 1] = (classes[:, 0] + shift) % num_classes
    field = torch.randn(count, 2, 4, 4, generator=generator) * WARP
    warp = F.interpolate(field, size=(size, size), mode="bicubic", align_corners=True)
    axis = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"))[None] + warp  # (N, 2, S, S)
    distance = (grid[:, None] - sites[..., None, None]).square().sum(2)  # (N, K, S, S)
    inactive = torch.arange(max_regions)[None] >= regions[:, None]
    distance = distance.masked_fill(inactive[..., None, None], float("inf"))
    cell = distance.argmin(1)  # (N, S, S)
    return classes.gather(1, cell.flatten(1)).view(count, size, size)


def render_scenes(labels: Tensor, textures: Tensor, generator: torch.Generator) -> Tensor:
    """Photos ``(N, 3, S, S)`` in ``[-1, 1]``: each class's region of each label map filled with
    a random ``S x S`` crop of its texture ``(C, 3, T, T)`` (one crop per class and image)."""
    count, size = labels.shape[0], labels.shape[-1]
    classes, side = textures.shape[0], textures.shape[-1]
    offsets = torch.randint(0, side - size + 1, (count, classes, 2), generator=generator)
    images = torch.empty(count, 3, size, size)
    for i in range(count):
        image = torch.zeros(3, size, size)
        for c in labels[i].unique().tolist():
            top, left = offsets[i, c].tolist()
            crop = textures[c, :, top:top + size, left:left + size]
            image = torch.where(labels[i] == c, crop, image)
        images[i] = image
    return images


def _fingerprints(labels: Tensor) -> set[bytes]:
    return {hashlib.blake2b(m.numpy().tobytes(), digest_size=16).digest() for m in labels}


class TextureScenesDataModule(LabelMapDataModule):
    """``data=textures``: the embedded label-map set (see the module docstring).

    Args:
        image_size: side of the square scenes, at least 16.
        num_classes: how many of :data:`MATERIALS` (in order) are used, 2 to 8.
        num_train, num_test: scenes in each split.
        max_regions: most Voronoi cells per scene (at least 2).
        flip: random horizontal flips of training items (label map and photo together).
        batch_size, seed, num_workers: the loader's (``seed`` only shuffles).
        aspect_ratio, instance_edges, ignore_index: the label-map contract's options, fixed here
            (1, false, null: square scenes, no instances, every class scored).
    """

    def __init__(self, image_size: int = 32, num_classes: int = 6, num_train: int = 2000,
                 num_test: int = 200, max_regions: int = 5, flip: bool = False,
                 batch_size: int = 8, seed: int = 0, num_workers: int = 0,
                 aspect_ratio: float = 1.0, instance_edges: bool = False,
                 ignore_index: int | None = None) -> None:
        if not 2 <= check_int("num_classes", num_classes, 2) <= len(MATERIALS):
            raise ValueError(f"data.num_classes={num_classes}: the embedded set has "
                             f"{len(MATERIALS)} materials ({', '.join(m.name for m in MATERIALS)})")
        if float(aspect_ratio) != 1.0 or instance_edges:
            raise ValueError("data=textures: the scenes are square and have no instances; keep "
                             "data.aspect_ratio=1 and data.instance_edges=false")
        super().__init__(num_classes=num_classes,
                         class_names=[m.name for m in MATERIALS[:num_classes]],
                         image_size=check_int("image_size", image_size, 16), aspect_ratio=1.0,
                         instance_edges=False, ignore_index=ignore_index,
                         batch_size=batch_size, seed=seed, num_workers=num_workers)
        self.num_train = check_int("num_train", num_train, 1)
        self.num_test = check_int("num_test", num_test, 1)
        self.max_regions = check_int("max_regions", max_regions, 2)
        self.flip = check_bool("flip", flip)
        textures = material_textures(TEXTURE_SCALE * self.image_size, self.num_classes)
        self._train = self._draw(self.num_train, TRAIN_SEED, textures)
        self._test = self._draw(self.num_test, TEST_SEED, textures)
        if _fingerprints(self._train[0]) & _fingerprints(self._test[0]):
            raise RuntimeError("texture scenes: a test label map equals a training one")
        self.train_set = PairedTensorSet(*self._train, Jitter(0, self.flip), self.seed)

    def _draw(self, count: int, seed: int, textures: Tensor) -> tuple[Tensor, Tensor]:
        generator = torch.Generator().manual_seed(seed)
        labels = draw_layouts(count, self.image_size, self.num_classes, self.max_regions,
                              generator)
        return labels, render_scenes(labels, textures, generator)

    def describe(self) -> str:
        return f"data=textures ({self.num_train} scenes)"

    def train_tensors(self) -> tuple[Tensor, Tensor]:
        """The training label maps and photos, in item order."""
        return self._train

    def eval_tensors(self) -> tuple[Tensor, Tensor]:
        """The test label maps and photos, in item order."""
        return self._test

    def _build_eval_set(self) -> TensorDataset:
        return TensorDataset(*self._test)

    def _build_eval_images(self) -> TensorDataset:
        return TensorDataset(self._test[1])

    def _build_fid_view(self) -> LabelledView:
        labels, images = self._train
        dataset = TensorDataset(images, dominant_classes(labels, self.num_classes))
        return LabelledView(dataset, self.sample_shape, self.class_names)


def texture_scenes(pairs: bool = False, channels_a: int = 3, channels_b: int = 3,
                   **options) -> TextureScenesDataModule | LabelMapPairs:
    """``data=textures``: the label-map set, or with ``pairs`` the same scenes as colour-coded
    label map (A) -> photo (B) pairs for pix2pix. ``channels_a`` / ``channels_b`` are what
    pix2pix's nets read; both are 3 here."""
    if check_bool("pairs", pairs) and (channels_a, channels_b) != (3, 3):
        raise ValueError(f"data.channels_a={channels_a}, data.channels_b={channels_b}: the "
                         "colour-coded label maps and the photos are RGB; keep both 3")
    scenes = TextureScenesDataModule(**options)
    return LabelMapPairs(scenes, flip=scenes.flip) if pairs else scenes
