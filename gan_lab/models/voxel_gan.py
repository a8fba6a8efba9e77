"""3D-GAN's training scheme: the generic GAN with the paper's adaptive discriminator updates.

Wu, Zhang, Xue, Freeman & Tenenbaum, "Learning a Probabilistic Latent Space of Object Shapes via
3D Generative-Adversarial Modeling" (NeurIPS 2016), sec. 3.1, "Training details": D learns much
faster than G on voxels, so "the discriminator only gets updated if its accuracy in the last
batch is not higher than 80%"; G lr 0.0025, D lr 1e-5, Adam beta1 0.5, batch 100
(conf/model/3dgan.yaml, conf/optim/adam_3dgan.yaml). The objective is the GAN's binary
cross-entropy on D's logits (``loss=nsgan``: D's BCE, and G's BCE against the "real" label, as
tf-3dgan and rimchang/3DGAN-Pytorch train it).

Which batch's accuracy gates which update. The paper's sentence leaves it open; both
reimplementations (meetps/tf-3dgan ``3dgan_mit_biasfree.py``, rimchang/3DGAN-Pytorch
``train.py``) score the batch D is about to be updated on (its reals and a fresh batch of
fakes), take the accuracy of those outputs (real > 0.5, fake < 0.5 after the sigmoid: a logit
> 0, < 0 here) and skip D's optimizer step when it is above the threshold; G steps every
iteration. That is done here: the D phase's condition runs D's forward on the iteration's batch
(the phase's own forward: when the phase runs, its step reuses those outputs and their graph, so
nothing is computed twice), logs the accuracy as ``metrics/d_accuracy`` (every batch, stepped or
not; the base logs the share of D steps taken as ``phase/Dmain_ran``), and answers whether it is
at most ``d_accuracy_threshold``. rimchang steps at ``<=``, tf-3dgan at ``<``; the paper's "not
higher than 80%" is ``<=``. D's batch-norm statistics see the forward either way, as in both.
Under DDP the ranks' accuracies are averaged first (the global batch's), so all ranks agree.

The latent code: ``latent_distribution="uniform"`` draws z ~ U[0, 1)^200, as the official release
samples its generators (zck119/3dgan-release ``main.lua -sample``: ``torch.rand``; the paper's
generation figures draw z uniformly, sec. 4.1); "normal" draws N(0, 1). tf-3dgan (and
rimchang's ``z_dis=norm``) train with N(0, 0.33^2) instead; the paper does not state the
training distribution.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor

from gan_lab.kinds import BatchKind, SampleKind, batch_kind
from gan_lab.models.gan import GAN
from gan_lab.models.phases import Phase
from gan_lab.visuals import Visual

__all__ = ["LATENT_DISTRIBUTIONS", "VoxelGAN", "discriminator_accuracy"]

LATENT_DISTRIBUTIONS = ("uniform", "normal")


def discriminator_accuracy(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """The share of D's logits on the side of 0 of their truth: real > 0, fake < 0 (D's
    sigmoid > 0.5 on reals, < 0.5 on fakes), over both sets together. In float64, so that a
    share such as 160 / 200 compares equal to the threshold 0.8 (float32's 0.8 is above it)."""
    right = torch.cat([(real_scores.detach() > 0).flatten(), (fake_scores.detach() < 0).flatten()])
    return right.double().mean()


class VoxelGAN(GAN):
    """3D-GAN (Wu et al. 2016): the generic GAN on voxel grids, D updated only while its accuracy
    is at most ``d_accuracy_threshold`` (see the module's docstring for which batch's).

    Args:
        d_accuracy_threshold: D's optimizer steps only when its accuracy on the batch's real and
            fake shapes is at most this (the paper's 0.8); null: always (the plain GAN).
        latent_distribution: "uniform" (z ~ U[0, 1), the official sampling code) or "normal".
        **kwargs: the GAN's (generator, discriminator, loss, latent_dim, n_critic, ...).
    """

    def __init__(self, *args: Any, d_accuracy_threshold: float | None = 0.8,
                 latent_distribution: str = "uniform", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if d_accuracy_threshold is not None:
            value = d_accuracy_threshold
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"model.d_accuracy_threshold={value!r}: must be a number in "
                                 "[0, 1] (3D-GAN: 0.8) or null (D steps every time)")
            if self.update != "alternating":
                raise ValueError("model.d_accuracy_threshold gates D's own step; it needs "
                                 "model.update=alternating (or d_accuracy_threshold=null)")
            if self.accumulate != 1:
                raise ValueError(f"model.accumulate={self.accumulate}: the accuracy gate scores the "
                                 "whole batch in D's forward and reuses it; use model.accumulate=1 "
                                 "(or model.d_accuracy_threshold=null)")
        if latent_distribution not in LATENT_DISTRIBUTIONS:
            raise ValueError(f"model.latent_distribution={latent_distribution!r}: must be one of "
                             f"{', '.join(LATENT_DISTRIBUTIONS)}")
        self.d_accuracy_threshold = (None if d_accuracy_threshold is None
                                     else float(d_accuracy_threshold))
        self.latent_distribution = latent_distribution
        self._batch: Any = None
        self._scored: dict[str, Tensor] | None = None

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Latent codes: U[0, 1) (the official sampling code) or N(0, I); a given CPU
        ``generator`` makes them reproducible."""
        draw = torch.rand if self.latent_distribution == "uniform" else torch.randn
        if generator is not None:
            return draw(n, self.latent_dim, generator=generator).to(self.device)
        return draw(n, self.latent_dim, device=self.device)

    # ----------------------------------------------------------------- training
    def phases(self) -> list[Phase]:
        """The GAN's Dmain (its step through :meth:`scored_discriminator_step`, gated by the
        accuracy when a threshold is set) and Gmain."""
        phases = []
        for phase in super().phases():
            if phase.name == "Dmain":
                condition = None if self.d_accuracy_threshold is None else self.discriminator_due
                phase = dataclasses.replace(phase, step=self.scored_discriminator_step,
                                            condition=condition)
            phases.append(phase)
        return phases

    def begin_batch(self, batch: Any) -> None:
        self._batch = batch  # what the D phase's condition scores
        self._scored = None
        super().begin_batch(batch)

    def score_batch(self, batch: Any) -> dict[str, Tensor]:
        """D's loss terms on the batch's reals and a fresh batch of (detached) fakes, with the
        graph for D's backward, plus ``metrics/d_accuracy`` of those outputs."""
        real, labels = self.real_samples(batch)
        fake_labels = self.fake_labels(labels, real.shape[0])
        fake = self.generate(self.noise(real.shape[0]), fake_labels).detach()
        terms, fake_scores, real_scores = self._discriminator_terms(real, fake, labels, fake_labels)
        terms["metrics/d_accuracy"] = discriminator_accuracy(real_scores, fake_scores)
        return terms

    def discriminator_due(self) -> bool:
        """The D phase's condition: score the batch (kept for the step) and answer whether D's
        accuracy on it is at most the threshold. The accuracy is logged either way."""
        terms = self.score_batch(self._batch)
        accuracy = terms.pop("metrics/d_accuracy")
        if self._trainer is not None and self.trainer.world_size > 1:
            # Every rank must take the same decision (a rank that skips D's backward would leave
            # the others waiting in DDP's all-reduce): the accuracy of the global batch.
            accuracy = self.trainer.strategy.reduce(accuracy, reduce_op="mean")
        self._accumulate({"metrics/d_accuracy": accuracy})
        runs = float(accuracy) <= self.d_accuracy_threshold
        self._scored = terms if runs else None
        return runs

    def scored_discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        """D's terms: those the condition computed on this batch, else a fresh forward (no
        threshold, the cost estimate's twin, loops without the condition)."""
        scored, self._scored = self._scored, None
        return scored if scored is not None else self.score_batch(batch)

    # ----------------------------------------------------------------- data and visuals
    def check_data(self, datamodule) -> None:
        """The data must be voxel grids shaped like G's output."""
        if batch_kind(datamodule) != BatchKind.VOXELS:
            raise ValueError(f"data: a {datamodule.batch_kind} set, but {type(self).__name__} "
                             "generates voxel grids; use data=primitives3d or data=voxel_folder")
        data_classes = getattr(datamodule, "num_classes", 0)
        if self.num_classes and self.num_classes != data_classes:
            raise ValueError(f"model.num_classes={self.num_classes} but the data has "
                             f"{data_classes} classes")
        expected = tuple(datamodule.sample_shape)
        produced = tuple(self.sample(2).shape[1:])
        if produced != expected:
            raise ValueError(f"model.generator makes grids of shape {produced} but the data gives "
                             f"{expected}; make model.generator.resolution match data.resolution")

    def visuals(self, inputs: Any) -> dict[str, Visual]:
        """The samples of the fixed codes as voxel renderings (gan_lab.outputs' voxel renderer)."""
        noise, labels, nrow = inputs
        return {"samples": Visual(SampleKind.VOXELS, self.sample(noise=noise, labels=labels), nrow)}
