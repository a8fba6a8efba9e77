"""The standard InceptionV3 feature extractor of FID, KID and IS (torch-fidelity's network).

The weights are torch-fidelity's conversion of the TF graph of Heusel et al. (2017)
(``weights-inception-2015-12-05-6726825d.pth``); images are resized to 299x299 by torch-fidelity's
bilinear interpolation that reproduces TF 1.x (no antialiasing), so the numbers are comparable
with papers that used the TF FID code. Features are the 2048-d pool3 activations; IS uses the
unbiased 1008-way logits, as torch-fidelity does.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor

from gan_lab.metrics.extractor import FeatureExtractor, to_uint8
from gan_lab.nets.weights import download_weights, unreadable_weights

__all__ = ["INCEPTION_URL", "INCEPTION_WEIGHTS_FILE", "InceptionExtractor", "default_weights_path"]

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_WEIGHTS_FILE
)


def default_weights_path() -> Path:
    """Where torch hub keeps downloaded weights: ``$TORCH_HOME/hub/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILE


class InceptionExtractor(FeatureExtractor):
    """torch-fidelity's InceptionV3: pool3 features (2048-d) and unbiased logits (1008).

    Args:
        weights: the weights file (``eval.inception_weights``); ``None``: the torch hub cache
            (:func:`default_weights_path`), downloaded there first when ``download`` is true.
        download: fetch the standard file into the torch hub cache when it is missing.
        batch_size: images per forward pass.

    A missing file is a one-line ``ValueError`` raised here, before any training starts.
    The file is loaded with ``torch.load(weights_only=True)`` first, so a file that would run
    code when unpickled is refused.
    """

    name = "inception"

    def __init__(self, weights: str | None = None, download: bool = True,
                 batch_size: int = 64) -> None:
        super().__init__(batch_size=batch_size)
        path = Path(weights).expanduser() if weights not in (None, "") else default_weights_path()
        if not path.is_file() and weights in (None, "") and download:
            download_weights(INCEPTION_URL, path)
        if not path.is_file():
            raise ValueError(
                f"eval.inception_weights: no Inception weights at {path}; download "
                f"{INCEPTION_URL} and put it at {default_weights_path()} "
                "(or set eval.inception_weights=FILE), or use eval=classifier offline"
            )
        self.weights = path.absolute()
        stat = os.stat(self.weights)
        self.identity = f"inception-{self.weights.name}-{stat.st_size}-{stat.st_mtime_ns}"
        self._net: torch.nn.Module | None = None

    def network(self) -> torch.nn.Module:
        if self._net is None:
            from torch_fidelity import FeatureExtractorInceptionV3

            try:
                torch.load(self.weights, map_location="cpu", weights_only=True)
            except Exception as error:
                raise unreadable_weights("eval.inception_weights", self.weights,
                                         "plain weights file", error) from error
            # torch-fidelity reloads the (now known to be plain) file into its network.
            self._net = FeatureExtractorInceptionV3(
                "inception-v3-compat", ["2048", "logits_unbiased"],
                feature_extractor_weights_path=str(self.weights),
            )
        return self._net

    @torch.no_grad()
    def forward_batch(self, images: Tensor) -> tuple[Tensor, Tensor]:
        pixels = to_uint8(images)
        if pixels.shape[1] == 1:
            pixels = pixels.expand(-1, 3, -1, -1)
        net = self.network().to(self.device)
        features, logits = net(pixels.to(self.device))
        return features, logits
