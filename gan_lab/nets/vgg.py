"""VGG19 feature maps for perceptual losses: torchvision's VGG19 with its ImageNet weights.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition"
(ICLR 2015), configuration E, as torchvision defines it (``torchvision.models.vgg19``). The
weights are torchvision's file ``vgg19-dcbb9e9d.pth``, read from a configured path or from the
torch hub cache (``$TORCH_HOME/hub/checkpoints/``, where torchvision itself keeps it), through
the auxiliary-net provider (:func:`vgg19_spec`, gan_lab.auxiliary); without it :func:`load_vgg19`
raises one line naming the file, the places it looked and the option to set. Only the
convolutional part (``features``) is kept: feature-map losses never use the classifier.

Layers are named as in the papers: ``conv<b>_<i>`` / ``relu<b>_<i>`` for the i-th convolution
of block b (and its activation), ``pool<b>`` for the block's max-pool. SRGAN's VGG_{i,j}, "the
feature map obtained by the j-th convolution (after activation) before the i-th maxpooling
layer" (Ledig et al. 2017, sec. 2.2.2), is ``relu<i>_<j>``: VGG54 = ``relu5_4`` (torchvision
index 35), VGG22 = ``relu2_2`` (index 8). pix2pixHD / SPADE's VGG loss reads relu1_1, relu2_1,
relu3_1, relu4_1, relu5_1.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from gan_lab.auxiliary import AuxiliarySpec, Published, provide

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "VGG19_URL", "VGG19_WEIGHTS_FILE", "VGGFeatures",
           "layer_names", "load_vgg19", "vgg19_spec"]

VGG19_WEIGHTS_FILE = "vgg19-dcbb9e9d.pth"
VGG19_URL = "https://download.pytorch.org/models/" + VGG19_WEIGHTS_FILE
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def layer_names(features: nn.Sequential) -> list[str]:
    """The paper-style name of each module of a VGG ``features`` sequence, in order."""
    names, block, conv, last = [], 1, 0, ""
    for module in features:
        if isinstance(module, nn.Conv2d):
            conv += 1
            last = f"{block}_{conv}"
            names.append(f"conv{last}")
        elif isinstance(module, nn.ReLU):
            names.append(f"relu{last}")
        elif isinstance(module, nn.MaxPool2d):
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:
            names.append(f"{type(module).__name__.lower()}{last}")
    return names


def _vgg19_features() -> nn.Sequential:
    """torchvision's VGG19 ``features``, built without allocating (weights come from a file)."""
    import torchvision

    with torch.device("meta"):  # the 140M-parameter net is never materialised at random
        features = torchvision.models.vgg19(weights=None).features
    for module in features:
        if isinstance(module, nn.ReLU):
            module.inplace = False  # an inplace ReLU would overwrite a returned conv output
    return features


def vgg19_spec(weights_path: str | Path | None = None, *, download: bool = False,
               key: str = "vgg_weights") -> AuxiliarySpec:
    """torchvision's VGG19 ``features`` as a frozen auxiliary net (gan_lab.auxiliary): from
    ``weights_path`` (the value of the config key ``key``), else ``vgg19-dcbb9e9d.pth`` in the
    torch hub cache, fetched from download.pytorch.org first when ``download``."""
    return AuxiliarySpec("VGG19", key, _features_from_state, weights=weights_path,
                         published=Published(VGG19_WEIGHTS_FILE, VGG19_URL), download=download,
                         origin="torchvision")


def _features_from_state(state: object) -> nn.Sequential:
    """VGG19's ``features`` holding the ``features.*`` entries of torchvision's state_dict."""
    if not isinstance(state, dict):
        raise TypeError(f"it holds a {type(state).__name__}, not a state_dict")
    features = _vgg19_features()
    entries = {name[len("features."):]: value for name, value in state.items()
               if isinstance(name, str) and name.startswith("features.")}
    features.load_state_dict(entries, strict=True, assign=True)
    return features


def load_vgg19(weights_path: str | Path | None = None, *, download: bool = False,
               key: str = "vgg_weights") -> nn.Sequential:
    """torchvision's VGG19 ``features`` with the ImageNet weights, in eval mode, frozen.

    Args:
        weights_path: torchvision's state_dict file (all of it, or only its ``features.*``
            entries); None: ``vgg19-dcbb9e9d.pth`` in the torch hub cache.
        download: when no path is given and the cache lacks the file, fetch it from
            download.pytorch.org into the cache first (an offline failure is the same one line).
        key: the config key that names the file, for messages.

    Raises:
        ValueError: one line (gan_lab.auxiliary), when the file is missing or is not VGG19's
            weights.
    """
    return provide(vgg19_spec(weights_path, download=download, key=key))


class VGGFeatures(nn.Module):
    """The feature maps of ``layers`` (names as :func:`layer_names`, or indices into
    ``features``) for images x (B, 3, H, W), returned as a list in the order asked.

    Args:
        features: a VGG ``features`` sequence (:func:`load_vgg19`); only the modules up to
            the deepest requested layer are kept.
        layers: e.g. ``["relu5_4"]`` (SRGAN's VGG54) or ``["relu1_1", ..., "relu5_1"]``.
        input_range: the range of the images given, ``(-1, 1)`` (gan_lab's) or ``(0, 1)``;
            they are mapped to [0, 1] first.
        normalize: then normalise with the ImageNet mean and std, as torchvision's weights
            expect (pix2pixHD's VGG loss feeds its images without it: ``normalize=False``).
    """

    def __init__(self, features: nn.Sequential, layers: Sequence[str | int],
                 input_range: Sequence[float] = (-1.0, 1.0), normalize: bool = True) -> None:
        super().__init__()
        names = layer_names(features)
        if isinstance(layers, str | int) or not list(layers):
            raise ValueError(f"layers={layers!r}: give a non-empty list of VGG layers, e.g. "
                             "['relu5_4']")
        self.indices: list[int] = []
        for layer in layers:
            if isinstance(layer, int) and not isinstance(layer, bool) and 0 <= layer < len(names):
                self.indices.append(layer)
            elif layer in names:
                self.indices.append(names.index(layer))
            else:
                raise ValueError(f"VGG layer {layer!r}: not one of {', '.join(names)} "
                                 f"(or an index below {len(names)})")
        self.layers = [names[i] for i in self.indices]
        self.features = features[: max(self.indices) + 1]
        low, high = (float(v) for v in input_range)
        if not high > low:
            raise ValueError(f"input_range={tuple(input_range)}: must be (low, high), low < high")
        mean = torch.tensor(IMAGENET_MEAN if normalize else (0.0, 0.0, 0.0)).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD if normalize else (1.0, 1.0, 1.0)).view(1, 3, 1, 1)
        # x01 = (x - low) / (high - low); y = (x01 - mean) / std = x * scale + shift
        self.register_buffer("scale", 1.0 / ((high - low) * std), persistent=False)
        self.register_buffer("shift", (-low / (high - low) - mean) / std, persistent=False)

    def forward(self, x: Tensor) -> list[Tensor]:
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"VGGFeatures takes (B, 3, H, W) images, got {tuple(x.shape)}")
        h = x.expand(-1, 3, -1, -1) * self.scale + self.shift  # grey is repeated to RGB
        outputs: dict[int, Tensor] = {}
        for index, module in enumerate(self.features):
            h = module(h)
            if index in self.indices:
                outputs[index] = h
        return [outputs[index] for index in self.indices]
