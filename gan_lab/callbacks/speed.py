"""The speed options of a run (``speed`` config): channels_last and torch.compile of the nets.

Mixed precision is the trainer's (``trainer.precision=bf16-mixed``, set by ``trainer=gpu``);
this callback adds the two other parts of the GPU speed path, for any scheme, at the start of
fitting (gan_lab.speed has the mechanism):

- ``channels_last``: the module's 4-D weights and buffers (nets, EMA copy, image pools) and
  the image tensors of every batch (``AdversarialModule.channels_last_batches``) in NHWC layout.
- ``compile``: ``torch.compile`` of each trained net's forward (not of the LightningModule), the
  penalties' double backward run eagerly (gan_lab.speed.eager_nets); ``state_dict`` keys and
  checkpoints stay as in an eager run.

``auto`` (the default of both) turns an option on when the run trains on a CUDA GPU and leaves
it off on a CPU, so ``trainer=gpu`` gets bf16 + channels_last + compile and ``trainer=cpu``
stays eager; ``true`` / ``false`` force it either way (tests and benchmarks use them on CPU).
Schemes whose nets change with training (``static_nets = False``: ProGAN and StyleGAN's
progressive growing, which takes another path through the nets at every level) are not compiled
by ``auto``: each new level would recompile them.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning.pytorch as pl
import torch

from gan_lab.speed import COMPILE_MODES, compile_net, trained_nets

log = logging.getLogger(__name__)

__all__ = ["SpeedUp"]


def _switch(value: Any, key: str, extra: tuple[str, ...] = ()) -> bool | str:
    """A bool, "auto", or one of ``extra``; ValueError (one line) otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("auto", *extra):
        return text
    if text in ("true", "false"):
        return text == "true"
    allowed = ", ".join(("auto", "true", "false", *extra))
    raise ValueError(f"{key}={value!r}: must be one of {allowed}")


class SpeedUp(pl.Callback):
    """Apply channels_last and torch.compile to the module when fitting starts.

    Args:
        channels_last: auto (on a CUDA GPU), true or false.
        compile: auto (on a CUDA GPU), true (torch.compile's default mode), false, or a mode:
            default, reduce-overhead (CUDA graphs), max-autotune, max-autotune-no-cudagraphs.
        backend: torch.compile's backend (inductor; aot_eager traces without generating code,
            eager only runs Dynamo).
        fullgraph: refuse graph breaks (torch.compile's fullgraph).
        dynamic: torch.compile's dynamic (null: shapes become dynamic after they change).
    """

    def __init__(self, channels_last: Any = "auto", compile: Any = "auto",  # noqa: A002
                 backend: str = "inductor", fullgraph: bool = False,
                 dynamic: bool | None = None) -> None:
        self.channels_last = _switch(channels_last, "channels_last")
        self.compile = _switch(compile, "compile", COMPILE_MODES)
        if not isinstance(backend, str) or not backend:
            raise ValueError(f"backend={backend!r}: must be a torch.compile backend name "
                             "(inductor, aot_eager, eager, ...)")
        self.backend = backend
        self.fullgraph = bool(fullgraph)
        self.dynamic = None if dynamic is None else bool(dynamic)
        # What setup applied (for the log line, tests and benchmarks).
        self.applied: dict[str, Any] = {}

    def resolved(self, cuda: bool, static_nets: bool = True) -> tuple[bool, str | None]:
        """(channels_last on?, the compile mode or None) for a run on a CUDA GPU or not, of nets
        that keep their shapes (``static_nets``) or not: auto compiles only those that do."""
        channels_last = cuda if self.channels_last == "auto" else bool(self.channels_last)
        mode = self.compile
        if mode == "auto":
            mode = cuda and static_nets
        if mode is False:
            return channels_last, None
        return channels_last, "default" if mode is True else str(mode)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        cuda = trainer.strategy.root_device.type == "cuda"
        static_nets = bool(getattr(pl_module, "static_nets", True))
        channels_last, mode = self.resolved(cuda, static_nets)
        if mode is not None and not static_nets:
            log.warning("speed: %s grows its nets; torch.compile recompiles them at every level "
                        "(speed.compile=auto leaves them eager)", type(pl_module).__name__)
        self.applied = {"channels_last": channels_last, "compile": mode, "nets": []}
        if channels_last:
            pl_module.to(memory_format=torch.channels_last)
            pl_module.channels_last_batches = True
        if mode is not None:
            options: dict[str, Any] = {"backend": self.backend, "fullgraph": self.fullgraph,
                                       "dynamic": self.dynamic}
            if mode != "default":
                options["mode"] = mode
            nets = trained_nets(pl_module)
            for name, net in nets.items():
                compile_net(net, name, **options)
            self.applied["nets"] = list(nets)
        if channels_last or mode is not None:
            parts = ["channels_last"] if channels_last else []
            if mode is not None:
                parts.append(f"torch.compile ({self.backend}, mode {mode}) of "
                             f"{', '.join(self.applied['nets'])}")
            log.info("speed: %s", "; ".join(parts))
