"""The template scheme and template data module (gan_lab/models/template.py,
gan_lab/data/template/) work as they stand: a copy starts from code that trains."""

from __future__ import annotations

import functools

import lightning.pytorch as pl
import pytest
import torch
from torch import nn

from gan_lab.data.template import TensorFileDataModule
from gan_lab.kinds import SampleKind, sample_spec
from gan_lab.models.template import TemplateScheme
from gan_lab.outputs import render


def test_the_template_scheme_trains_on_the_template_data_and_samples(tmp_path):
    torch.manual_seed(0)
    points = torch.randn(64, 2) * 0.1 + torch.tensor([1.0, -1.0])
    torch.save({"samples": points, "labels": torch.zeros(64, dtype=torch.long)},
               tmp_path / "points.pt")
    data = TensorFileDataModule(str(tmp_path / "points.pt"), kind="points", batch_size=16)
    assert sample_spec(data).kind is SampleKind.POINTS and data.num_classes == 1
    sgd = functools.partial(torch.optim.Adam, lr=1e-2)
    module = TemplateScheme(nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2)),
                            nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1)),
                            latent_dim=4, optimizers={"generator": sgd, "discriminator": sgd})
    module.check_data(data)
    before = [p.detach().clone() for p in module.generator.parameters()]
    module.budget = 3
    pl.Trainer(max_epochs=10, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False).fit(module, datamodule=data)
    assert module.iteration == 3 and module.images_seen == 3 * 16
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
    assert module.sample_spec.kind is SampleKind.POINTS  # taken from the data at setup
    visual = module.visuals(module.visual_inputs(data, 8, 4, torch.Generator().manual_seed(0)))
    assert render(visual["samples"]) is not None and module.sample(5).shape == (5, 2)
    with pytest.raises(ValueError, match="data.path=.*no such file"):
        TensorFileDataModule(str(tmp_path / "none.pt"))
    with pytest.raises(ValueError, match="data.kind='pictures'"):
        TensorFileDataModule(str(tmp_path / "points.pt"), kind="pictures")
