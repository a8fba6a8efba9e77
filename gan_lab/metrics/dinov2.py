"""DINOv2 features for the Frechet distance and friends (FD_DINOv2).

Stein et al. 2023 ("Exposing flaws of generative model evaluation metrics and their unfair
treatment of diffusion models"), sec. 4-5: the self-supervised DINOv2 ViT-L/14 (Oquab et al.
2023) gives a feature space in which FD, KID, precision/recall and density/coverage agree with
human judgements far better than in Inception's; they recommend FD_DINOv2 over FID.

torch-fidelity 0.4.0 has a DINOv2 extractor, but it fetches the model code from GitHub through
``torch.hub.load`` and refuses a local weights file; so the network is re-implemented here
(:class:`DinoVisionTransformer`, the parameter names and shapes of Meta's
``dinov2/models/vision_transformer.py`` as built by its hub entries: 518px position grid,
patch 14, LayerScale, no register tokens) and loads Meta's ``dinov2_vit*14_pretrain.pth``
files as they are. The preprocessing is torch-fidelity's: 8-bit RGB (grey repeated to 3
channels), resized to 224x224 with its TF1-compatible bilinear interpolation, normalised with
the ImageNet mean and std; the feature is the final-norm CLS token (384 to 1536-d).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor, nn
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from gan_lab.auxiliary import AuxiliarySpec, Published, file_identity, hub_path, locate, provide
from gan_lab.metrics.extractor import FeatureExtractor, to_uint8

__all__ = ["DINOV2_MODELS", "DinoV2Extractor", "DinoVisionTransformer", "dinov2_url",
           "dinov2_weights_file", "default_dinov2_weights_path"]

# torch-fidelity's names -> (hub name, embed dim, depth, heads, ffn)
DINOV2_MODELS = {
    "dinov2-vit-s-14": ("dinov2_vits14", 384, 12, 6, "mlp"),
    "dinov2-vit-b-14": ("dinov2_vitb14", 768, 12, 12, "mlp"),
    "dinov2-vit-l-14": ("dinov2_vitl14", 1024, 24, 16, "mlp"),
    "dinov2-vit-g-14": ("dinov2_vitg14", 1536, 40, 24, "swiglu"),
}
PATCH, GRID_IMAGE, INPUT_SIZE = 14, 518, 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check_model(model: str) -> str:
    if model not in DINOV2_MODELS:
        raise ValueError(f"eval.dinov2_model={model!r}: one of {list(DINOV2_MODELS)}")
    return DINOV2_MODELS[model][0]


def dinov2_weights_file(model: str = "dinov2-vit-l-14") -> str:
    """Meta's file name of ``model``'s weights, e.g. ``dinov2_vitl14_pretrain.pth``."""
    return f"{_check_model(model)}_pretrain.pth"


def dinov2_url(model: str = "dinov2-vit-l-14") -> str:
    hub = _check_model(model)
    return f"https://dl.fbaipublicfiles.com/dinov2/{hub}/{hub}_pretrain.pth"


def default_dinov2_weights_path(model: str = "dinov2-vit-l-14") -> Path:
    """Where ``torch.hub`` keeps the file: ``$TORCH_HOME/hub/checkpoints/<file>``."""
    return hub_path(dinov2_weights_file(model))


# --------------------------------------------------------------------------- the network


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        x = nn.functional.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _SwiGLU(nn.Module):
    """DINOv2's ``SwiGLUFFNFused`` (ViT-g): hidden width 2/3 of 4·dim, rounded up to 8."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        hidden = (int(hidden * 2 / 3) + 7) // 8 * 8
        self.w12, self.w3 = nn.Linear(dim, 2 * hidden), nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.w3(nn.functional.silu(x1) * x2)


class _LayerScale(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gamma


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, ffn: str) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, heads)
        self.mlp = (_SwiGLU if ffn == "swiglu" else _Mlp)(dim, 4 * dim)
        self.ls1, self.ls2 = _LayerScale(dim), _LayerScale(dim)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class _PatchEmbed(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, PATCH, PATCH)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoVisionTransformer(nn.Module):
    """DINOv2's ViT as its hub entries build it; ``forward`` gives the final-norm CLS token.

    The 37x37 position grid (518px / 14) is resized bicubically to the input's patch grid, with
    DINOv2's 0.1 offset on the scale factor.
    """

    def __init__(self, model: str = "dinov2-vit-l-14") -> None:
        super().__init__()
        _check_model(model)
        _, dim, depth, heads, ffn = DINOV2_MODELS[model]
        grid = GRID_IMAGE // PATCH
        self.patch_embed = _PatchEmbed(dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))  # unused at inference; in the file
        self.blocks = nn.ModuleList(_Block(dim, heads, ffn) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

    def _positions(self, h: int, w: int) -> Tensor:
        pos = self.pos_embed.float()
        n = pos.shape[1] - 1
        if n == h * w and h == w:
            return pos
        m = int(math.sqrt(n))
        patches = nn.functional.interpolate(
            pos[:, 1:].reshape(1, m, m, -1).permute(0, 3, 1, 2),
            scale_factor=((h + 0.1) / m, (w + 0.1) / m), mode="bicubic")
        patches = patches.permute(0, 2, 3, 1).reshape(1, h * w, -1)
        return torch.cat((pos[:, :1], patches), dim=1)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2] // PATCH, x.shape[-1] // PATCH
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(len(x), -1, -1), x), dim=1)
        x = x + self._positions(h, w).to(x.dtype)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 0]


# --------------------------------------------------------------------------- the extractor


class DinoV2Extractor(FeatureExtractor):
    """DINOv2 CLS-token features (Stein et al. 2023): FD_DINOv2 is ``dinov2/fid``.

    Args:
        weights: the weights file (``eval.dinov2_weights``); ``None``: the torch hub cache
            (:func:`default_dinov2_weights_path`), downloaded there first when ``download``.
        model: ``dinov2-vit-l-14`` (Stein et al.'s choice), ``-vit-s-14``, ``-vit-b-14`` or
            ``-vit-g-14`` (torch-fidelity's names).
        download: fetch Meta's file into the torch hub cache when it is missing.
        batch_size: images per forward pass.

    No class logits: ``logits`` are ``(N, 0)`` and ImageQuality refuses ``is``. The net comes
    from the auxiliary-net provider (gan_lab.auxiliary): a missing file is its one-line
    ``ValueError``, raised here, before any training starts; the file is loaded with
    ``torch.load(weights_only=True)``.
    """

    name = "dinov2"
    has_logits = False

    def __init__(self, weights: str | None = None, model: str = "dinov2-vit-l-14",
                 download: bool = True, batch_size: int = 32) -> None:
        super().__init__(batch_size=batch_size)
        self.model = model
        self.spec = AuxiliarySpec(
            model, "eval.dinov2_weights", self._network_from_state, weights=weights,
            published=Published(dinov2_weights_file(model), dinov2_url(model)),
            download=download, origin="Meta")
        self.weights = locate(self.spec).absolute()
        self.identity = f"{model}-{file_identity(self.weights)}"
        self._net: DinoVisionTransformer | None = None

    def _network_from_state(self, state: dict) -> DinoVisionTransformer:
        net = DinoVisionTransformer(self.model)
        missing, _ = net.load_state_dict(state, strict=False)
        missing = [key for key in missing if key != "mask_token"]
        if missing:
            raise KeyError(f"missing {len(missing)} parameters, e.g. {missing[:3]}")
        return net

    def network(self) -> DinoVisionTransformer:
        if self._net is None:
            self._net = provide(replace(self.spec, weights=self.weights))
        return self._net

    @staticmethod
    def preprocess(images: Tensor) -> Tensor:
        """torch-fidelity's DINOv2 input: 8-bit RGB, bilinear (TF1) to 224x224, ImageNet-normalised."""
        pixels = to_uint8(images)
        if pixels.shape[1] == 1:
            pixels = pixels.expand(-1, 3, -1, -1)
        x = interpolate_bilinear_2d_like_tensorflow1x(
            pixels.float(), size=(INPUT_SIZE, INPUT_SIZE), align_corners=False)
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1) * 255
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1) * 255
        return (x - mean) / std

    @torch.no_grad()
    def forward_batch(self, images: Tensor) -> tuple[Tensor, Tensor]:
        net = self.network().to(self.device)
        features = net(self.preprocess(images.to(self.device)))
        return features, features.new_zeros(len(features), 0)
