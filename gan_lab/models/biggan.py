"""BigGAN's training scheme (Brock et al. 2019, "Large Scale GAN Training for High Fidelity
Natural Image Synthesis").

What BigGAN adds to the generic GAN scheme is the orthogonal regularization of G (sec. 3.1,
eq. 3; gan_lab.losses.orthogonal), added to every G step. The rest is configuration of pieces
every scheme has (conf/model/biggan.yaml): the hinge loss, 2 D steps per G step (``n_critic``),
Adam (0, 0.999) with G 5e-5 and D 2e-4, an EMA of G, large effective batches by gradient
accumulation (``accumulate``: micro-batches per optimizer step), and the truncation trick at
sampling time (``python -m gan_lab.sample truncation=0.5``: entries of z above the threshold
are redrawn, sec. 3.1). The architecture (shared class embedding, skip-z into conditional BN,
self-attention, spectral norm in G and D) is the net's (gan_lab.nets.biggan). Fake labels are
drawn uniformly (``model.fake_labels: uniform``), as BigGAN-PyTorch's ``train_fns.py``.

These are the paper's values (Brock et al. 2019, appendix C). BigGAN-PyTorch's launch scripts
differ (no orthogonal regularization, ``--G_ortho 0.0``; other rates and D steps): see
``conf/experiment/biggan_cifar10.yaml`` and ``biggan_imagenet128.yaml``.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from gan_lab.losses import AdversarialLoss
from gan_lab.losses.orthogonal import orthogonal_penalty, orthogonal_weights
from gan_lab.models.gan import GAN


class BigGAN(GAN):
    """The GAN scheme plus BigGAN's orthogonal regularization of the generator.

    Args:
        ortho_weight: beta of eq. 3 (the paper's 1e-4); 0 turns it off. The generator's
            ``shared`` submodule (the shared class embedding) is exempt, as in the official code
            (``utils.ortho(G, ..., blacklist=G.shared.parameters())``); without a shared
            embedding the per-BN class embeddings are regularized, as there.
        Everything else as :class:`~gan_lab.models.GAN` and its base.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: AdversarialLoss,
                 latent_dim: int, ortho_weight: float = 1e-4, **options: Any) -> None:
        super().__init__(generator, discriminator, loss, latent_dim, **options)
        if isinstance(ortho_weight, bool) or not isinstance(ortho_weight, int | float) \
                or ortho_weight < 0:
            raise ValueError(f"model.ortho_weight={ortho_weight!r} must be a number >= 0")
        self.ortho_weight = float(ortho_weight)

    def generator_step(self, batch: Any) -> dict[str, Tensor]:
        terms = super().generator_step(batch)
        if self.ortho_weight > 0:
            weights = orthogonal_weights(self.generator, getattr(self.generator, "shared", None))
            ortho = self.ortho_weight * orthogonal_penalty(weights)
            terms["loss/g_ortho"] = ortho
            terms["loss/g"] = terms["loss/g"] + ortho
        return terms
