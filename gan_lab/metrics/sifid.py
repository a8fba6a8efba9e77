"""SIFID and sample diversity: SinGAN's measures of single-image generators (Shaham et al. 2019,
"SinGAN: Learning a Generative Model from a Single Natural Image", sec. 3.1-3.2, Tables 1-2).

SIFID, the Single Image FID: the Frechet distance between Gaussians fitted to the deep features
of the real image and of one generated image, where every position of the feature map is one
sample (not one vector per image, as FID). The features are InceptionV3's at the output of the
convolution before its second pooling layer (192 channels), at the image's own size: the
official SIFID code (tamarott/SinGAN, SIFID/sifid_score.py and inception.py: torchvision's
ImageNet InceptionV3, ``dims=192``, no resizing, inputs scaled to [-1, 1]); ``layer=64`` takes
the map before the first pooling layer (its ``dims=64``). torch-fidelity's '64' / '192' features
cannot serve: they are averaged over the positions of a 299x299 resize.

The weights: a file at ``weights``, else torchvision's ``inception_v3_google-0cc3c7bd.pth`` in
the torch hub cache (what the official code loads), else torch-fidelity's FID weights there
(gan_lab.metrics.inception, the same layer names). Without any (offline machines), ``features``
"auto" uses a stated stand-in: the same layers with fixed random weights (seeded He-normal
convolutions, batch norm as identity), named "random" in every key, whose distances are not on
the paper's scale but order samples alike (random convolutional features capture patch
statistics, Ustyuzhaninov et al. 2017, "What does it take to generate natural textures?").

Diversity (sec. 3.1, Table 1): the standard deviation of each pixel value over the generated
samples, averaged over the pixels (and channels), divided by the standard deviation of the
training image's pixel values.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gan_lab.auxiliary import unreadable as unreadable_weights
from gan_lab.metrics.extractor import to_uint8
from gan_lab.metrics.image_quality import fid
from gan_lab.metrics.inception import INCEPTION_WEIGHTS_FILE

__all__ = ["FEATURES", "TORCHVISION_INCEPTION_FILE", "InceptionStem", "SIFIDFeatures",
           "SinGANQuality", "diversity", "sifid"]

log = logging.getLogger(__name__)

TORCHVISION_INCEPTION_FILE = "inception_v3_google-0cc3c7bd.pth"
FEATURES = ("auto", "inception", "random")
LAYERS = (64, 192)
STEM_LAYERS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1",
               "Conv2d_4a_3x3")


class InceptionStem(nn.Module):
    """InceptionV3's first layers with torchvision's names (``Conv2d_1a_3x3`` ...
    ``Conv2d_4a_3x3``, each conv + batch norm + ReLU), returning the feature map before the first
    (``layer=64``) or the second (``layer=192``) max pooling, as the official SIFID's blocks."""

    def __init__(self, layer: int = 192) -> None:
        from torchvision.models.inception import BasicConv2d

        super().__init__()
        if layer not in LAYERS:
            raise ValueError(f"eval.metrics.singan.extractor.layer={layer!r}: must be 64 or 192")
        self.layer = layer
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)

    def forward(self, x: Tensor) -> Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        if self.layer == 64:
            return x
        return self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(self.maxpool1(x)))


def random_stem(layer: int, seed: int = 0) -> InceptionStem:
    """The stand-in: :class:`InceptionStem` with He-normal convolutions from a fixed seed and
    batch norm as the identity (scale 1, shift 0, running mean 0, variance 1)."""
    stem = InceptionStem(layer)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in stem.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.in_channels * math.prod(module.kernel_size)
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator)
                                    * math.sqrt(2.0 / fan_in))
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()
    return stem.eval()


def inception_candidates() -> list[Path]:
    """Where Inception weights are looked for without ``weights``: torchvision's file, then
    torch-fidelity's, in the torch hub cache."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    return [folder / TORCHVISION_INCEPTION_FILE, folder / INCEPTION_WEIGHTS_FILE]


def load_inception_stem(path: Path, layer: int) -> InceptionStem:
    """The stem with the layers of an InceptionV3 weights file (torchvision's or torch-fidelity's
    names); one-line ValueError when the file does not load or lacks those layers."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        stem = InceptionStem(layer)
        found = {k: v for k, v in state.items() if k.split(".")[0] in STEM_LAYERS}
        missing = [k for k in stem.load_state_dict(found, strict=False).missing_keys
                   if not k.endswith("num_batches_tracked")]  # older files lack the counters
        if missing:
            raise KeyError(f"no {', '.join(missing[:2])}{' ...' if len(missing) > 2 else ''}")
    except Exception as error:
        raise unreadable_weights("eval.sifid_weights", path, "InceptionV3 weights file (with "
                                 "Conv2d_1a_3x3 ... Conv2d_4a_3x3)", error) from error
    return stem.eval()


class SIFIDFeatures:
    """Per-position deep features of images for SIFID (see the module docstring).

    Args:
        features: "inception" (refused in one line when no weights file is found), "random"
            (the stand-in) or "auto" (inception when found, else random, said in the log).
        weights: an InceptionV3 weights file; None: the torch hub cache.
        layer: 192 (official) or 64.
        seed: of the random stand-in.

    ``name`` (set by :meth:`prepare`) says which features were used: "inception" (torchvision's
    weights or another file), "inception_fid" (torch-fidelity's FID weights) or "random".
    """

    def __init__(self, features: str = "auto", weights: str | None = None, layer: int = 192,
                 seed: int = 0) -> None:
        if features not in FEATURES:
            raise ValueError(f"eval.metrics.singan.extractor.features={features!r}: must be one "
                             f"of {', '.join(FEATURES)}")
        if layer not in LAYERS:
            raise ValueError(f"eval.metrics.singan.extractor.layer={layer!r}: must be 64 or 192")
        self.features, self.layer, self.seed = features, int(layer), int(seed)
        self.weights = None if weights in (None, "") else Path(str(weights)).expanduser()
        self.name: str | None = None
        self.net: nn.Module | None = None
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def prepare(self) -> None:
        if self.net is not None:
            return
        path = self.weights
        if path is None and self.features != "random":
            path = next((p for p in inception_candidates() if p.is_file()), None)
        if self.features != "random" and path is not None:
            if not path.is_file():
                raise ValueError(f"eval.sifid_weights: no InceptionV3 weights at {path}")
            self.net = load_inception_stem(path, self.layer)
            self.name = "inception_fid" if path.name == INCEPTION_WEIGHTS_FILE else "inception"
        elif self.features == "inception":
            places = " or ".join(str(p) for p in inception_candidates())
            raise ValueError(
                "eval.metrics.singan.extractor.features=inception: no InceptionV3 weights at "
                f"{places}; download {TORCHVISION_INCEPTION_FILE} (torchvision's ImageNet "
                "weights, as the official SIFID) there or set eval.sifid_weights=FILE, or use "
                "features=random (a stand-in) offline")
        else:
            self.net = random_stem(self.layer, self.seed)
            self.name = "random"
            if self.features == "auto":
                log.info("SIFID: no InceptionV3 weights found; using the random-feature stand-in "
                         "(keys singan/sifid_random_*; not on the paper's scale)")
        self.net = self.net.to(self.device)

    @torch.no_grad()
    def __call__(self, images: Tensor) -> list[Tensor]:
        """One (positions, channels) float64 matrix per image of ``images`` in [-1, 1]."""
        self.prepare()
        # Images as the official code reads its PNG/JPEG files: 8-bit, then to [-1, 1].
        pixels = to_uint8(images).float() / 127.5 - 1.0
        if pixels.shape[1] == 1:
            pixels = pixels.expand(-1, 3, -1, -1)
        with torch.autocast(self.device.type, enabled=False):
            maps = self.net(pixels.to(self.device))
        if maps.shape[-2] * maps.shape[-1] < 2:
            raise ValueError(f"SIFID: images of {images.shape[-2]}x{images.shape[-1]} give a "
                             f"{maps.shape[-2]}x{maps.shape[-1]} feature map at layer "
                             f"{self.layer}; use larger images or layer=64")
        return [m.flatten(1).t().to("cpu", torch.float64) for m in maps]


def sifid(real: Tensor, fake: Tensor) -> float:
    """FID between two (positions, channels) feature sets, each position a sample."""
    return fid(real, fake)


def diversity(samples: Tensor, real: Tensor) -> float:
    """Mean over pixels of the std over ``samples`` (N, C, H, W), over the std of ``real``'s
    pixel values (C, H, W); population standard deviations (as numpy's default)."""
    spread = samples.double().std(dim=0, correction=0).mean()
    return float(spread / real.double().std(correction=0))


class SinGANQuality:
    """Evaluator (``eval=singan``): SIFID and diversity of samples from each start scale.

    For each k of ``start_scales`` (0: the paper's generation from scale N, 1: from N - 1), draw
    ``num_samples`` samples with ``module.sample_from_scale(n, k, generator)`` (scales below k
    reconstruct the training image) and report ``singan/sifid_<features>_from<k>`` (the mean
    SIFID to the training image) and ``singan/diversity_from<k>``; a sheet of the first samples
    goes to ``out_dir/<tag>_from<k>.png``. Start scales above those trained so far are skipped
    (periodic evaluations during training).
    """

    protocol = "sample_from_scale"

    def __init__(self, extractor: SIFIDFeatures, num_samples: int = 50,
                 start_scales: tuple[int, ...] | list[int] = (0, 1), seed: int = 0,
                 chunk: int = 10) -> None:
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 2:
            raise ValueError(f"eval.metrics.singan.num_samples={num_samples!r}: must be an "
                             "integer >= 2 (diversity is a spread over samples)")
        scales = list(start_scales)
        if not scales or any(isinstance(k, bool) or not isinstance(k, int) or k < 0
                             for k in scales):
            raise ValueError(f"eval.metrics.singan.start_scales={start_scales!r}: must be a "
                             "list of scale indices >= 0 (0: generation from the coarsest)")
        self.extractor = extractor
        self.num_samples, self.start_scales = num_samples, scales
        self.seed, self.chunk = int(seed), max(1, int(chunk))

    def prepare(self, datamodule: Any) -> None:
        if not hasattr(datamodule, "image"):
            raise ValueError("eval=singan scores a model of one image; use data=single_image")
        self.extractor.prepare()

    def samples(self, module: Any, start_scale: int) -> Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        parts, left = [], self.num_samples
        while left > 0:
            count = min(self.chunk, left)
            parts.append(module.sample_from_scale(count, start_scale, generator=generator)
                         .float().cpu())
            left -= count
        return torch.cat(parts)

    def __call__(self, sampler: Any, datamodule: Any, out_dir: Path | None,
                 tag: str) -> dict[str, float]:
        from gan_lab.kinds import SampleKind
        from gan_lab.outputs import render, write
        from gan_lab.visuals import Visual

        module = sampler.module
        real = datamodule.image[None].float()
        real_features = self.extractor(real)[0]
        results: dict[str, float] = {}
        for k in self.start_scales:
            if k > module.top_scale:
                continue
            samples = self.samples(module, k)
            scores = [sifid(real_features, f) for f in self.extractor(samples)]
            results[f"singan/sifid_{self.extractor.name}_from{k}"] = sum(scores) / len(scores)
            results[f"singan/diversity_from{k}"] = diversity(samples, real[0])
            if out_dir is not None:
                Path(out_dir).mkdir(parents=True, exist_ok=True)
                write(render(Visual(SampleKind.IMAGES, torch.cat([real, samples[:7]]), nrow=8)),
                      Path(out_dir) / f"{tag}_from{k}")
        return results
