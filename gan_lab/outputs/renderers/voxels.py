"""The voxel renderer: occupancy grids drawn as shaded surfaces, a grid of them, a turntable GIF,
an interpolation strip and nearest-training-shape panels.

Each (1, D, H, W) occupancy in [0, 1] (the last axis vertical, gan_lab.data.voxels) is drawn
orthographically, in torch, by splatting: every voxel above 0.5 that touches the outside is
projected to the panel as a square at least as wide as a voxel, the nearest one at each pixel
wins (a depth buffer, ``scatter_reduce``), and it is Lambert-shaded by the normal of the lightly
smoothed occupancy there (minus its gradient), with a little depth cueing. The view looks down 25
degrees onto the shape from the front left; the turntable turns the camera about the vertical
axis.

Why not matplotlib (a mesh by marching cubes in a ``Poly3DCollection``, or ``Axes3D.voxels``):
its cost grows with the faces, and the samples of an untrained or collapsing generator are noise
near 0.5 whose marching-cubes mesh has 10^5 faces or more; a 64-sample grid of them took 83 s on
one core, at every sample interval. Splatting costs at most one square per surface voxel: about
8 ms for a 128 px panel of a 32^3 shape on one core, 30 ms for noise.

3D-GAN's figures show each generated shape's largest connected component (Wu et al. 2016, sec.
4.1); ``largest=True`` does the same here (off by default: the raw samples).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F
from torchvision.utils import make_grid

from gan_lab.kinds import SampleKind
from gan_lab.outputs.base import FramesOutput, ImageOutput, register_renderer
from gan_lab.visuals import Visual

__all__ = ["interpolation_strip", "largest_component", "nearest_panels", "splat",
           "render_voxels", "turntable", "voxel_grid_image"]

PANEL = 128                     # pixels a side of each shape's panel
ELEVATION, AZIMUTH = 25.0, -55.0  # degrees: the camera above the ground plane, and around z
EXTENT = 1.25                   # half the panel's width in grid units (the cube spans [-1, 1])
COLOUR = torch.tensor([0.35, 0.55, 0.85])


def _grids(voxels: Tensor) -> Tensor:
    """(N, 1, D, H, W), (N, D, H, W) or one (D, H, W) as float (N, D, H, W) in [0, 1] (one
    (1, D, H, W) grid reads as a batch of one)."""
    voxels = voxels.detach().float().cpu()
    if voxels.dim() == 3:
        voxels = voxels[None]
    elif voxels.dim() == 5:
        if voxels.shape[1] != 1:
            raise ValueError(f"a 'voxels' visual has one channel (occupancy), got {tuple(voxels.shape)}")
        voxels = voxels[:, 0]
    if voxels.dim() != 4:
        raise ValueError(f"a 'voxels' visual needs (N, 1, D, H, W), got {tuple(voxels.shape)}")
    return voxels.clamp(0, 1)


def largest_component(grid: Tensor) -> Tensor:
    """``grid`` (D, H, W) with only its largest 26-connected component of voxels > 0.5 kept
    (3D-GAN's figures, sec. 4.1); the rest set to 0."""
    from scipy import ndimage

    mask = (grid > 0.5).numpy()
    labels, count = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    if count <= 1:
        return grid
    sizes = np.bincount(labels.ravel())[1:]
    keep = torch.from_numpy(labels == 1 + int(sizes.argmax()))
    return torch.where(keep, grid, torch.zeros_like(grid))


def _camera(elevation: float, azimuth: float) -> tuple[Tensor, Tensor, Tensor]:
    """Unit vectors (x, y, z): toward the camera, the screen's right and its up."""
    theta, phi = math.radians(elevation), math.radians(azimuth)
    back = torch.tensor([math.cos(theta) * math.cos(phi), math.cos(theta) * math.sin(phi),
                         math.sin(theta)])
    right = torch.tensor([-math.sin(phi), math.cos(phi), 0.0])
    up = torch.tensor([-math.sin(theta) * math.cos(phi), -math.sin(theta) * math.sin(phi),
                       math.cos(theta)])
    return back, right, up


def _surface_voxels(grid: Tensor) -> tuple[Tensor, Tensor]:
    """Centres (V, 3) in [-1, 1] (x, y, z) and outward normals (V, 3) of the voxels > 0.5 that
    touch the outside (some of their 26 neighbours empty; the cube's border counts as empty)."""
    occupied = (grid > 0.5).float()[None, None]
    inner = F.avg_pool3d(F.pad(occupied, (1,) * 6), 3, 1) > 1 - 1e-6
    surface = (occupied > 0) & ~inner
    index = surface[0, 0].nonzero()                                   # (V, 3) voxel indices
    sides = torch.tensor(grid.shape, dtype=torch.float32)
    centres = (2 * index.float() + 1) / sides - 1
    smooth = F.avg_pool3d(grid[None, None], 3, 1, 1, count_include_pad=False)[0, 0]
    gradient = torch.stack(torch.gradient(smooth), -1)[index[:, 0], index[:, 1], index[:, 2]]
    return centres, -F.normalize(gradient, dim=-1)


def splat(grids: Tensor, size: int = PANEL, elevation: float = ELEVATION,
             azimuth: float = AZIMUTH) -> Tensor:
    """Shaded views (N, 3, size, size) in [0, 1] of occupancy grids (N, D, H, W) (x, y, z; z up),
    white where no voxel above 0.5 is seen. Orthographic; each surface voxel is splatted as a
    square of at least its projected width into a depth buffer (the nearest wins), shaded by the
    normal of the lightly smoothed occupancy (Lambert, with depth cueing)."""
    grids = _grids(grids)
    back, right, up = _camera(elevation, azimuth)
    light = F.normalize(0.55 * back + 0.6 * up - 0.35 * right, dim=0)
    images = torch.ones(len(grids), 3, size * size)
    for image, grid in zip(images, grids, strict=True):
        centres, normals = _surface_voxels(grid)
        if len(centres) == 0:
            continue
        voxel_px = 2 / max(grid.shape) / (2 * EXTENT) * size
        half = max(0, math.floor(voxel_px / 2 + 0.5))
        offsets = torch.arange(-half, half + 1)
        col = ((centres @ right + EXTENT) / (2 * EXTENT) * size).floor().long()
        row = ((EXTENT - centres @ up) / (2 * EXTENT) * size).floor().long()
        depth = centres @ back                                       # larger: nearer the camera
        rows = (row[:, None, None] + offsets[None, :, None]).expand(-1, len(offsets), len(offsets))
        cols = (col[:, None, None] + offsets[None, None, :]).expand(-1, len(offsets), len(offsets))
        inside = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
        pixel = (rows * size + cols)[inside]
        owner = torch.arange(len(centres))[:, None, None].expand_as(rows)[inside]
        nearest = torch.full((size * size,), -math.inf).scatter_reduce(
            0, pixel, depth[owner], reduce="amax")
        wins = depth[owner] >= nearest[pixel]
        lambert = (normals @ light).clamp(min=0)
        lambert = torch.where(normals.norm(dim=-1) > 0, lambert, torch.full_like(lambert, 0.7))
        shade = ((0.3 + 0.7 * lambert) * (1 - 0.25 * (1.75 - depth) / 3.5)).clamp(0, 1)
        colour = shade[:, None] * COLOUR                             # (V, 3)
        image[:, pixel[wins]] = colour[owner[wins]].T
    return images.view(len(grids), 3, size, size)


def _label(panels: Tensor, titles: Sequence[str | None]) -> Tensor:
    """Each panel (N, 3, P, P) with its title written at its foot (PIL's default font)."""
    from PIL import Image, ImageDraw

    out = []
    for panel, title in zip(panels, titles, strict=True):
        if not title:
            out.append(panel)
            continue
        picture = Image.fromarray((panel.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
        draw = ImageDraw.Draw(picture)
        width = draw.textlength(title)
        draw.text(((picture.width - width) / 2, picture.height - 13), title, fill=(60, 60, 60))
        out.append(torch.from_numpy(np.asarray(picture).copy()).permute(2, 0, 1).float() / 255)
    return torch.stack(out)


def voxel_grid_image(voxels: Tensor, nrow: int = 8, titles: Sequence[str | None] | None = None,
                     elevation: float = ELEVATION, azimuth: float = AZIMUTH,
                     largest: bool = False, size: int = PANEL) -> Tensor:
    """Shapes ``voxels`` (N, 1, D, H, W) drawn ``nrow`` to a row: RGB (3, H, W) in [0, 1].
    ``titles``: one per shape (or None); ``largest``: each shape's largest component only; an
    empty grid is a panel marked "empty"."""
    grids = _grids(voxels)
    if len(grids) == 0:
        raise ValueError("no shapes to draw")
    if titles is not None and len(titles) != len(grids):
        raise ValueError(f"{len(titles)} titles for {len(grids)} shapes")
    if largest:
        grids = torch.stack([largest_component(g) for g in grids])
    panels = splat(grids, size, elevation, azimuth)
    empty = ~(grids > 0.5).flatten(1).any(1)
    names = list(titles) if titles is not None else [None] * len(grids)
    names = [("empty" if blank and not name else name) for name, blank in zip(names, empty.tolist(),
                                                                               strict=True)]
    if any(names):
        panels = _label(panels, names)
    return make_grid(panels, nrow=max(1, min(int(nrow), len(grids))), padding=2, pad_value=1.0)


@register_renderer(SampleKind.VOXELS,
                   example=lambda: Visual(SampleKind.VOXELS,
                                          (torch.rand(4, 1, 16, 16, 16) > 0.5).float(), 2))
def render_voxels(visual: Visual) -> ImageOutput:
    """A ``voxels`` visual (N, 1, D, H, W) occupancy in [0, 1] as one image, ``nrow`` shapes a
    row, each its shaded 0.5-surface seen from above the front left."""
    return ImageOutput(pixels=voxel_grid_image(visual.data, visual.nrow))


def turntable(voxels: Tensor, frames: int = 24, fps: int = 12, elevation: float = ELEVATION,
              size: int = 160) -> FramesOutput:
    """One shape (1, D, H, W) turning once about its vertical axis: ``frames`` views
    (T, 3, size, size) for a GIF at ``fps``."""
    grids = _grids(voxels)
    if len(grids) != 1:
        raise ValueError(f"turntable() draws one shape, got {len(grids)}")
    if isinstance(frames, bool) or int(frames) < 1:
        raise ValueError(f"frames={frames}: must be at least 1")
    views = [splat(grids, size, elevation, AZIMUTH + 360.0 * step / int(frames))[0]
             for step in range(int(frames))]
    return FramesOutput(frames=torch.stack(views), fps=int(fps))


def interpolation_strip(voxels: Tensor, weights: Sequence[float] | None = None,
                        rows: int = 1) -> ImageOutput:
    """Shapes along latent interpolations (K, 1, D, H, W): ``rows`` paths of K / rows shapes,
    path after path, one path a row, each shape titled with its weight t (0 to 1 by default):
    3D-GAN's interpolation figure (Wu et al. 2016, sec. 4.4, fig. 6)."""
    grids = _grids(voxels)
    per_row = len(grids) // max(1, int(rows))
    if per_row * int(rows) != len(grids) or per_row == 0:
        raise ValueError(f"{len(grids)} shapes do not split into {rows} rows")
    if weights is None:
        weights = np.linspace(0, 1, per_row).tolist() if per_row > 1 else [0.0]
    if len(weights) != per_row:
        raise ValueError(f"{len(weights)} weights for rows of {per_row} shapes")
    titles = [f"t={t:.2f}" for t in weights] * int(rows)
    return ImageOutput(pixels=voxel_grid_image(grids, per_row, titles))


def nearest_panels(samples: Tensor, reference: Tensor, k: int = 3) -> ImageOutput:
    """Each generated shape (N, 1, D, H, W) in a row beside its ``k`` nearest ``reference``
    (training) shapes by IoU, titled with the IoU: the nearest-neighbour check of 3D-GAN's
    fig. 3 (Wu et al. 2016, sec. 4.1) that samples are not copies of training shapes."""
    from gan_lab.metrics.voxels import nearest_by_iou

    samples, reference = _grids(samples), _grids(reference)
    k = max(1, min(int(k), len(reference)))
    ious, indices = nearest_by_iou(samples[:, None], reference[:, None], k)
    panels, titles = [], []
    for sample, row_iou, row_idx in zip(samples, ious, indices, strict=True):
        panels.append(sample)
        titles.append("sample")
        for iou, index in zip(row_iou.tolist(), row_idx.tolist(), strict=True):
            panels.append(reference[index])
            titles.append(f"IoU {iou:.2f}")
    return ImageOutput(pixels=voxel_grid_image(torch.stack(panels), k + 1, titles))
