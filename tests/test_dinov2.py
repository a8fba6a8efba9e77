"""DINOv2 features (FD_DINOv2, Stein et al. 2023): the network, its weights file, the extractor."""

from __future__ import annotations

import math
import types
from pathlib import Path

import pytest
import torch
from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

from gan_lab.metrics import DinoV2Extractor, ImageQuality
from gan_lab.metrics.dinov2 import (
    DinoVisionTransformer,
    default_dinov2_weights_path,
    dinov2_url,
    dinov2_weights_file,
)
from gan_lab.metrics.extractor import to_uint8
from tests.conftest import TINY_DCGAN, make_cfg

SMALL = "dinov2-vit-s-14"


@pytest.fixture(autouse=True)
def _private_caches(tmp_path, monkeypatch):
    """Nothing here may touch the real ~/.cache (torch hub or gan_lab's eval cache)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


@pytest.fixture(scope="module")
def net() -> DinoVisionTransformer:
    torch.manual_seed(0)
    return DinoVisionTransformer(SMALL).eval()


@pytest.fixture(scope="module")
def weights(net, tmp_path_factory) -> Path:
    """A stand-in for Meta's dinov2_vits14_pretrain.pth: same keys and shapes, random values."""
    path = tmp_path_factory.mktemp("dinov2") / dinov2_weights_file(SMALL)
    torch.save(net.state_dict(), path)
    return path


def test_the_network_has_the_parameters_of_metas_files(net):
    state = net.state_dict()
    # Meta's ViT-S/14 (hub entry dinov2_vits14): 518px grid of 37x37 patches + CLS, 12 blocks
    # with LayerScale, 21M parameters; the file also holds the (unused) mask token.
    assert state["pos_embed"].shape == (1, 37 * 37 + 1, 384)
    assert state["patch_embed.proj.weight"].shape == (384, 3, 14, 14)
    assert state["cls_token"].shape == (1, 1, 384) and state["mask_token"].shape == (1, 384)
    assert state["blocks.11.attn.qkv.weight"].shape == (3 * 384, 384)
    assert state["blocks.11.mlp.fc1.weight"].shape == (4 * 384, 384)
    assert state["blocks.11.ls2.gamma"].shape == (384,) and "blocks.12.ls1.gamma" not in state
    assert state["norm.weight"].shape == (384,)
    assert 21e6 < sum(v.numel() for v in state.values()) < 23e6
    assert dinov2_weights_file("dinov2-vit-l-14") == "dinov2_vitl14_pretrain.pth"
    assert dinov2_url(SMALL) == (
        "https://dl.fbaipublicfiles.com/dinov2/dinov2_vits14/dinov2_vits14_pretrain.pth")
    with pytest.raises(ValueError, match="dinov2_model"):
        dinov2_weights_file("dinov2-vit-h-14")


def test_position_grid_is_resized_bicubically_to_the_input(net):
    # 224 / 14 = 16: the 37x37 grid becomes 16x16 (DINOv2's scale factor (16 + 0.1) / 37)
    positions = net._positions(16, 16)
    assert positions.shape == (1, 16 * 16 + 1, 384)
    assert torch.equal(positions[:, 0], net.pos_embed[:, 0])
    assert torch.equal(net._positions(37, 37), net.pos_embed)
    assert math.floor(37 * (16.1 / 37)) == 16


def test_stand_in_weights_give_features_and_match_torch_fidelity(weights, net):
    extractor = DinoV2Extractor(weights=str(weights), model=SMALL, batch_size=2)
    assert extractor.weights == weights.absolute()
    assert extractor.identity.startswith(f"{SMALL}-{weights.name}-")
    grey = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    features, logits = extractor(grey)
    assert features.shape == (3, 384) and features.dtype == torch.float64
    assert logits.shape == (3, 0) and torch.isfinite(features).all()
    # grey images are the same picture in three channels
    rgb, _ = extractor(grey.expand(-1, 3, -1, -1))
    assert torch.equal(features, rgb)
    # torch-fidelity's DINOv2 forward (8-bit input, TF1 bilinear to 224, ImageNet mean/std)
    # with the same network gives the same features
    loaded = extractor.network()
    for a, b in zip(loaded.state_dict().values(), net.state_dict().values()):
        assert torch.equal(a, b)
    fidelity = types.SimpleNamespace(model=net, feature_extractor_internal_dtype=torch.float32,
                                     features_list=["dinov2"], INPUT_IMAGE_SIZE=224)
    with torch.no_grad():
        (theirs,) = FeatureExtractorDinoV2.forward(
            fidelity, to_uint8(grey).expand(-1, 3, -1, -1).contiguous())
    assert torch.allclose(features.float(), theirs, atol=1e-4)


def test_default_path_is_the_torch_hub_cache(weights, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    expected = tmp_path / "th" / "hub" / "checkpoints" / "dinov2_vits14_pretrain.pth"
    assert default_dinov2_weights_path(SMALL) == expected

    def no_download(*args, **kwargs):
        raise AssertionError("must not download when the file is there")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    expected.parent.mkdir(parents=True)
    expected.symlink_to(weights)
    assert DinoV2Extractor(model=SMALL).weights == expected.absolute()


def test_missing_weights_are_one_line_naming_the_file_the_places_and_the_url(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    default = default_dinov2_weights_path(SMALL)
    with pytest.raises(ValueError) as info:
        DinoV2Extractor(model=SMALL, download=False)
    message = str(info.value)
    assert "\n" not in message and "eval.dinov2_weights" in message
    assert "dinov2_vits14_pretrain.pth" in message and str(default) in message
    assert dinov2_url(SMALL) in message
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(ValueError) as info:
        DinoV2Extractor(weights=str(missing), model=SMALL)
    assert "\n" not in str(info.value)
    assert str(missing) in str(info.value) and str(default) in str(info.value)

    def offline(url, dst, **kwargs):
        Path(dst).write_bytes(b"partial")
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(ValueError, match="eval.dinov2_weights"):
        DinoV2Extractor(model=SMALL)
    assert not default.exists()


def test_a_file_of_another_model_is_refused_in_one_line(weights, tmp_path):
    base = DinoV2Extractor(weights=str(weights), model="dinov2-vit-b-14")  # exists: accepted
    with pytest.raises(ValueError, match="not a dinov2-vit-b-14 weights file") as info:
        base(torch.zeros(1, 3, 8, 8))
    assert "\n" not in str(info.value) and str(weights) in str(info.value)
    partial = tmp_path / "partial.pth"
    torch.save({"norm.weight": torch.ones(384)}, partial)
    with pytest.raises(ValueError, match="missing"):
        DinoV2Extractor(weights=str(partial), model=SMALL)(torch.zeros(1, 3, 8, 8))


def test_image_quality_refuses_is_on_dinov2_features(weights):
    extractor = DinoV2Extractor(weights=str(weights), model=SMALL)
    with pytest.raises(ValueError, match="no Inception Score"):
        ImageQuality(extractor, num_samples=20, metrics=["fid", "is"])


def test_training_with_eval_dinov2_reports_fd_dinov2(weights, tmp_path):
    from gan_lab.train import run

    cfg = make_cfg(tmp_path / "run", *TINY_DCGAN, "iterations=2", "eval=dinov2",
                   f"eval.dinov2_weights={weights}", f"eval.dinov2_model={SMALL}",
                   "eval.num_samples=8", f"eval.cache_dir={tmp_path / 'cache'}",
                   "eval.metrics.image_quality.kid_subsets=5",
                   "eval.metrics.image_quality.kid_subset_size=4")
    objective = run(cfg)
    assert objective is not None and math.isfinite(objective) and objective > 0
    with (tmp_path / "run" / "eval" / "metrics.csv").open() as f:
        header = f.readline().strip().split(",")
    assert {"dinov2/fid", "dinov2/kid", "dinov2/precision", "dinov2/coverage"} <= set(header)
    assert not any(name.startswith("dinov2/is") for name in header)
    assert len(list((tmp_path / "cache").glob(f"real-{SMALL}-*.pt"))) == 1
