"""The discriminator-augmentation protocol shared by DiffAugment and ADA.

Every scheme calls its discriminator through one entry point that applies ``augment(x)`` to
real and fake images alike, also inside gradient penalties (Zhao et al. 2020, sec. 3;
Karras et al. 2020, sec. 2). Hence two rules for every implementation:

* ``forward`` is differentiable w.r.t. its input: G's gradient and R1/WGAN-GP input
  gradients pass through the augmentation.
* randomness comes only from torch's global RNG (no private ``torch.Generator``), so a resumed
  run, which restores the RNG states, replays the same augmentations.

State that must survive a resume lives in registered buffers, so it travels in the module's
``state_dict`` (and therefore in the checkpoint of the model that owns the module).
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["Augment", "NoAugment"]


class Augment(nn.Module):
    """Base class: ``forward`` augments, ``observe`` sees D's real scores, ``metrics`` logs."""

    def forward(self, x: Tensor) -> Tensor:
        """Augmented images of the same shape as ``x`` (NCHW), differentiable w.r.t. ``x``."""
        raise NotImplementedError

    def observe(self, real_scores: Tensor, counts_step: bool = True) -> None:
        """Called by the scheme after each D step with D's raw scores on augmented reals
        (``counts_step=False``: another forward's scores on the same step's reals).

        The default ignores them; adaptive augmentations use them to steer their strength.
        """
        del real_scores, counts_step

    def metrics(self) -> dict[str, float]:
        """Values to log, keyed ``augment/<name>``; none by default."""
        return {}


class NoAugment(Augment):
    """The identity: the discriminator sees images unchanged."""

    def forward(self, x: Tensor) -> Tensor:
        return x
