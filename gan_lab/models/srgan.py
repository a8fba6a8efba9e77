"""SRGAN and SRResNet: single-image super-resolution (Ledig et al. 2017).

Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
Network" (CVPR 2017). The generator G (gan_lab.nets.srgan.SRResNet) maps an LR image to an SR
image ``scale`` times larger; the perceptual loss (eq. 3) is

    l^SR = l^SR_X + 1e-3 l^SR_Gen,

a content loss l_X (``content``: ``mse``, eq. 4, or the MSE of VGG19 feature maps rescaled by
1/12.75, eq. 5: ``vgg22`` / ``vgg54``; gan_lab.losses.content) plus the adversarial loss
l_Gen = sum -log D(G(I_LR)) (eq. 6), the non-saturating generator loss of the ``loss`` group
(``loss=nsgan``; any other objective works too). D (gan_lab.nets.srgan.SRGANDiscriminator)
solves the min-max problem of eq. 2 on HR patches.

Training, as sec. 3.2: first the MSE-based SRResNet (Adam 1e-4, beta1 0.9; 10^6 updates), then
the SRGAN initialised from it (10^5 updates at 1e-4 and 10^5 at 1e-5). Here both are stages of
one run (gan_lab.models.stages): "pretrain", ``pretrain_iterations`` long, trains G alone with
the MSE (phase ``Gpre``); then "adversarial" updates D then G in each iteration (``Dmain``,
``Gmain``) from one forward G(I_LR) shared by both, D judging it detached, as the reference
reimplementation's training step (Lornatang/SRGAN-PyTorch ``train_srgan.py``: D on HR and SR,
then G judged by the updated D). G's optimizer state is cleared when the adversarial stage starts
(the reference trains SRGAN with a fresh Adam, loading the SRResNet weights). The learning rate
schedule (1e-4, then 1e-5 for the second half of the adversarial stage) is
:func:`srgan_learning_rate`; D's scheduler steps only in the stage D trains in (the base steps the
schedulers of the training groups), so it counts the adversarial stage's iterations
(``adversarial_only``). The base keeps the stage in checkpoints, so a run stopped in either stage
or on the boundary resumes exactly.

Without a discriminator (``model=srresnet``) every iteration is the content-loss stage: SRResNet
trained with ``content`` (the paper's SRResNet-MSE and SRResNet-VGG22 of Table 1). An iteration
reads ``n_critic`` batches (1 with the paper's loss; a loss recipe such as ``loss=wgan`` sets 5):
D learns from each in the adversarial stage, G from the last, also in the content-loss stage.

The VGG19 of the feature losses is a frozen auxiliary net (gan_lab.models.frozen.FrozenNets),
loaded in :meth:`load_frozen_nets` from ``vgg_weights`` or the torch hub cache and never saved in
checkpoints. Batches are ``(lr, hr)``; translation: ``translate(lr, "LRtoHR")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.lr_scheduler import LambdaLR

from gan_lab.kinds import BatchKind, batch_kind
from gan_lab.losses import AdversarialLoss
from gan_lab.losses.content import (
    PAPER_VGG_LAYERS,
    VGG_FEATURE_SCALE,
    check_content,
    mse_content_loss,
    vgg_content_loss,
)
from gan_lab.models.base import AdversarialModule
from gan_lab.models.frozen import FrozenNets
from gan_lab.models.phases import Phase
from gan_lab.models.stages import Stage
from gan_lab.nets.vgg import VGGFeatures, load_vgg19
from gan_lab.visuals import Visual

__all__ = ["SRGAN", "SRGANLearningRate", "srgan_learning_rate"]

SR_DATA = "data=photos_sr, div2k, set5, set14, bsd100 or sr_folder"


class SRGANLearningRate:
    """lr factor 1, then ``gamma`` from ``decay_fraction`` of the way through the adversarial
    stage [pretrain_iterations, iterations) on (the paper: 1e-4 -> 1e-5 halfway through SRGAN's
    2 x 10^5 updates). ``adversarial_only``: the scheduler of a group that trains only in the
    adversarial stage (D), which is stepped only there and so counts from its start. Its settings
    come from the config on a resume (gan_lab.models.schedules), so an extended budget moves the
    decay point as an uninterrupted run of that budget has it."""

    def __init__(self, iterations: int, pretrain_iterations: int, decay_fraction: float,
                 gamma: float, adversarial_only: bool = False) -> None:
        adversarial = max(0, int(iterations) - int(pretrain_iterations))
        start = 0 if adversarial_only else int(pretrain_iterations)
        self.decay_at = start + round(adversarial * (1.0 - decay_fraction))
        self.gamma = float(gamma)

    def __call__(self, iteration: int) -> float:
        return self.gamma if iteration >= self.decay_at else 1.0


def srgan_learning_rate(optimizer: torch.optim.Optimizer, iterations: int,
                        pretrain_iterations: int = 0, decay_fraction: float = 0.5,
                        gamma: float = 0.1, adversarial_only: bool = False) -> LambdaLR:
    """SRGAN's schedule (sec. 3.2), stepped once per iteration: see :class:`SRGANLearningRate`."""
    if not 0.0 <= float(decay_fraction) <= 1.0:
        raise ValueError(f"optim.schedulers.*.decay_fraction={decay_fraction}: must be in [0, 1]")
    if not float(gamma) > 0:
        raise ValueError(f"optim.schedulers.*.gamma={gamma}: must be > 0")
    return LambdaLR(optimizer, SRGANLearningRate(iterations, pretrain_iterations,
                                                 float(decay_fraction), gamma,
                                                 bool(adversarial_only)))


class SRGAN(AdversarialModule):
    """SRGAN (with a discriminator) or SRResNet (without); see the module docstring.

    Args:
        generator: LR (B, C, h, w) -> SR (B, C, s h, s w), with ``scale`` s and ``channels``.
        loss: the adversarial objective (and its penalties) of the adversarial stage.
        discriminator: judges HR patches (B, C, S, S) -> logits; None trains SRResNet only.
        content: ``mse``, ``vgg22`` or ``vgg54`` (the paper's SRGAN uses VGG54).
        adversarial_weight: the 1e-3 of eq. 3.
        pretrain_iterations: iterations of the MSE stage (SRResNet) before the adversarial one.
        feature_scale: the rescaling of VGG feature maps (1 / 12.75).
        vgg_weights: torchvision's ``vgg19-dcbb9e9d.pth``; None: the torch hub cache.
        vgg_download: fetch that file into the hub cache when it is missing there.
        **training: AdversarialModule's (optimizers, schedulers, augment, n_critic, ...).
    """

    directions = ("LRtoHR",)
    translate_options: tuple[str, ...] = ()
    evaluation_hint = "eval=super_resolution"  # the evaluation that scores this scheme

    def __init__(self, generator: nn.Module, loss: AdversarialLoss,
                 discriminator: nn.Module | None = None, content: str = "vgg54",
                 adversarial_weight: float = 1e-3, pretrain_iterations: int = 0,
                 feature_scale: float = VGG_FEATURE_SCALE, vgg_weights: str | None = None,
                 vgg_download: bool = True, **training: Any) -> None:
        # A model without D has no discriminator optimizer (model=srresnet sets it to null).
        optimizers: Mapping[str, Any] = training.pop("optimizers", {})
        super().__init__(optimizers={k: v for k, v in optimizers.items() if v is not None},
                         **training)
        self.content = check_content(content)
        if isinstance(pretrain_iterations, bool) or int(pretrain_iterations) != pretrain_iterations \
                or pretrain_iterations < 0:
            raise ValueError(f"model.pretrain_iterations={pretrain_iterations!r}: must be an "
                             "integer >= 0")
        if float(adversarial_weight) < 0:
            raise ValueError(f"model.adversarial_weight={adversarial_weight}: must be >= 0")
        if not float(feature_scale) > 0:
            raise ValueError(f"model.feature_scale={feature_scale}: must be > 0")
        self.generator = generator
        self.discriminator = discriminator
        self.loss = loss
        if discriminator is not None:
            loss.check_critic(discriminator)
        self.adversarial_weight = float(adversarial_weight)
        self.pretrain_iterations = int(pretrain_iterations)
        self.feature_scale = float(feature_scale)
        self.vgg_weights = vgg_weights
        self.vgg_download = bool(vgg_download)
        self.num_classes = 0
        self.frozen: FrozenNets | None = None  # the VGG19 features, by load_frozen_nets
        self.init_generator_ema(generator)
        self._fake: Tensor | None = None

    # ----------------------------------------------------------------- the stages
    def stages(self) -> list[Stage]:
        """"pretrain" (G alone on the content loss; SRResNet's only stage), then "adversarial"."""
        if self.discriminator is None:
            return [Stage("pretrain", groups=("generator",))]
        return [Stage("pretrain", length=self.pretrain_iterations, groups=("generator",)),
                Stage("adversarial")]  # a fresh Adam for G (the reference's SRGAN run)

    def pretraining(self, iteration: int | None = None) -> bool:
        """Whether ``iteration`` (default: the current one) is in the content-loss stage."""
        iteration = self.iteration if iteration is None else iteration
        return self.discriminator is None or iteration < self.pretrain_iterations

    def optimizer_groups(self) -> dict[str, Any]:
        groups = {"generator": self.generator.parameters()}
        if self.discriminator is not None:
            groups["discriminator"] = self.discriminator.parameters()
        return groups

    def phases(self) -> list[Phase]:
        phases = [Phase("Gpre", "generator", self.pretrain_step, "loss/g", stages=("pretrain",))]
        if self.discriminator is not None:
            phases += [
                Phase("Dmain", "discriminator", self.discriminator_step, "loss/d", critic=True,
                      after=lambda: self.loss.after_discriminator_step(self.discriminator)),
                Phase("Gmain", "generator", self.generator_step, "loss/g",
                      stages=("adversarial",))]
        return phases

    def load_frozen_nets(self) -> None:
        """VGG19's features for the ``vgg22`` / ``vgg54`` content losses (none for ``mse``)."""
        if self.content not in PAPER_VGG_LAYERS or self.frozen is not None:
            return
        features = load_vgg19(self.vgg_weights, download=self.vgg_download,
                              key="model.vgg_weights")
        vgg = VGGFeatures(features, [PAPER_VGG_LAYERS[self.content]])
        self.frozen = FrozenNets({"vgg": vgg}).to(self.device)

    # ----------------------------------------------------------------- the steps
    def prepare_batch(self, batch: Any) -> None:
        # The one forward pass of the batch: D judges it detached, G learns through it.
        self._fake = self.generator(batch[0])

    def _take_fake(self, lr: Tensor) -> Tensor:
        fake = self._fake if self._fake is not None else self.generator(lr)
        self._fake = None
        return fake

    def content_loss(self, fake: Tensor, real: Tensor, content: str | None = None) -> Tensor:
        """l_X of the configured (or the given) content loss."""
        content = self.content if content is None else content
        if content == "mse":
            return mse_content_loss(fake, real)
        if self.frozen is None:
            raise RuntimeError(f"model.content={content} needs the VGG19 features: call "
                               "load_frozen_nets() first (train.py does)")
        return vgg_content_loss(self.frozen["vgg"], fake, real, self.feature_scale)

    def pretrain_step(self, batch: Any) -> dict[str, Tensor]:
        """The content-loss stage: SRResNet's own content loss, or for SRGAN the MSE stage."""
        lr, hr = batch[0], batch[1]
        fake = self._take_fake(lr)
        content = self.content_loss(fake, hr, None if self.discriminator is None else "mse")
        return {"loss/g": content, "loss/g_content": content}

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        lr, hr = batch[0], batch[1]
        if self._fake is not None:
            fake = self._fake.detach()
        else:
            with torch.no_grad():
                fake = self.generator(lr)
        real_scores, fake_scores = self.discriminate(hr), self.discriminate(fake)
        self.observe_real_scores(real_scores)
        terms = {"loss/d_adv": self.loss.discriminator_loss(real_scores, fake_scores)}
        penalties = self.loss.penalties(self.discriminate, hr, fake, real_scores=real_scores)
        terms.update({f"loss/d_{name}": value for name, value in penalties.items()})
        terms["loss/d"] = sum(terms.values())
        terms["score/real"], terms["score/fake"] = real_scores.mean(), fake_scores.mean()
        return terms

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        """l^SR = l_X + adversarial_weight * l_Gen (eq. 3)."""
        lr, hr = batch[0], batch[1]
        fake = self._take_fake(lr)
        content = self.content_loss(fake, hr)
        real_scores = self.discriminate(hr) if self.loss.needs_real_scores else None
        adversarial = self.loss.generator_loss(self.discriminate(fake), real_scores)
        return {"loss/g": content + self.adversarial_weight * adversarial,
                "loss/g_content": content, "loss/g_adv": adversarial}

    # ----------------------------------------------------------------- translation
    def translation_channels(self, direction: str) -> int:
        return int(getattr(self.generator, "channels", 3))

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str = "LRtoHR") -> Tensor:
        """Super-resolve LR images (B, C, h, w) in [-1, 1]: G in eval mode (batch norm's running
        statistics; the EMA copy when there is one), output clipped to [-1, 1]."""
        if direction not in self.directions:
            raise ValueError(f"direction={direction!r}: this model translates "
                             f"{', '.join(self.directions)}")
        net = self.generator_ema.module if self.ema_ready() else self.generator
        was_training = net.training
        net.eval()
        try:
            return net(images.to(self.device)).clamp(-1.0, 1.0)
        finally:
            net.train(was_training)

    # ----------------------------------------------------------------- data and visuals
    def check_data(self, datamodule) -> None:
        kind = batch_kind(datamodule)
        if kind != BatchKind.SUPER_RESOLUTION:
            raise ValueError(f"model: {type(self).__name__} learns from (LR, HR) image pairs, but "
                             f"the data gives {kind}; use a super-resolution set: {SR_DATA}")
        channels = int(getattr(self.generator, "channels", 3))
        if channels != getattr(datamodule, "channels", 3):
            raise ValueError(f"model.generator.channels={channels}: the data's images have "
                             f"{getattr(datamodule, 'channels', 3)} channels")
        scale = int(getattr(self.generator, "scale", datamodule.scale))
        if scale != datamodule.scale:
            raise ValueError(f"data.scale={datamodule.scale}: the generator upscales {scale}x; "
                             "set model.generator.scale to it (the default follows data.scale)")
        if self.discriminator is not None:
            side = int(getattr(self.discriminator, "image_size", datamodule.crop_size))
            if side != datamodule.crop_size:
                raise ValueError(
                    f"data.crop_size={datamodule.crop_size}: the discriminator judges {side}x"
                    f"{side} HR patches; set model.discriminator.image_size to it (the default "
                    "follows data.crop_size)")

    def visual_inputs(self, datamodule, count: int, nrow: int, generator: torch.Generator) -> Any:
        """The first ``nrow`` evaluation pairs, centre-cropped to one size (at most twice the
        training crop) so they share a grid."""
        pairs = datamodule.eval_pairs()
        items = [pairs[i] for i in range(min(nrow, len(pairs)))]
        scale = int(datamodule.scale)
        side = min(2 * datamodule.crop_size, *(min(hr.shape[-2:]) for _, hr in items))
        side -= side % scale
        lrs, hrs = [], []
        for lr, hr in items:
            top = (hr.shape[-2] - side) // (2 * scale) * scale
            left = (hr.shape[-1] - side) // (2 * scale) * scale
            hrs.append(hr[:, top:top + side, left:left + side])
            lrs.append(lr[:, top // scale:(top + side) // scale, left // scale:(left + side) // scale])
        return torch.stack(lrs), torch.stack(hrs)

    def visuals(self, inputs: Any) -> dict[str, Visual]:
        """One grid: LR (nearest-upscaled for display), SR, HR rows."""
        lr, hr = (x.to(self.device) for x in inputs)
        sr = self.translate(lr)
        scale = sr.shape[-1] // lr.shape[-1]
        rows = [F.interpolate(lr.float(), scale_factor=scale, mode="nearest"), sr.float(), hr]
        images = torch.cat([row.float().cpu() for row in rows])
        return {"super_resolution": Visual("images", images, nrow=len(lr))}
