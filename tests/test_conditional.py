"""Conditional GAN: label conditioning in the nets, the module, sampling and sample grids."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from gan_lab.building import build_module
from gan_lab.config import ConfigError
from gan_lab.nets import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    pack,
)
from gan_lab.train import run
from tests.conftest import TINY_DCGAN, make_cfg


def test_conditional_generators_join_an_embedding_with_z():
    g = DCGANGenerator(latent_dim=16, image_size=8, channels=1, width=8, num_classes=10)
    assert g.net[0].in_channels == 16 + 10
    out = g(torch.randn(4, 16), torch.tensor([0, 1, 2, 3]))
    assert out.shape == (4, 1, 8, 8)
    with pytest.raises(ValueError, match="pass labels"):
        g(torch.randn(4, 16))
    mlp = MLPGenerator(latent_dim=2, hidden=[8], num_classes=3, embed_dim=5)
    assert mlp.net[0].in_features == 7 and mlp(torch.randn(6, 2), torch.zeros(6).long()).shape == (6, 2)


def test_concat_discriminator_sees_one_hot_label_maps_per_pack_member():
    d = DCGANDiscriminator(image_size=8, channels=1, width=8, packing=2, num_classes=3)
    assert d.net[0].in_channels == 1 * 2 + 3 * 2
    x, y = torch.randn(6, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    packed_y = pack(y[:, None], 2)
    assert packed_y.tolist() == [[0, 1], [2, 0], [1, 2]]
    joined = d.label_input(pack(x, 2), packed_y)
    assert joined.shape == (3, 8, 8, 8)
    # pack 0 holds labels (0, 1): member one-hots [1,0,0 | 0,1,0] as constant maps
    assert joined[0, 2:, 3, 5].tolist() == [1, 0, 0, 0, 1, 0]
    assert d(pack(x, 2), packed_y).shape == (3,)


def test_projection_discriminator_adds_the_embedding_inner_product():
    """Miyato & Koyama 2018, eq. 3: D(x, y) - D(x, y') = <e_y - e_y', phi(x)>."""
    torch.manual_seed(0)
    for d, x in [
        (DCGANDiscriminator(image_size=8, channels=1, width=8, num_classes=4,
                            conditioning="projection"), torch.randn(5, 1, 8, 8)),
        (MLPDiscriminator(hidden=[16, 16], maxout_pieces=1, num_classes=4,
                          conditioning="projection"), torch.randn(5, 2)),
    ]:
        d.eval()
        y0, y1 = torch.zeros(5, 1).long(), torch.ones(5, 1).long()
        features = d.net(x)
        phi = features.sum(dim=(2, 3)) if features.dim() == 4 else features
        expected = phi @ (d.projection.embed.weight[0] - d.projection.embed.weight[1])
        torch.testing.assert_close(d(x, y0) - d(x, y1), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="model.packing=1"):
        MLPDiscriminator(num_classes=4, conditioning="projection", packing=2)
    with pytest.raises(ValueError, match="conditioning='bogus' is not one of"):
        MLPDiscriminator(num_classes=4, conditioning="bogus")


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_cgan_trains_on_digits_and_draws_one_row_per_class(tmp_path, conditioning):
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "model=cgan", "iterations=3", "loss=hinge",
                   f"model.discriminator.conditioning={conditioning}", "model.packing=1",
                   "callbacks.samples.every=3", "callbacks.samples.nrow=4")
    run(cfg)
    grid = Image.open(tmp_path / "samples" / "iter_0000003.png")
    # 10 classes x 4 samples of 8x8 with make_grid's 2-pixel padding: 10 rows, 4 columns.
    assert grid.size == (4 * 10 + 2, 10 * 10 + 2)
    module = build_module(cfg)
    labels = torch.tensor([3, 3, 7])
    assert module.sample(noise=module.noise(3), labels=labels).shape == (3, 1, 8, 8)
    assert module.sample(5).shape == (5, 1, 8, 8)  # uniform labels when none are given


def test_cgan_with_packing_and_gradient_penalty(tmp_path):
    run(make_cfg(tmp_path, *TINY_DCGAN, "model=cgan", "model.packing=2", "loss=wgan_gp",
                 "iterations=2"))


def test_conditional_model_needs_labelled_data(tmp_path):
    cfg = make_cfg(tmp_path, *TINY_DCGAN, "model=cgan", "model.num_classes=5", "iterations=1")
    with pytest.raises(ConfigError, match="model.num_classes=5 but the data has 10 classes"):
        run(cfg)
    unconditional = build_module(make_cfg(tmp_path, *TINY_DCGAN))
    with pytest.raises(ValueError, match="unconditional"):
        unconditional.sample(2, labels=torch.tensor([0, 1]))
