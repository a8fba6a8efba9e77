"""The speed path: channels_last memory layout and torch.compile of a scheme's nets.

Plain torch (no Lightning, no Hydra), so that nets, losses and schemes may import it;
``gan_lab.callbacks.SpeedUp`` applies it to a module at the start of training (the ``speed``
config, conf/speed/).

- **Which nets.** :func:`trained_nets` finds them generically: every child of the module (or
  member of a child ``ModuleDict`` / ``ModuleList``: CycleGAN's ``generator["AtoB"]``) that holds
  parameters of the scheme's optimizer groups (``optimizer_groups()``). The EMA copy, frozen
  auxiliary nets, augmentation and image pools hold none and are left alone. A style generator
  (``mapping`` + ``synthesis``, which the schemes call one by one) counts as its two parts.
- **Compiling without renaming.** :class:`CompiledForward` replaces a net's ``forward`` by
  ``torch.compile`` of it, as an instance attribute: parameters and buffers stay where they
  are, so ``state_dict`` keys do not change (``torch.compile(net)`` returns a wrapper whose keys
  carry an ``_orig_mod.`` prefix) and checkpoints load into eager nets and back.
- **Double backward stays eager.** Compiled graphs (AOTAutograd) cannot be differentiated
  twice, which the penalties need (WGAN-GP, R1: ``autograd.grad(create_graph=True)`` of D's
  input gradient; StyleGAN2's path length through the synthesis). Their forward passes run
  inside :func:`eager_nets`, where compiled nets call their original ``forward``.
- **channels_last.** ``module.to(memory_format=torch.channels_last)`` turns 4-D weights to
  NHWC (the layout of cuDNN's tensor-core convolutions); :func:`to_channels_last` does the same
  for the image tensors (4-D) of a batch and leaves everything else (labels, 2-D toy points).
"""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["COMPILE_MODES", "CompiledForward", "compile_net", "eager_nets", "is_compiled",
           "to_channels_last", "trained_nets", "uncompile_net"]

log = logging.getLogger(__name__)

# torch.compile's modes ("default" is what compile=true means).
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")

_state = threading.local()


@contextmanager
def eager_nets() -> Iterator[None]:
    """Inside this context, nets compiled by :func:`compile_net` run their eager ``forward``.

    For forward passes that will be differentiated twice (a penalty's
    ``torch.autograd.grad(..., create_graph=True)``), which compiled graphs do not support.
    Nests; free when nothing is compiled.
    """
    depth = getattr(_state, "eager", 0)
    _state.eager = depth + 1
    try:
        yield
    finally:
        _state.eager = depth


def _eager_now() -> bool:
    return getattr(_state, "eager", 0) > 0


class CompiledForward:
    """``net.forward`` replaced by ``torch.compile`` of the original, with an eager way out.

    Runs the original ``type(net).forward`` inside :func:`eager_nets`, and from the first
    compilation error on (no C compiler for inductor on a CPU machine, an op the backend cannot
    take), after one warning naming the net. A deep copy (``AveragedModel``) or a pickle of the
    net gets a CompiledForward of its own, compiled afresh.
    """

    def __init__(self, net: nn.Module, name: str = "net", **options: Any) -> None:
        self.name = name
        self.options = options
        self.eager = types.MethodType(type(net).forward, net)
        self.compiled = torch.compile(self.eager, **options)
        self.failed: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.failed is not None or _eager_now():
            return self.eager(*args, **kwargs)
        try:
            return self.compiled(*args, **kwargs)
        except torch._dynamo.exc.TorchDynamoException as error:  # compiling failed, not the net
            self.failed = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
            log.warning("speed: torch.compile failed for %s (%s); it runs eagerly",
                        self.name, self.failed)
            return self.eager(*args, **kwargs)

    def __reduce__(self):
        return (_rebuild, (self.eager.__self__, self.name, self.options, self.failed))


def _rebuild(net: nn.Module, name: str, options: dict, failed: str | None) -> CompiledForward:
    forward = CompiledForward(net, name, **options)
    forward.failed = failed
    return forward


def compile_net(net: nn.Module, name: str = "net", **options: Any) -> nn.Module:
    """Compile ``net``'s forward in place (``options``: torch.compile's mode, backend, ...);
    returns ``net``, whose class, parameters and ``state_dict`` keys are unchanged."""
    if not is_compiled(net):
        net.forward = CompiledForward(net, name, **options)
    return net


def uncompile_net(net: nn.Module) -> nn.Module:
    """Undo :func:`compile_net`: ``net`` runs its class's ``forward`` again."""
    if is_compiled(net):
        del net.forward
    return net


def is_compiled(net: nn.Module) -> bool:
    return isinstance(net.__dict__.get("forward"), CompiledForward)


def trained_nets(module: nn.Module) -> dict[str, nn.Module]:
    """The nets of a scheme by dotted name ("generator", "discriminator.A", ...): the children
    (and members of child containers) holding parameters of ``module.optimizer_groups()``; a
    style generator as its ``mapping`` and ``synthesis``."""
    trained = {id(p) for params in module.optimizer_groups().values() for p in params}
    nets: dict[str, nn.Module] = {}

    def visit(name: str, child: nn.Module) -> None:
        if isinstance(child, nn.ModuleDict | nn.ModuleList):
            for key, member in child.named_children():
                visit(f"{name}.{key}", member)
        elif any(id(p) in trained for p in child.parameters()):
            if hasattr(child, "mapping") and hasattr(child, "synthesis"):
                nets[f"{name}.mapping"], nets[f"{name}.synthesis"] = child.mapping, child.synthesis
            else:
                nets[name] = child

    for name, child in module.named_children():
        visit(name, child)
    return nets


def to_channels_last(batch: Any) -> Any:
    """``batch`` with its 4-D floating-point tensors in channels_last layout (nested lists,
    tuples and dicts followed); other tensors and values as they are."""
    if isinstance(batch, Tensor):
        if batch.dim() == 4 and batch.is_floating_point():
            return batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, list):
        return [to_channels_last(item) for item in batch]
    if isinstance(batch, tuple):
        items = [to_channels_last(item) for item in batch]
        return type(batch)(*items) if hasattr(batch, "_fields") else tuple(items)
    if isinstance(batch, dict):
        return {key: to_channels_last(value) for key, value in batch.items()}
    return batch
