"""The standard InceptionV3 feature extractor of FID, KID and IS (torch-fidelity's network).

The weights are torch-fidelity's conversion of the TF graph of Heusel et al. (2017)
(``weights-inception-2015-12-05-6726825d.pth``); images are resized to 299x299 by torch-fidelity's
bilinear interpolation that reproduces TF 1.x (no antialiasing), so the numbers are comparable
with papers that used the TF FID code. Features are the 2048-d pool3 activations; IS uses the
unbiased 1008-way logits, as torch-fidelity does.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor

from gan_lab.auxiliary import AuxiliarySpec, Published, file_identity, hub_path, locate, provide
from gan_lab.metrics.extractor import FeatureExtractor, to_uint8

__all__ = ["INCEPTION_URL", "INCEPTION_WEIGHTS_FILE", "InceptionExtractor", "default_weights_path"]

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_WEIGHTS_FILE
)


def default_weights_path() -> Path:
    """Where torch hub keeps downloaded weights: ``$TORCH_HOME/hub/checkpoints/<file>``."""
    return hub_path(INCEPTION_WEIGHTS_FILE)


class InceptionExtractor(FeatureExtractor):
    """torch-fidelity's InceptionV3: pool3 features (2048-d) and unbiased logits (1008).

    Args:
        weights: the weights file (``eval.inception_weights``); ``None``: the torch hub cache
            (:func:`default_weights_path`), downloaded there first when ``download`` is true.
        download: fetch the standard file into the torch hub cache when it is missing.
        batch_size: images per forward pass.

    The net comes from the auxiliary-net provider (gan_lab.auxiliary): a missing file is its
    one-line ``ValueError``, raised here, before any training starts. The file is loaded with
    ``torch.load(weights_only=True)`` first, so a file that would run code when unpickled is
    refused.
    """

    name = "inception"

    def __init__(self, weights: str | None = None, download: bool = True,
                 batch_size: int = 64) -> None:
        super().__init__(batch_size=batch_size)
        self.spec = AuxiliarySpec(
            "Inception", "eval.inception_weights", self._network_from_state, weights=weights,
            published=Published(INCEPTION_WEIGHTS_FILE, INCEPTION_URL), download=download,
            origin="torch-fidelity", hint="or use eval=classifier offline")
        self.weights = locate(self.spec).absolute()
        self.identity = f"inception-{file_identity(self.weights)}"
        self._net: torch.nn.Module | None = None

    def _network_from_state(self, state: object) -> torch.nn.Module:
        from torch_fidelity import FeatureExtractorInceptionV3

        # torch-fidelity reloads the file (read as plain weights by the provider) into its net.
        return FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                           feature_extractor_weights_path=str(self.weights))

    def network(self) -> torch.nn.Module:
        if self._net is None:
            self._net = provide(replace(self.spec, weights=self.weights))
        return self._net

    @torch.no_grad()
    def forward_batch(self, images: Tensor) -> tuple[Tensor, Tensor]:
        pixels = to_uint8(images)
        if pixels.shape[1] == 1:
            pixels = pixels.expand(-1, 3, -1, -1)
        net = self.network().to(self.device)
        features, logits = net(pixels.to(self.device))
        return features, logits
