"""Adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data").

The pipeline (sec. 2.3, appendix B) is the paper's 'bgc' set: pixel blitting (xflip, rotate90,
integer translation), general geometric transforms (isotropic scale, arbitrary rotation,
anisotropic scale, fractional translation) and colour transforms (brightness, contrast, luma
flip, hue rotation, saturation), plus the official pipeline's cutout (an image-space corruption,
off unless named in ``ops``). Every op is applied to each sample independently with probability
``p`` times the op's strength (``strengths``: the official ``AugmentPipe``'s per-op probability
multipliers, 1 by default), with the paper's parameter distributions (appendix B, Fig. 21). As
in the official code (NVlabs/stylegan2-ada-pytorch, training/augment.py) the geometric ops
compose into one 3x3 matrix per sample and the colour ops into one 4x4 matrix per sample.

Geometric resampling (``resample``): "wavelet" (the default) is the official anti-aliased
resampling: pad by reflection (as far as the transformed corners reach, plus the filter's
margin), upsample 2x with the sym6 wavelet low-pass filter (``upfirdn2d``), sample with bilinear
``grid_sample``, low-pass and downsample 2x with the same filter. It keeps G from learning the
aliasing that plain resampling leaks into the augmented images. "bilinear" is a cheaper plain
``grid_sample`` with reflection padding (gan_lab's earlier pipeline).

R3GAN (Huang et al. 2024, brownvc/R3GAN train.py, ``--aug`` default True) uses the pipeline
``ops=bgc,cutout`` with strength 0.5 on the five colour ops and a fixed ``p`` that its loop
schedules (``conf/augment/ada_r3gan.yaml``).

``p`` is steered by the overfitting heuristic ``r_t = E[sign(D(real))]`` (sec. 3): every
``interval`` D steps, ``p`` moves by ``sign(r_t - target)`` times the images seen since the last
adjustment over ``speed_kimg * 1000``, so it can cross [0, 1] in ``speed_kimg`` thousand images.

Deliberate differences from the official code:

* Samples that draw no geometric (colour) op skip resampling (the colour matrix) and pass
  through bit-exactly, so ``p = 0`` is exactly the identity (the official code resamples the
  whole batch, which at the identity reproduces it up to float rounding); rotate90 uses exact
  0/+-1 entries.
* Non-RGB images: for 1 channel (gan_lab's default data is greyscale) the colour matrix acts on
  the grey value as on a grey RGB pixel (the official rule), i.e. brightness, contrast and luma
  flip apply; hue and saturation are skipped since they leave grey pixels unchanged. Other
  channel counts are treated channel by channel with the same grey rule (the official code
  rejects them).
* ``p`` is clamped to [0, 1] (the official code only clamps at 0), and under
  ``torch.distributed`` the sign statistics are summed over all ranks every step, so every
  rank keeps the same ``p`` (the official code gathers them the same way, once per interval).
* The official pipeline's image-space filtering and additive noise are not implemented (no
  official preset of ADA's 'bgc' or of R3GAN uses them).

Clips (N, T, C, H, W; ``augment(x, kind="clips")``, gan_lab.augment.base): every op's
parameters and its apply-or-not draw are made once per clip and the clip's geometric and colour
matrices and cutout square are used for all its T frames, so a clip is flipped, rotated, shifted
and recoloured as a whole and its motion is kept. ``p``'s control (``observe``) counts what D
scores (clips for a video critic). Voxels are refused: the pipeline is 2-D.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor

from gan_lab.augment.base import LAYOUTS, Augment, per_clip
from gan_lab.kinds import SampleKind
from gan_lab.nets.filters import downsample2d, upsample2d

__all__ = ["GROUPS", "OPS", "RESAMPLERS", "SYM6", "AdaptiveAugment"]

OPS = (
    "xflip", "rotate90", "xint",  # pixel blitting
    "scale", "rotate", "aniso", "xfrac",  # general geometric
    "brightness", "contrast", "lumaflip", "hue", "saturation",  # colour
    "cutout",  # image-space corruption (official AugmentPipe; not in the paper's 'bgc')
)  # fmt: skip
GEOMETRIC = OPS[:7]
COLOR = OPS[7:12]
GROUPS = {
    "blit": OPS[:3],
    "geom": OPS[3:7],
    "color": COLOR,
    "bg": OPS[:7],
    "bgc": OPS[:12],
}
RESAMPLERS = ("wavelet", "bilinear")

# Parameter distributions of appendix B (the official defaults). Scales are log2-normal.
XINT_MAX = 0.125  # integer translation: U[-0.125, 0.125] of the side, rounded to pixels
SCALE_STD = 0.2  # isotropic scale: 2^N(0, 0.2^2)
ROTATE_MAX = 1.0  # arbitrary rotation: U[-pi, pi] (1 = full circle)
ANISO_STD = 0.2  # anisotropic scale: 2^N(0, 0.2^2) on x, its inverse on y
XFRAC_STD = 0.125  # fractional translation: N(0, 0.125^2) of the side
BRIGHTNESS_STD = 0.2  # brightness: + N(0, 0.2^2)
CONTRAST_STD = 0.5  # contrast: x 2^N(0, 0.5^2)
HUE_MAX = 1.0  # hue rotation: U[-pi, pi] about the luma axis
SATURATION_STD = 1.0  # saturation: x 2^N(0, 1) off the luma axis
CUTOUT_SIZE = 0.5  # cutout: a square of half the side, centre U[0, 1]^2 (official cutout_size)

# Low-pass decomposition filter of the symlet-6 wavelet, in the order the official pipeline
# uses it (its ``wavelets['sym6']``, the geometric ops' ``Hz_geom``); normalized to sum 1 below.
SYM6 = (
    0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
    0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
    -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148,
)  # fmt: skip

# Exact cos/sin of k * 90 degrees, so rotate90 maps pixel centres onto pixel centres exactly.
_COS90 = (1.0, 0.0, -1.0, 0.0)
_SIN90 = (0.0, 1.0, 0.0, -1.0)


def _parse_ops(ops: str | Iterable[str]) -> tuple[str, ...]:
    words = ops.split(",") if isinstance(ops, str) else list(ops)
    chosen: set[str] = set()
    for word in (str(w).strip() for w in words):
        if not word:
            continue
        if word in GROUPS:
            chosen.update(GROUPS[word])
        elif word in OPS:
            chosen.add(word)
        else:
            raise ValueError(
                f"unknown ADA op {word!r}; allowed: ops {', '.join(OPS)} "
                f"or groups {', '.join(GROUPS)} (comma-separated or a list)"
            )
    return tuple(op for op in OPS if op in chosen)  # the pipeline's fixed order


def _stack_matrix(rows: list[list[Tensor | float]], like: Tensor) -> Tensor:
    """[N, R, C] batch of matrices from rows of per-sample [N] tensors or constants."""
    elems = [e if isinstance(e, Tensor) else torch.full_like(like, e) for row in rows for e in row]
    return torch.stack(elems, dim=-1).view(-1, len(rows), len(rows[0]))


def _translate2d(tx: Tensor, ty: Tensor) -> Tensor:
    return _stack_matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], tx)


def _scale2d(sx: Tensor, sy: Tensor) -> Tensor:
    return _stack_matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], sx)


def _rotate2d(cos: Tensor, sin: Tensor) -> Tensor:
    return _stack_matrix([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], cos)


def _translate3d(t: Tensor) -> Tensor:
    return _stack_matrix([[1, 0, 0, t], [0, 1, 0, t], [0, 0, 1, t], [0, 0, 0, 1]], t)


def _scale3d(s: Tensor) -> Tensor:
    return _stack_matrix([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]], s)


class AdaptiveAugment(Augment):
    """ADA (Karras et al. 2020): the 'bgc' pipeline (sec. 2.3) with adaptive ``p`` (sec. 3).

    Args:
        target: the value of ``r_t = E[sign(D(real))]`` that ``p`` steers towards (paper: 0.6).
        interval: adjust ``p`` every this many ``observe`` calls (D steps).
        speed_kimg: thousands of images over which ``p`` can move by 1 (paper: 500).
        p_init: the initial ``p``.
        ops: op names (see ``OPS``) and/or groups ``blit``, ``geom``, ``color``, ``bg``, ``bgc``,
            comma-separated or a list.
        fixed_p: a constant ``p``; disables the adaptation (``r_t`` is still measured). A scheme
            may still set ``p`` itself (R3GAN's scheduled ``p``).
        strengths: per-op probability multipliers, ``{op: s}`` with ``s >= 0`` (the official
            ``AugmentPipe(xflip=1, ..., brightness=0.5, ...)`` arguments); an op applies with
            probability ``p * s``; ops not listed have strength 1; every key must be in ``ops``.
        cutout_size: the side of cutout's square relative to the image (official: 0.5).
        resample: "wavelet" (official anti-aliased resampling) or "bilinear" (plain
            ``grid_sample``).
    """

    kinds = (SampleKind.IMAGES, SampleKind.CLIPS)
    option = "ada"

    def __init__(
        self,
        target: float = 0.6,
        interval: int = 4,
        speed_kimg: float = 500,
        p_init: float = 0.0,
        ops: str | Iterable[str] = "bgc",
        fixed_p: float | None = None,
        strengths: Mapping[str, float] | None = None,
        cutout_size: float = CUTOUT_SIZE,
        resample: str = "wavelet",
    ) -> None:
        super().__init__()
        if int(interval) < 1:
            raise ValueError(f"ADA interval must be >= 1, got {interval}")
        if not speed_kimg > 0:
            raise ValueError(f"ADA speed_kimg must be > 0, got {speed_kimg}")
        for name, value in (("p_init", p_init), ("fixed_p", fixed_p)):
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"ADA {name} must lie in [0, 1], got {value}")
        if resample not in RESAMPLERS:
            raise ValueError(f"augment.resample={resample!r} is not one of: "
                             f"{', '.join(RESAMPLERS)}")
        if not 0 < float(cutout_size) <= 1:
            raise ValueError(f"augment.cutout_size={cutout_size} must lie in (0, 1]")
        self.ops = _parse_ops(ops)
        self.strength = {op: 1.0 for op in self.ops}
        for op, value in dict(strengths or {}).items():
            if op not in self.ops:
                raise ValueError(f"augment.strengths.{op}: not an op of this pipeline; ops are "
                                 f"{', '.join(self.ops) or 'none'} (augment.ops)")
            if isinstance(value, bool) or not 0 <= float(value) < math.inf:
                raise ValueError(f"augment.strengths.{op}={value} must be a number >= 0")
            self.strength[op] = float(value)
        self.cutout_size = float(cutout_size)
        self.resample = resample
        self.target = float(target)
        self.interval = int(interval)
        self.speed_kimg = float(speed_kimg)
        self.fixed_p = None if fixed_p is None else float(fixed_p)
        p = p_init if fixed_p is None else fixed_p
        # Buffers: they travel in state_dict, so a resumed run continues with the same p and
        # the same partly filled accumulators. Counters are int64, exact and immune to a
        # module-wide .half()/.double().
        self.register_buffer("p", torch.tensor(float(p)))
        self.register_buffer("rt", torch.tensor(0.0))  # last measured r_t (0 until the first)
        self.register_buffer("sign_sum", torch.tensor(0, dtype=torch.long))
        self.register_buffer("sign_count", torch.tensor(0, dtype=torch.long))
        self.register_buffer("images_seen", torch.tensor(0, dtype=torch.long))
        self.register_buffer("observations", torch.tensor(0, dtype=torch.long))
        # The separable wavelet filter, normalized (not saved: a constant).
        taps = torch.tensor(SYM6, dtype=torch.float32)
        self.register_buffer("wavelet", taps / taps.sum(), persistent=False)

    def extra_repr(self) -> str:
        scaled = {op: s for op, s in self.strength.items() if s != 1.0}
        return (
            f"ops={','.join(self.ops)!r}, target={self.target}, interval={self.interval}, "
            f"speed_kimg={self.speed_kimg}, fixed_p={self.fixed_p}, strengths={scaled}, "
            f"resample={self.resample!r}"
        )

    # -- p control (sec. 3) --------------------------------------------------------------------

    @torch.no_grad()
    def observe(self, real_scores: Tensor, counts_step: bool = True) -> None:
        """Accumulate ``sign(D(real))``; every ``interval`` D steps, measure ``r_t`` and move
        ``p`` by the images seen. ``counts_step=False`` (StyleGAN2's Dreg forward on the same
        reals): the signs join r_t's mean, but neither the step nor its images are counted, as
        the official loop (its r_t averages the signs both phases report; p moves every
        ``ada_interval`` iterations by batch x interval images).

        Written with tensor ops only (no host sync); the adjustment is selected by ``where``.
        """
        scores = real_scores.detach()
        device = self.sign_sum.device
        step = torch.stack(
            [
                torch.sign(scores.float()).sum().round().long().to(device),
                torch.tensor(scores.numel(), device=device),
                torch.tensor((scores.shape[0] if scores.ndim else 1) if counts_step else 0,
                             device=device),
            ]
        )
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(step)  # r_t and the image count are over the global batch
        self.sign_sum += step[0]
        self.sign_count += step[1]
        self.images_seen += step[2]
        if not counts_step:
            return
        self.observations += 1

        due = self.observations >= self.interval
        rt = self.sign_sum.double() / self.sign_count.clamp_min(1).double()
        if self.fixed_p is None:
            adjust = torch.sign(rt - self.target) * self.images_seen.double()
            new_p = (self.p.double() + adjust / (self.speed_kimg * 1000)).clamp(0, 1)
            self.p.copy_(torch.where(due, new_p.to(self.p.dtype), self.p))
        self.rt.copy_(torch.where(due, rt.to(self.rt.dtype), self.rt))
        for counter in (self.sign_sum, self.sign_count, self.images_seen, self.observations):
            counter.copy_(torch.where(due, torch.zeros_like(counter), counter))

    def metrics(self) -> dict[str, float]:
        return {"augment/p": float(self.p), "augment/rt": float(self.rt)}

    # -- the pipeline (sec. 2.3, appendix B) ---------------------------------------------------

    def check_kind(self, kind: SampleKind | str | None) -> SampleKind:
        """Images and clips; voxels are refused in one line (the pipeline is 2-D)."""
        if kind is not None and SampleKind(kind) is SampleKind.VOXELS:
            raise ValueError(f"augment={self.option} (AdaptiveAugment) does not apply to voxels "
                             f"{LAYOUTS[SampleKind.VOXELS]}: its pipeline is 2-D; use "
                             "augment=diffaugment augment.policy=translation,cutout or "
                             "augment=none")
        return super().check_kind(kind)

    def transform(self, x: Tensor, frames: int = 1) -> Tensor:
        """Images (N * frames, C, H, W); every ``frames`` consecutive ones (a clip's frames)
        share one draw of every op (``per_clip``)."""
        if x.ndim != 4:
            raise ValueError(f"ADA expects NCHW images, got shape {tuple(x.shape)}")
        x = self._geometric(x, frames)
        x = self._color(x, frames)
        return self._cutout(x, frames)

    def _draw(self, n: int, device: torch.device, prob: Tensor) -> Tensor:
        """[N] bool: which samples apply an op, each with probability ``prob``."""
        return torch.rand(n, device=device) < prob

    def _prob(self, op: str, p: Tensor) -> Tensor:
        """The probability of ``op``: p times its strength (the official multiplier)."""
        return p * self.strength[op]

    def _geometric(self, x: Tensor, frames: int = 1) -> Tensor:
        ops = [op for op in self.ops if op in GEOMETRIC]
        if not ops:
            return x
        _, _, h, w = x.shape
        n = x.shape[0] // frames  # draws: one per image, or per clip
        dev = x.device
        p = self.p.float().to(dev)
        zeros = torch.zeros(n, device=dev)
        ones = torch.ones(n, device=dev)
        # g_inv maps output pixel -> input pixel in pixel units about the image centre, composed
        # as in the official code: g_inv = A1^-1 A2^-1 ... (A1, the xflip, acts first).
        g_inv = torch.eye(3, device=dev).expand(n, 3, 3)
        if "xflip" in ops:
            i = torch.floor(torch.rand(n, device=dev) * 2)
            i = torch.where(self._draw(n, dev, self._prob("xflip", p)), i, zeros)
            g_inv = g_inv @ _scale2d(1 - 2 * i, ones)
        if "rotate90" in ops:
            k = torch.floor(torch.rand(n, device=dev) * 4).long()
            k = torch.where(self._draw(n, dev, self._prob("rotate90", p)), k, torch.zeros_like(k))
            cos = torch.tensor(_COS90, device=dev)[k]
            sin = torch.tensor(_SIN90, device=dev)[k]
            g_inv = g_inv @ _rotate2d(cos, -sin)
        if "xint" in ops:
            t = (torch.rand(n, 2, device=dev) * 2 - 1) * XINT_MAX
            t = torch.where(self._draw(n, dev, self._prob("xint", p)).unsqueeze(1), t,
                            torch.zeros_like(t))
            g_inv = g_inv @ _translate2d(-torch.round(t[:, 0] * w), -torch.round(t[:, 1] * h))
        if "scale" in ops:
            s = torch.exp2(torch.randn(n, device=dev) * SCALE_STD)
            s = torch.where(self._draw(n, dev, self._prob("scale", p)), s, ones)
            g_inv = g_inv @ _scale2d(1 / s, 1 / s)
        # Rotation is drawn twice (before and after the anisotropic scale), each with p_rot,
        # so that P(any rotation) = p * strength (appendix B).
        if "rotate" in ops:
            p_rot = 1 - torch.sqrt((1 - self._prob("rotate", p)).clamp(0, 1))
            g_inv = g_inv @ self._random_rotation(n, dev, p_rot)
        if "aniso" in ops:
            s = torch.exp2(torch.randn(n, device=dev) * ANISO_STD)
            s = torch.where(self._draw(n, dev, self._prob("aniso", p)), s, ones)
            g_inv = g_inv @ _scale2d(1 / s, s)
        if "rotate" in ops:
            g_inv = g_inv @ self._random_rotation(n, dev, p_rot)
        if "xfrac" in ops:
            t = torch.randn(n, 2, device=dev) * XFRAC_STD
            t = torch.where(self._draw(n, dev, self._prob("xfrac", p)).unsqueeze(1), t,
                            torch.zeros_like(t))
            g_inv = g_inv @ _translate2d(-t[:, 0] * w, -t[:, 1] * h)

        # Samples that drew no geometric op pass through untouched, not resampled.
        g_inv = per_clip(g_inv, frames)
        identity = (g_inv == torch.eye(3, device=dev)).flatten(1).all(dim=1)
        if self.resample == "wavelet":
            if bool(identity.all()):  # one host sync; the padding below needs one anyway
                return x
            warped = warp_wavelet(x, g_inv, self.wavelet)
        else:
            warped = warp_bilinear(x, g_inv)
        return torch.where(identity.view(-1, 1, 1, 1), x, warped.to(x.dtype))

    def _random_rotation(self, n: int, dev: torch.device, prob: Tensor) -> Tensor:
        theta = (torch.rand(n, device=dev) * 2 - 1) * math.pi * ROTATE_MAX
        theta = torch.where(self._draw(n, dev, prob), theta, torch.zeros_like(theta))
        return _rotate2d(torch.cos(theta), -torch.sin(theta))  # the inverse rotation

    def _color(self, x: Tensor, frames: int = 1) -> Tensor:
        total, c, h, w = x.shape
        n = total // frames  # draws: one per image, or per clip
        rgb = c == 3
        # Hue and saturation act off the luma axis, where grey pixels have no component.
        ops = [op for op in self.ops if op in COLOR and (rgb or op not in ("hue", "saturation"))]
        if not ops:
            return x
        dev = x.device
        p = self.p.float().to(dev)
        eye = torch.eye(4, device=dev)
        v = torch.tensor([1.0, 1.0, 1.0, 0.0], device=dev) / math.sqrt(3)  # luma axis
        vv = torch.outer(v, v)
        # color_mat maps [r, g, b, 1] -> [r', g', b', 1]; each op left-multiplies it.
        color_mat = eye.expand(n, 4, 4)
        if "brightness" in ops:
            b = torch.randn(n, device=dev) * BRIGHTNESS_STD
            b = torch.where(self._draw(n, dev, self._prob("brightness", p)), b, torch.zeros_like(b))
            color_mat = _translate3d(b) @ color_mat
        if "contrast" in ops:
            s = torch.exp2(torch.randn(n, device=dev) * CONTRAST_STD)
            s = torch.where(self._draw(n, dev, self._prob("contrast", p)), s, torch.ones_like(s))
            color_mat = _scale3d(s) @ color_mat
        if "lumaflip" in ops:
            i = torch.floor(torch.rand(n, device=dev) * 2)
            i = torch.where(self._draw(n, dev, self._prob("lumaflip", p)), i, torch.zeros_like(i))
            color_mat = (eye - 2 * vv * i.view(n, 1, 1)) @ color_mat  # Householder reflection
        if "hue" in ops:
            theta = (torch.rand(n, device=dev) * 2 - 1) * math.pi * HUE_MAX
            theta = torch.where(self._draw(n, dev, self._prob("hue", p)), theta,
                                torch.zeros_like(theta))
            color_mat = self._rotate_about_luma(theta, v, vv) @ color_mat
        if "saturation" in ops:
            s = torch.exp2(torch.randn(n, device=dev) * SATURATION_STD)
            s = torch.where(self._draw(n, dev, self._prob("saturation", p)), s,
                            torch.ones_like(s))
            # Keep the luma component, scale the chroma plane; the homogeneous row stays fixed.
            chroma = eye - vv
            chroma[3, 3] = 0
            # eye + chroma * (s - 1), not vv + chroma * s: exactly the identity when s == 1.
            color_mat = (eye + chroma * (s - 1).view(n, 1, 1)) @ color_mat

        color_mat = per_clip(color_mat, frames)
        n = total  # from here on: every image (each frame of a clip)
        mat = color_mat.to(x.dtype)
        flat = x.reshape(n, c, h * w)
        if rgb:
            out = mat[:, :3, :3] @ flat + mat[:, :3, 3:]
        else:
            # A grey value g stands for the RGB pixel (g, g, g); the official rule maps it to
            # the mean of the transformed channels: g * mean_i sum_j C_ij + mean_i t_i.
            gain = mat[:, :3, :3].sum(dim=(1, 2)).view(n, 1, 1) / 3
            bias = mat[:, :3, 3].sum(dim=1).view(n, 1, 1) / 3
            out = flat * gain + bias
        identity = (color_mat == eye).flatten(1).all(dim=1)
        return torch.where(identity.view(n, 1, 1, 1), x, out.view(n, c, h, w))

    def _cutout(self, x: Tensor, frames: int = 1) -> Tensor:
        """Zero a square of side ``cutout_size`` (relative) centred at a uniform point, per
        sample with probability ``p * strength`` (the official pipeline's cutout); pixels whose
        centre lies inside the square are cut, the square may leave the image."""
        if "cutout" not in self.ops:
            return x
        _, _, h, w = x.shape
        n = x.shape[0] // frames  # draws: one per image, or per clip
        dev = x.device
        applied = self._draw(n, dev, self._prob("cutout", self.p.float().to(dev)))
        size = torch.where(applied, torch.full((n,), self.cutout_size, device=dev),
                           torch.zeros(n, device=dev)).view(n, 1, 1)
        centre = torch.rand(n, 2, 1, 1, device=dev)
        size, centre = per_clip(size, frames), per_clip(centre, frames)
        cx = (torch.arange(w, device=dev) + 0.5).view(1, 1, w) / w
        cy = (torch.arange(h, device=dev) + 0.5).view(1, h, 1) / h
        keep = ((cx - centre[:, 0]).abs() >= size / 2) | ((cy - centre[:, 1]).abs() >= size / 2)
        return x * keep.unsqueeze(1).to(x.dtype)

    @staticmethod
    def _rotate_about_luma(theta: Tensor, v: Tensor, vv: Tensor) -> Tensor:
        """[N, 4, 4] rotation by ``theta`` about the unit axis ``v`` (Rodrigues' formula)."""
        n = theta.shape[0]
        cos = torch.cos(theta).view(n, 1, 1)
        sin = torch.sin(theta).view(n, 1, 1)
        vx, vy, vz = float(v[0]), float(v[1]), float(v[2])
        cross = torch.tensor(
            [[0, -vz, vy, 0], [vz, 0, -vx, 0], [-vy, vx, 0, 0], [0, 0, 0, 0]], device=theta.device
        )  # K with K @ u = v x u
        eye3 = torch.diag(torch.tensor([1.0, 1.0, 1.0, 0.0], device=theta.device))
        rot = cos * eye3 + sin * cross + (1 - cos) * vv
        rot[:, 3, 3] = 1
        return rot


def warp_bilinear(x: Tensor, g_inv: Tensor) -> Tensor:
    """``x`` resampled at ``g_inv`` (output pixel -> input pixel, pixel units about the centre)
    with plain bilinear ``grid_sample`` and reflection about the border."""
    n, _, h, w = x.shape
    dev = x.device
    # Pixel units about the centre -> grid_sample's [-1, 1] (align_corners=False), where
    # x_pixel = u * W / 2; keeps rotations isotropic on non-square images.
    to_norm = torch.diag(torch.tensor([2 / w, 2 / h, 1.0], device=dev))
    from_norm = torch.diag(torch.tensor([w / 2, h / 2, 1.0], device=dev))
    theta = (to_norm @ g_inv @ from_norm)[:, :2, :]
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="reflection",
                         align_corners=False)


def warp_wavelet(x: Tensor, g_inv: Tensor, taps: Tensor) -> Tensor:
    """``x`` resampled at ``g_inv`` the official ADA way (stylegan2-ada-pytorch,
    training/augment.py): reflect-pad as far as the transformed corners reach plus the filter's
    margin, upsample 2x with the low-pass ``taps`` (1-D, separable, summing to 1), bilinear
    ``grid_sample`` on the 2x grid, low-pass and downsample 2x, crop to the input size. Runs in
    float32. The padding is one size for the batch, from its farthest corner (a host sync).
    """
    n, c, h, w = x.shape
    dev = x.device
    x = x.float()
    g_inv = g_inv.float()
    margin_px = taps.numel() // 4  # the official Hz_pad: 3 for the 12-tap sym6
    taps = taps.to(dev)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    # Where the output's corner pixel centres come from in the input.
    corners = torch.tensor([[-cx, cx, cx, -cx], [-cy, -cy, cy, cy], [1.0, 1.0, 1.0, 1.0]],
                           device=dev)
    reach = (g_inv @ corners)[:, :2, :].permute(1, 0, 2).flatten(1)  # [xy, N * 4]
    margin = torch.cat([-reach, reach]).amax(dim=1)  # [x0, y0, x1, y1]: beyond the centre
    margin = margin + torch.tensor([2 * margin_px - cx, 2 * margin_px - cy] * 2, device=dev)
    upper = torch.tensor([w - 1, h - 1] * 2, device=dev, dtype=margin.dtype)
    mx0, my0, mx1, my1 = (int(v) for v in margin.clamp(min=0).minimum(upper).ceil().tolist())

    x = F.pad(x, [mx0, mx1, my0, my1], mode="reflect")
    # The padded image's centre moved; then the 2x grid (pixel i -> 2i + 0.5 about the centre).
    g = _translate2d_const((mx0 - mx1) / 2, (my0 - my1) / 2, dev) @ g_inv
    x = upsample2d(x, taps, up=2)
    g = _scale2d_const(2, 2, dev) @ g @ _scale2d_const(0.5, 0.5, dev)
    g = _translate2d_const(-0.5, -0.5, dev) @ g @ _translate2d_const(0.5, 0.5, dev)
    # Sample an output of the input size plus the filter margin, on the 2x grid.
    out_h, out_w = (h + 2 * margin_px) * 2, (w + 2 * margin_px) * 2
    g = (_scale2d_const(2 / x.shape[3], 2 / x.shape[2], dev) @ g
         @ _scale2d_const(out_w / 2, out_h / 2, dev))
    grid = F.affine_grid(g[:, :2, :], [n, c, out_h, out_w], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # Low-pass (correlation, the official flip_filter=True), every 2nd pixel, crop the margin.
    return downsample2d(x, taps, down=2, padding=-2 * margin_px, flip_filter=True)


def _translate2d_const(tx: float, ty: float, device: torch.device) -> Tensor:
    return torch.tensor([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]], device=device)


def _scale2d_const(sx: float, sy: float, device: torch.device) -> Tensor:
    return torch.tensor([[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]], device=device)
