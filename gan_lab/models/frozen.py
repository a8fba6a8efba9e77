"""Frozen auxiliary nets: used by a scheme, never trained, never saved in its checkpoints.

VGG features for perceptual losses, text encoders, assessors and segmenters come from the
auxiliary-net provider (gan_lab.auxiliary: a weights file, the torch hub cache, or trained on the
run's data and cached; one clear line when missing), in the scheme's ``load_frozen_nets``. Held
in :class:`FrozenNets`, they move with the module between devices, but they are left out of
``state_dict`` (checkpoints stay small and do not depend on third-party weights) and a strict
load does not ask for them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from torch import nn


class FrozenNets(nn.ModuleDict):
    """A ``ModuleDict`` of nets in eval mode without gradients, absent from ``state_dict``."""

    def __init__(self, nets: Mapping[str, nn.Module] | None = None) -> None:
        super().__init__(nets)
        self.requires_grad_(False)
        super().train(False)
        # A strict load of a checkpoint (which never holds these nets) must not miss them.
        self.register_load_state_dict_post_hook(_forget_missing_frozen_keys)

    def __setitem__(self, key: str, module: nn.Module) -> None:
        super().__setitem__(key, module.requires_grad_(False).eval())

    def train(self, mode: bool = True) -> FrozenNets:
        return self  # always in eval mode: batch norm statistics and dropout stay fixed

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        # Called by the parent's state_dict with a shared destination: add nothing to it.
        return OrderedDict() if destination is None else destination

    def _load_from_state_dict(self, state_dict, prefix: str, *args, **kwargs) -> None:
        self._load_prefix = prefix  # where this container sits in the load (for the post hook)


def _forget_missing_frozen_keys(module: FrozenNets, incompatible) -> None:
    """Drop the frozen nets' keys from a load's missing keys (torch lets post hooks edit them;
    the container's children are loaded, and report missing keys, before its post hook)."""
    prefix = getattr(module, "_load_prefix", "")
    frozen = {prefix + name for name, _ in module.named_parameters()}
    frozen |= {prefix + name for name, _ in module.named_buffers()}
    incompatible.missing_keys[:] = [key for key in incompatible.missing_keys if key not in frozen]
