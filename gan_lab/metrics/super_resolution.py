"""Scores of super-resolution models on the data set's whole evaluation images.

The super-resolution convention (Ledig et al. 2017, sec. 3.1: "calculated on the y-channel of
center-cropped, removal of a 4-pixel wide strip from each border images"; the same in BasicSR
and Lornatang/SRGAN-PyTorch): the SR and HR images are 8-bit, converted to the luma Y of ITU-R
BT.601 as MATLAB's ``rgb2ycbcr`` does (Y = 16 + 65.481 R + 128.553 G + 24.966 B for RGB in
[0, 1], so Y in [16, 235]), ``scale`` pixels are removed from each border, and

- ``sr/psnr_y``: PSNR with a peak of 255, per image, averaged over the images;
- ``sr/ssim_y``: SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03,
  data range 255), per image, averaged; torchmetrics' functional PSNR and SSIM do the work.

Perceptual quality (the paper's MOS) needs people, or a learned metric with downloaded weights:

- ``sr/lpips`` (optional, ``lpips=alex|vgg|squeeze``): torchmetrics' LPIPS (Zhang et al. 2018)
  on the RGB images; its linear heads ship with torchmetrics, but its backbone is torchvision's
  ImageNet net, which must be in the torch hub cache (refused in one line when it is not).
- ``sr/hf_ratio`` (offline, always): the share of the real image's high-frequency energy that the
  SR image has, averaged over images. "High frequency" is exactly what the LR image cannot carry:
  the 2-D spectrum of Y (mean removed, a periodic Hann window against edge leakage) outside the
  LR's pass band, max(|f_x|, |f_y|) > 1 / (2 scale) cycles per HR pixel. 1 means as much fine
  detail (texture, edges) as the truth; MSE-optimal estimates, which average the plausible
  details away, score well below 1 (the over-smoothing the paper's Fig. 2 and sec. 1.1 describe).
  It measures the amount of detail, not its correctness: noise raises it too, which is why it is
  read next to PSNR/SSIM, never alone.

The same scores of bicubic upscaling of the LR images (``sr/bicubic_*``) are computed once per
data set, as the paper's baseline row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from gan_lab.kinds import BatchKind, batch_kind

__all__ = ["LPIPS_BACKBONES", "SuperResolutionQuality", "bicubic_upscale", "high_frequency_energy",
           "high_frequency_ratio", "psnr_y", "quantize", "rgb_to_y", "shave", "ssim_y"]

SSIM_WINDOW = 11
# LPIPS net -> torchvision's backbone weights file (torchmetrics builds the backbone through
# torchvision, which reads the file from the torch hub cache).
LPIPS_BACKBONES = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}


def quantize(images: Tensor) -> Tensor:
    """Images in [-1, 1] as 8-bit values, returned in [0, 1] (what a saved PNG holds)."""
    return ((images.float() + 1.0) * 127.5).round().clamp(0, 255) / 255.0


def rgb_to_y(images: Tensor) -> Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> (N, 1, H, W) BT.601 luma Y in [16, 235] (MATLAB's
    rgb2ycbcr); a grey (N, 1, H, W) image is taken as R = G = B."""
    images = images.float().expand(-1, 3, -1, -1)
    weights = images.new_tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1)
    return 16.0 + (images * weights).sum(dim=1, keepdim=True)


def shave(images: Tensor, border: int) -> Tensor:
    """``images`` without ``border`` pixels on each side."""
    if border <= 0:
        return images
    return images[..., border:-border, border:-border]


def psnr_y(sr: Tensor, hr: Tensor, border: int) -> Tensor:
    """Per-image PSNR (dB) of the Y channels of RGB images in [0, 1], ``border`` shaved."""
    sr_y, hr_y = shave(rgb_to_y(sr), border), shave(rgb_to_y(hr), border)
    return peak_signal_noise_ratio(sr_y, hr_y, data_range=255.0, reduction="none",
                                   dim=(1, 2, 3))


def ssim_y(sr: Tensor, hr: Tensor, border: int) -> Tensor:
    """Per-image SSIM of the Y channels of RGB images in [0, 1], ``border`` shaved."""
    sr_y, hr_y = shave(rgb_to_y(sr), border), shave(rgb_to_y(hr), border)
    if min(sr_y.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW} pixels a side after "
                         f"removing the {border}-pixel border, got {tuple(sr_y.shape[-2:])}")
    return structural_similarity_index_measure(sr_y, hr_y, data_range=255.0, reduction="none")


def high_frequency_energy(luma: Tensor, scale: int) -> Tensor:
    """Per-image energy of (N, 1, H, W) ``luma`` at frequencies an image downscaled by
    ``scale`` cannot hold: max(|f_x|, |f_y|) > 1 / (2 scale) cycles per pixel, after removing
    the mean and applying a periodic Hann window (whose spectrum spreads a frequency over its
    two neighbouring DFT bins only)."""
    height, width = luma.shape[-2:]
    window = torch.outer(torch.hann_window(height, periodic=True, dtype=torch.float64),
                         torch.hann_window(width, periodic=True, dtype=torch.float64))
    centred = luma.double() - luma.double().mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(centred * window).abs().square()
    fy = torch.fft.fftfreq(height, dtype=torch.float64).abs().view(-1, 1)
    fx = torch.fft.fftfreq(width, dtype=torch.float64).abs().view(1, -1)
    outside = torch.maximum(fy, fx) > 1.0 / (2 * scale)
    return (power * outside).sum(dim=(-3, -2, -1))


def high_frequency_ratio(sr: Tensor, hr: Tensor, scale: int) -> Tensor:
    """Per-image high-frequency energy of the SR image's Y over the HR image's (RGB in [0, 1])."""
    real = high_frequency_energy(rgb_to_y(hr), scale)
    return high_frequency_energy(rgb_to_y(sr), scale) / real.clamp_min(1e-12)


def bicubic_upscale(lr: Tensor, scale: int) -> Tensor:
    """(1, 3, h, w) images in [-1, 1] upscaled by ``scale`` with PIL's bicubic filter (a = -0.5,
    MATLAB's imresize kernel) from their 8-bit values: the benchmarks' bicubic baseline."""
    import numpy as np
    from PIL import Image

    pixels = (quantize(lr[0]) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    height, width = pixels.shape[:2]
    image = Image.fromarray(np.ascontiguousarray(pixels))
    upscaled = np.asarray(image.resize((width * scale, height * scale), Image.Resampling.BICUBIC))
    return torch.from_numpy(upscaled.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1.0


def _lpips(net: str | None) -> Any:
    """torchmetrics' LPIPS with ``net``'s backbone from the torch hub cache; None for none."""
    if net is None:
        return None
    if net not in LPIPS_BACKBONES:
        raise ValueError(f"eval.metrics.super_resolution.lpips={net!r}: must be null or one of "
                         f"{', '.join(LPIPS_BACKBONES)}")
    path = Path(torch.hub.get_dir()) / "checkpoints" / LPIPS_BACKBONES[net]
    if not path.is_file():
        raise ValueError(
            f"eval.metrics.super_resolution.lpips={net}: LPIPS needs torchvision's ImageNet "
            f"backbone {LPIPS_BACKBONES[net]} at {path} (torchmetrics ships only the linear "
            f"heads); download https://download.pytorch.org/models/{LPIPS_BACKBONES[net]} there, "
            "or set lpips=null (offline: sr/hf_ratio is the perceptual proxy)")
    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

    return LearnedPerceptualImagePatchSimilarity(net_type=net, normalize=True).eval()


class SuperResolutionQuality:
    """Evaluator of super-resolution models (``module.translate(lr, "LRtoHR")``) on the data
    module's evaluation pairs (``datamodule.eval_pairs()``); see the module docstring.

    Args:
        lpips: ``alex``, ``vgg`` or ``squeeze`` for LPIPS (backbone weights from the torch hub
            cache); None: no LPIPS.
        max_images: score the first this many evaluation images only (None: all).
        save_images: write each SR image to ``out_dir/sr/<tag>/<name>.png``.
    """

    protocol = "translate"

    def __init__(self, lpips: str | None = None, max_images: int | None = None,
                 save_images: bool = False) -> None:
        if max_images is not None and (isinstance(max_images, bool)
                                       or not isinstance(max_images, int) or max_images < 1):
            raise ValueError(f"eval.metrics.super_resolution.max_images={max_images!r}: must be "
                             "null or an integer >= 1")
        self.lpips_net = lpips
        self._lpips = _lpips(lpips)
        self.max_images = max_images
        self.save_images = bool(save_images)
        self._baseline: dict[str, float] = {}
        self._prepared_for: Any = None

    def prepare(self, datamodule: Any) -> None:
        """Check the data; score bicubic upscaling once (the baseline row)."""
        if self._prepared_for is datamodule:
            return
        if batch_kind(datamodule) != BatchKind.SUPER_RESOLUTION:
            raise ValueError("eval=super_resolution scores super-resolution models on (LR, HR) "
                             "pairs; use an SR data set: data=photos_sr, div2k, set5, set14, "
                             "bsd100 or sr_folder")
        scale = int(datamodule.scale)
        self._baseline = self._score(lambda lr: bicubic_upscale(lr, scale), datamodule,
                                     "bicubic_", None)
        self._prepared_for = datamodule

    def __call__(self, sampler: Callable[..., Tensor], datamodule: Any, out_dir: Path | None,
                 tag: str) -> dict[str, float]:
        self.prepare(datamodule)
        direction = tuple(getattr(sampler, "directions", ()) or ("LRtoHR",))[0]
        folder = Path(out_dir) / "sr" / tag if self.save_images and out_dir is not None else None
        scores = self._score(lambda lr: sampler.translate(lr, direction), datamodule, "", folder)
        return {**scores, **self._baseline}

    def _score(self, upscale: Callable[[Tensor], Tensor], datamodule: Any, prefix: str,
               folder: Path | None) -> dict[str, float]:
        pairs = datamodule.eval_pairs()
        count = len(pairs) if self.max_images is None else min(self.max_images, len(pairs))
        scale = int(datamodule.scale)
        totals: dict[str, float] = {}
        for index in range(count):
            lr, hr = pairs[index]
            with torch.no_grad():
                sr = upscale(lr[None]).float().cpu()
            if tuple(sr.shape[-2:]) != tuple(hr.shape[-2:]):
                raise ValueError(f"the model made a {tuple(sr.shape[-2:])} image from a "
                                 f"{tuple(lr.shape[-2:])} LR image, but the HR image is "
                                 f"{tuple(hr.shape[-2:])}: its scale is not data.scale={scale}")
            sr01, hr01 = quantize(sr), quantize(hr[None])
            try:
                values = {"psnr_y": psnr_y(sr01, hr01, scale), "ssim_y": ssim_y(sr01, hr01, scale),
                          "hf_ratio": high_frequency_ratio(sr01, hr01, scale)}
            except ValueError as error:
                raise ValueError(f"evaluation image {pairs.names[index]}: {error}") from error
            if self._lpips is not None:
                with torch.no_grad():
                    values["lpips"] = self._lpips(sr01, hr01)
            for name, value in values.items():
                totals[name] = totals.get(name, 0.0) + float(value.sum())
            if folder is not None:
                from gan_lab.outputs import ImageOutput, write

                pixels = sr01[0].float().cpu()
                pixels = pixels.expand(3, -1, -1) if pixels.shape[0] == 1 else pixels
                write(ImageOutput(pixels), folder / Path(pairs.names[index]).stem)
        return {f"sr/{prefix}{name}": total / count for name, total in totals.items()}
