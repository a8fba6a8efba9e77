"""The training machinery every adversarial scheme shares.

`AdversarialModule` owns what is the same for every GAN variant: named optimizer groups, the
phases of one iteration run under manual optimization (stylegan2-ada's Gmain / Greg / Dmain /
Dreg, gan_lab.models.phases), the one user-facing counter (generator iterations) and the budget
in it, the one entry point to every discriminator (where augmentation applies), generator-only
EMA, gradient clipping that is correct under mixed precision, learning-rate schedulers, the
non-finite-loss guard, exact-resume state (counters, RNG) and logging driven by the loss names a
phase returns.

A scheme subclasses it and declares ``optimizer_groups()`` (name -> parameters) and
``phases()`` (the steps of one iteration), and when its run has parts that train different things
``stages()`` (gan_lab.models.stages: ProGAN's levels, SRGAN's pre-training, SinGAN's scales);
for sampling and checks it writes
``visual_inputs`` / ``visuals`` (gan_lab.visuals) and ``check_data``, and for the health
callback's collapse measure ``diversity_probe``. Everything a phase returns is logged under its
name (as the loss-name lists of junyanz/pytorch-CycleGAN-and-pix2pix).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import Dataset

from gan_lab.augment import NoAugment, augment_for_critic, augment_input, augment_metrics
from gan_lab.kinds import SampleKind, SampleSpec, sample_spec
from gan_lab.models.phases import Phase, lazy_ratio, rescale_for_lazy_phases
from gan_lab.models.schedules import apply_schedule_settings, keep_schedule_positions
from gan_lab.models.stages import Stage, check_stages
from gan_lab.protocols import NonFiniteLossError
from gan_lab.readers import read_image
from gan_lab.speed import to_channels_last
from gan_lab.visuals import Visual

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]


class AdversarialModule(pl.LightningModule):
    """Named optimizers, phases, one iteration counter; subclasses write the scheme.

    One *iteration* reads ``n_critic`` batches: the critic phases run on each (``n_critic``
    discriminator updates, one real batch each, Arjovsky et al. 2017, Alg. 1) and the other
    phases on the last, in the order ``phases()`` lists them. ``self.iteration`` counts
    iterations; it is the one counter for the budget (``budget``, set by train.py; the module
    stops the trainer when it is reached), logging, checkpoint cadence, EMA, schedules and the
    evaluation schedule. Lightning's ``global_step`` (one per optimizer step) is not used.

    Args:
        optimizers: group name -> factory (params -> optimizer), one per optimizer group.
        schedulers: group name -> factory (optimizer -> scheduler), stepped once per iteration.
        augment: a gan_lab.augment module applied by :meth:`discriminate` to every input of a
            discriminator (DiffAugment, ADA); None for none.
        replicas: R independent runs stacked in one module (nets built with ``replicas=R``,
            gan_lab.nets.replicated; batches replica-major). Each phase's totals are scaled by R
            (:meth:`backward_gain`), so every replica trains as it would alone.
        accumulate: micro-batches per optimizer step (gradient accumulation, as BigGAN's large
            batches: Brock et al. 2019, sec. 3 and BigGAN-PyTorch's ``num_G_accumulations`` /
            ``num_D_accumulations``). Each phase splits its batch into this many equal parts,
            back-propagates each part's total divided by their number and steps once: the
            gradient of the whole batch's mean loss at the memory cost of one part.
        fresh_generator_batch: the generator's phases get a real batch of their own, read after
            the critic's ``n_critic`` (so an iteration reads ``n_critic + 1`` batches), as R3GAN's
            official loop fetches one batch for D and another for G (brownvc/R3GAN,
            training/training_loop.py). False: they share the critic's last batch.
    """

    def __init__(
        self,
        optimizers: Mapping[str, OptimizerFactory],
        schedulers: Mapping[str, SchedulerFactory | None] | None = None,
        augment: nn.Module | None = None,
        n_critic: int = 1,
        ema_decay: float | None = None,
        ema_start: int = 0,
        clip_grad_norm: float | None = None,
        log_every: int = 50,
        replicas: int = 1,
        accumulate: int = 1,
        fresh_generator_batch: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(accumulate, bool) or not isinstance(accumulate, int) or accumulate < 1:
            raise ValueError(f"model.accumulate={accumulate!r} must be an integer >= 1 "
                             "(micro-batches per optimizer step)")
        if int(replicas) < 1:
            raise ValueError(f"model.replicas={replicas} must be an integer >= 1")
        if int(replicas) > 1 and clip_grad_norm is not None:
            raise ValueError("model.clip_grad_norm clips the norm over all replicas at once; it "
                             "cannot be used with model.replicas > 1")
        if int(n_critic) < 1:
            raise ValueError(f"model.n_critic={n_critic} must be an integer >= 1")
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ValueError(f"model.ema_decay={ema_decay} must be in (0, 1) or null")
        if clip_grad_norm is not None and float(clip_grad_norm) <= 0:
            raise ValueError(f"model.clip_grad_norm={clip_grad_norm} must be > 0 or null")
        self.automatic_optimization = False
        self.optimizer_factories = dict(optimizers)
        self.scheduler_factories = {k: v for k, v in (schedulers or {}).items() if v is not None}
        self.augment = augment if augment is not None else NoAugment()
        # Per-critic augmentations (critic name -> module, None for none), set by a scheme whose
        # critics want different ones (MoCoGAN's image and video critics); an nn.ModuleDict keeps
        # stateful ones (ADA's p) in checkpoints. Critics not listed get ``self.augment``.
        self.critic_augments: Mapping[str, nn.Module | None] = {}
        self.n_critic = int(n_critic)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_start = int(ema_start)
        self.clip_grad_norm = None if clip_grad_norm is None else float(clip_grad_norm)
        self.log_every = max(1, int(log_every))
        self.replicas = int(replicas)
        self.accumulate = int(accumulate)
        self.fresh_generator_batch = bool(fresh_generator_batch)
        # Counters. `iteration` is the user-facing one; `batches` places a batch in its iteration;
        # `stage` (-1 before the first iteration) and `stage_iteration` place it in stages();
        # `images_seen` counts the real samples of the critic's batches (once per batch).
        self.iteration = 0
        self.batches = 0
        self.stage = -1
        self.stage_iteration = 0
        self.images_seen = 0
        self._stage_nets_applied = False
        self._scheduler_groups: list[str] = []
        # What one sample of the data is (gan_lab.kinds.SampleSpec): set from the data module
        # when training starts, kept in checkpoints, so that visuals and the commands know the
        # kind of what the generator makes without the data. None: not known (old checkpoints).
        self.sample_spec: SampleSpec | None = None
        # The training budget in iterations (train.py sets it from `iterations`).
        self.budget: int | None = None
        self.generator_ema: AveragedModel | None = None
        # The resolved run config, stored in checkpoints so that a checkpoint alone can
        # rebuild its nets (set by train.py; a plain dict).
        self.run_config: dict | None = None
        # The same with its interpolations kept (gan_lab.config.portable_config): a resume
        # that extends the budget re-derives what depends on it.
        self.run_config_source: dict | None = None
        self._sums: dict[str, Tensor] = {}
        self._counts: dict[str, int] = {}
        self._nonfinite = torch.zeros((), dtype=torch.bool)
        self._rng_to_restore: dict | None = None
        self.loop_optimizers: dict[str, Any] | None = None
        # The latest logged losses, for the progress bar (set at every log point).
        self.progress_metrics: dict[str, float] = {}
        # Callables called at every log point with the metrics about to be logged; what they
        # return is logged in the same row (the health callback's measurements and alerts).
        self.log_sources: list[Callable[[dict[str, float]], dict[str, float]]] = []
        # Why training stopped early ("SIGINT", "SIGTERM", ...), set by the interruption
        # handler (callbacks/interrupt.py); None for a run that trains its whole budget.
        self.stop_reason: str | None = None
        # Image tensors (4-D) of every training batch in channels_last layout; set by the speed
        # options (gan_lab.callbacks.SpeedUp), which convert the nets alike.
        self.channels_last_batches = False

    # ----------------------------------------------------------------- subclass API
    def optimizer_groups(self) -> dict[str, Iterable[nn.Parameter]]:
        """Optimizer group name -> the parameters it trains, in a fixed order."""
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        """The optimizer steps of one iteration, in the order they run."""
        raise NotImplementedError

    def stages(self) -> list[Stage]:
        """The stages of a run, in order (gan_lab.models.stages); one open-ended stage here."""
        return [Stage("train")]

    def batch_images(self, batch: Any) -> int:
        """The real samples a critic batch shows (counted in ``images_seen``): the length of its
        first tensor; ProGAN counts the part its current resolution uses."""
        first = batch[0] if isinstance(batch, list | tuple) else batch
        return len(first) if isinstance(first, Tensor) else 0

    def prepare_batch(self, batch: Any) -> None:
        """Hook before a batch's phases (e.g. one generator forward that several phases share)."""

    def check_data(self, datamodule: pl.LightningDataModule) -> None:
        """ValueError (one line) unless the data fits this scheme; called before training."""

    def load_frozen_nets(self) -> None:
        """Load the frozen auxiliary nets that training needs (VGG features for a perceptual
        loss, a segmenter) from their weights files, into a gan_lab.models.frozen.FrozenNets;
        ValueError (one line naming the file and where it was looked for) when one is missing.

        train.py calls it before training; sampling commands do not, so a checkpoint alone
        rebuilds everything that generates (frozen nets are never in checkpoints).
        """

    def visual_inputs(self, datamodule: pl.LightningDataModule, count: int, nrow: int,
                      generator: torch.Generator) -> Any:
        """The fixed inputs (about ``count`` codes or test images, ``nrow`` to a row, drawn with
        ``generator``) the sample callback renders each time."""
        raise NotImplementedError

    def visuals(self, inputs: Any) -> dict[str, Visual]:
        """Named visuals of what the scheme makes from ``inputs`` (gan_lab.visuals)."""
        raise NotImplementedError

    def speaks(self, protocol: str) -> bool:
        """Whether the scheme offers the method ``protocol`` that a command or evaluator needs:
        ``"sample"`` (it generates from codes), ``"translate"`` (it maps inputs; SinGAN does
        both), or an evaluator's own (SinGAN's ``sample_from_scale``). Read from the scheme's
        methods, so it cannot disagree with them."""
        return callable(getattr(self, protocol, None))

    def translation_input(self, image: Any, direction: str, size: int | None = None) -> Tensor:
        """For schemes that translate (``translate(images, direction, **options)``): a PIL
        image read as the input of ``direction`` for ``python -m gan_lab.translate``, its
        shorter side resized to ``size`` when given. Here: an image in [-1, 1] with the channels
        ``translation_channels(direction)`` names; label-map schemes read class indices."""
        return read_image(image, self.translation_channels(direction), size)

    def translation_channels(self, direction: str) -> int:
        """The image channels the generator of ``direction`` reads (schemes that translate)."""
        raise NotImplementedError(f"{type(self).__name__} does not translate images")

    def diversity_probe(self, datamodule: pl.LightningDataModule, n: int,
                        seed: int) -> list[tuple[Tensor, Tensor]]:
        """``(outputs, reals)`` pairs for the health callback's collapse measure: about ``n``
        outputs on fixed inputs (``seed``) beside as many real samples of what they imitate,
        whose spreads it compares (gan_lab.callbacks.health). Nothing here: a scheme whose every
        output follows its input (super-resolution, inpainting, label maps, attributes) has no
        spread of its own to lose."""
        return []

    def discriminator_means(self, datasets: Sequence[Dataset], n: int,
                            seed: int) -> list[float] | None:
        """D's mean score on ``n`` real samples of each data set, then on ``n`` samples of fixed
        codes (``seed``), in D's current mode: the inputs of ADA's overfitting heuristic r_v
        (gan_lab.callbacks.health). None here: schemes without one D that scores samples of
        codes."""
        return None

    # ----------------------------------------------------------------- the D entry point
    def discriminate(self, x: Tensor, *args: Any, net: nn.Module | None = None,
                     kind: SampleKind | str | None = None, critic: str | None = None,
                     **kwargs: Any) -> Tensor:
        """Every discriminator call goes through here: ``net(augment(x, kind=kind), ...)``.

        ``net`` defaults to ``self.discriminator``. The augmentation (DiffAugment, Zhao et al.
        2020, sec. 3; ADA, Karras et al. 2020, sec. 2) is the same differentiable map for real
        and fake inputs, and for the penalties' inputs.

        ``kind``: what ``x`` holds as this critic reads it (gan_lab.kinds.SampleKind; None: the
        data's sample kind, images when unknown). Clips (N, T, C, H, W) get one transform per
        clip for all their frames, so motion survives; voxels (N, C, D, H, W) get what the
        augmentation declares (DiffAugment's translation and cutout on three axes). Rank alone
        cannot tell clips from voxels, so a 5-D input declared as images is refused in one line.

        ``critic``: the name of the critic called, for schemes whose critics want different
        augmentations (MoCoGAN's image critic on frames and video critic on clips, Tulyakov et
        al. 2018): ``self.critic_augments[critic]`` when the scheme lists it (None there: no
        augmentation), else ``self.augment`` (gan_lab.augment.augment_for_critic).
        """
        net = self.discriminator if net is None else net
        if kind is None and self.sample_spec is not None:
            kind = self.sample_spec.kind
        augment = augment_for_critic(self.augment, critic, self.critic_augments)
        return net(augment_input(augment, x, kind), *args, **kwargs)

    def observe_real_scores(self, scores: Tensor, counts_step: bool = True,
                            critic: str | None = None) -> None:
        """Tell the augmentation D's scores on (augmented) reals (ADA's overfitting signal), and
        log their mean sign, ADA's r_t = E[sign(D(real))] (Karras et al. 2020, eq. 1), as
        ``health/r_t`` (the mean over the log interval; callbacks/health.py reads it).

        ``counts_step=False``: the scores of an extra forward on the same reals (StyleGAN2's Dreg)
        join r_t's mean but are not another D step with its images (the official loss reports
        both phases' signs; the loop counts each batch once).

        ``critic``: the scores are that critic's; they steer its own augmentation when it has one
        (logged as ``health/<critic>/r_t``)."""
        augment = augment_for_critic(self.augment, critic, self.critic_augments)
        augment.observe(scores.detach(), counts_step=counts_step)
        key = "health/r_t" if augment is self.augment else f"health/{critic}/r_t"
        self._accumulate({key: torch.sign(scores.detach().float()).mean()})

    # ----------------------------------------------------------------- EMA
    def init_generator_ema(self, generator: nn.Module) -> None:
        """Keep an exponential moving average of `generator` only (Karras et al. 2018, sec. 4).

        torch's AveragedModel holds the copy; sampling and evaluation use it once it has
        been updated at least once.
        """
        if self.ema_decay is None:
            return
        self.generator_ema = AveragedModel(
            generator, multi_avg_fn=get_ema_multi_avg_fn(self.ema_decay), use_buffers=True
        )
        # Frozen: no gradients, and DDP leaves it out of the all-reduce.
        self.generator_ema.requires_grad_(False)

    def ema_ready(self) -> bool:
        return self.generator_ema is not None and int(self.generator_ema.n_averaged) > 0

    @property
    def batches_per_iteration(self) -> int:
        """The data batches one iteration reads: ``n_critic``, plus one for the generator's
        phases with ``fresh_generator_batch``."""
        return self.n_critic + int(self.fresh_generator_batch)

    @property
    def at_iteration_boundary(self) -> bool:
        """True between iterations: the last batch completed one (every phase of it done), so
        the next batch starts one.

        Checkpoints taken here resume exactly.
        """
        return self.batches % self.batches_per_iteration == 0

    @property
    def budget_reached(self) -> bool:
        """True once the last iteration of the budget is complete (the run is about to end).

        The final checkpoint is taken at this point, in the batch that reached it, where Lightning's
        loops are mid-epoch exactly as in an uninterrupted longer run; a checkpoint taken later, at
        the end of fit, records the epoch as finished and an extended run would start a new one.
        """
        return self.budget is not None and self.iteration >= self.budget and self.at_iteration_boundary

    # ----------------------------------------------------------------- optimizers
    @property
    def phase_list(self) -> list[Phase]:
        # Built on each use, not cached: cached bound methods would still point at the original
        # after a deepcopy of the module.
        return list(self.phases())

    @property
    def stage_list(self) -> list[Stage]:
        return list(self.stages())

    @property
    def current_stage(self) -> Stage:
        """The stage in progress (the first before training starts)."""
        stages = self.stage_list
        return stages[min(max(self.stage, 0), len(stages) - 1)]

    @property
    def stage_name(self) -> str:
        return self.current_stage.name

    def staged_budget(self, budget: int | None) -> int | None:
        """``budget`` capped by the run's stages when every one has a length (SinGAN's pyramid
        ends with its finest scale)."""
        lengths = [stage.length for stage in self.stage_list]
        if any(length is None for length in lengths):
            return budget
        total = sum(int(length) for length in lengths)
        return total if budget is None else min(budget, total)

    def _advance_stages(self, batch: Any) -> None:
        """Between iterations: enter the first stage, then the next while the current is over."""
        stages = self.stage_list
        if self.stage < 0:
            self._enter_stage(0, stages, batch)
        while self.stage < len(stages) - 1 and stages[self.stage].finished(self.stage_iteration):
            self._enter_stage(self.stage + 1, stages, batch)
        if not self._stage_nets_applied:  # a resume inside a stage: its nets' freezing only
            self._freeze_for(stages[self.stage], stages)

    def _enter_stage(self, index: int, stages: list[Stage], batch: Any) -> None:
        stage, first = stages[index], self.stage < 0
        self.stage, self.stage_iteration = index, 0
        if stage.reset_optimizers and not first:
            optimizers = self.named_optimizers()
            for name in self.optimizer_groups():
                if stage.trains_group(name):
                    # Adam's moments and step counts (inside Lightning's wrapper, if any)
                    getattr(optimizers[name], "optimizer", optimizers[name]).state.clear()
        self._freeze_for(stage, stages)
        if stage.enter is not None:
            stage.enter(batch)

    def _freeze_for(self, stage: Stage, stages: list[Stage]) -> None:
        """Every parameter of the optimizer groups trainable, except, when the stage names the
        nets it trains, those outside them (``requires_grad`` False: frozen)."""
        if any(s.trains is not None for s in stages):
            trained = None if stage.trains is None else {
                id(p) for name in stage.trains for p in self.get_submodule(name).parameters()}
            for params in self.optimizer_groups().values():
                for param in params:
                    param.requires_grad_(trained is None or id(param) in trained)
        self._stage_nets_applied = True

    def check_optimizers(self) -> None:
        """ValueError (one line) unless ``optim`` has one optimizer per group and every phase
        steps one of them; train.py calls it before training."""
        groups = self.optimizer_groups()
        missing = [name for name in groups if name not in self.optimizer_factories]
        if missing:
            raise ValueError(
                f"optim has no optimizer for {', '.join(missing)}; this scheme trains the groups "
                f"{', '.join(groups)} (optim.<group>: a partial torch.optim class)")
        unused = [name for name in self.optimizer_factories if name not in groups]
        if unused:
            raise ValueError(f"optim.{unused[0]}: this scheme has no such optimizer group "
                             f"(it has {', '.join(groups)})")
        unknown = [name for p in self.phase_list for name in p.groups if name not in groups]
        if unknown:
            raise ValueError(f"a phase steps optimizer {unknown[0]!r}, not one of {list(groups)}")
        stages = self.stage_list
        check_stages(stages)
        names = {stage.name for stage in stages}
        strangers = [(p.name, s) for p in self.phase_list for s in (p.stages or ()) if s not in names]
        if strangers:
            raise ValueError(f"phase {strangers[0][0]} runs in stage {strangers[0][1]!r}, which "
                             f"is not one of the scheme's stages ({', '.join(sorted(names))})")
        if self.accumulate > 1:
            joint = [p.name for p in self.phase_list if len(p.groups) > 1]
            shared = type(self).prepare_batch is not AdversarialModule.prepare_batch
            if joint or shared:
                why = (f"its phase {joint[0]} steps several nets at once" if joint else
                       "its phases share one forward over the whole batch (prepare_batch)")
                raise ValueError(f"model.accumulate={self.accumulate}: {type(self).__name__} "
                                 f"cannot accumulate gradients: {why}; use model.accumulate=1")

    def configure_optimizers(self):
        self.check_optimizers()
        groups = self.optimizer_groups()
        self._group_names = list(groups)
        self._scheduler_groups = [name for name in groups if name in self.scheduler_factories]
        optimizers = []
        for name, params in groups.items():
            optimizer = self.optimizer_factories[name](params)
            rescale_for_lazy_phases(optimizer, lazy_ratio(self.phase_list, name))
            optimizers.append(optimizer)
        schedulers = [self.scheduler_factories[name](opt)
                      for name, opt in zip(groups, optimizers, strict=True)
                      if name in self.scheduler_factories]
        # Schedulers are stepped by hand once per iteration (manual optimization).
        return optimizers, schedulers

    def named_optimizers(self) -> dict[str, Any]:
        """Group name -> optimizer (Lightning's wrappers, or those of a loop run without
        Lightning, which sets ``loop_optimizers``: benchmarks/plain_loop.py)."""
        if self.loop_optimizers is not None:
            return self.loop_optimizers
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        return dict(zip(self._group_names, optimizers, strict=True))

    def _backward(self, loss: Tensor, **options: Any) -> None:
        # Non-finite losses are collected without a device sync and checked at log points and
        # before every checkpoint, so a poisoned state is never saved.
        self._nonfinite = self._nonfinite.to(loss.device) | ~torch.isfinite(loss.detach())
        self.manual_backward(loss, **options)

    def on_before_optimizer_step(self, optimizer) -> None:
        # Called after the AMP scaler has unscaled the gradients, so the norm is the true one
        # (clipping inside training_step under 16-mixed would clip scaled gradients).
        if self.clip_grad_norm is not None:
            self.clip_gradients(
                optimizer, gradient_clip_val=self.clip_grad_norm, gradient_clip_algorithm="norm"
            )

    # ----------------------------------------------------------------- the loop
    def on_train_start(self) -> None:
        # After Lightning restored optimizers and schedulers: the config's schedule settings.
        schedulers = self.lr_schedulers() or []
        apply_schedule_settings(schedulers if isinstance(schedulers, list) else [schedulers])
        self._decorrelate_ranks()

    def _decorrelate_ranks(self) -> None:
        """Give each DDP rank its own noise stream (seeded runs start every rank alike).

        A base drawn from the shared stream plus the rank keeps runs reproducible.
        """
        if self.trainer.world_size > 1:
            base = int(torch.randint(0, 2**62, ()))
            torch.manual_seed(base + self.trainer.global_rank)

    def setup(self, stage: str) -> None:
        # What the data's samples are, for visuals and the commands (kept in checkpoints).
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer else None
        if datamodule is not None and self.sample_spec is None:
            try:
                self.sample_spec = sample_spec(datamodule)
            except ValueError:
                self.sample_spec = None  # a data module that declares neither spec nor shape

    def on_fit_start(self) -> None:
        # `iterations` is an upper bound when every stage has a length: the run ends with the last.
        self.budget = self.staged_budget(self.budget)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> int | None:
        # A finished run resumed (its budget already reached): nothing left to train.
        if self.budget_reached:
            self.trainer.should_stop = True
            return -1
        return None

    def begin_batch(self, batch: Any) -> None:
        """Before a batch's phases: between iterations the stages advance; then
        :meth:`prepare_batch` (also the entry of loops run without Lightning)."""
        if self.at_iteration_boundary:
            self._advance_stages(batch)
        self.prepare_batch(batch)

    def end_batch(self, batch: Any, critic_batch: bool, last_batch: bool) -> None:
        """After a batch's phases: the images shown (critic batches), the batch and, on the
        iteration's last batch, the iteration (also called by loops run without Lightning)."""
        if critic_batch:
            self.images_seen += self.batch_images(batch)
        self.batches += 1
        if last_batch:
            self.stage_iteration += 1

    def runs_now(self, phase: Phase) -> bool:
        """Whether ``phase`` belongs to the stage in progress (its groups train in it, and it
        names the stage when it names any)."""
        stage = self.current_stage
        if phase.stages is not None and stage.name not in phase.stages:
            return False
        return all(stage.trains_group(group) for group in phase.groups)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        if self.channels_last_batches:
            batch = to_channels_last(batch)
        if self._rng_to_restore is not None:
            _set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None
            self._decorrelate_ranks()
        optimizers = self.named_optimizers()
        position = self.batches % self.batches_per_iteration
        last_batch = position == self.batches_per_iteration - 1
        critic_batch = position < self.n_critic
        self.begin_batch(batch)
        terms: dict[str, Tensor] = {}
        for phase in self.phase_list:
            if not phase.due(self.iteration, critic_batch, last_batch) or not self.runs_now(phase):
                continue
            if phase.condition is not None:
                runs = bool(phase.condition())
                terms[f"phase/{phase.name}_ran"] = torch.tensor(float(runs))
                if not runs:
                    continue
            for _ in range(phase.repeat):
                terms.update(self._run_phase(phase, optimizers, batch))
        self.end_batch(batch, critic_batch, last_batch)
        self._accumulate(terms)
        if last_batch:
            self._end_iteration()

    def _run_phase(self, phase: Phase, optimizers: Mapping[str, Any], batch: Any) -> dict[str, Tensor]:
        if len(phase.groups) == 1:
            optimizer = optimizers[phase.groups[0]]
            with self.toggled_optimizer(optimizer):
                optimizer.zero_grad(set_to_none=True)
                parts = split_batch(batch, self.accumulate)
                gain = self.backward_gain(phase) / len(parts)
                terms: dict[str, Tensor] = {}
                for part in parts:  # gradient accumulation over micro-batches
                    part_terms = phase.step(part)
                    self._backward(gain * part_terms[phase.totals[0]])
                    terms = part_terms if len(parts) == 1 else _add_mean(terms, part_terms, len(parts))
                optimizer.step()
        else:
            terms = phase.step(batch)
            self._update_jointly([optimizers[name] for name in phase.groups],
                                 [self.backward_gain(phase) * terms[t] for t in phase.totals])
        if phase.after is not None:
            phase.after()
        return terms

    def backward_gain(self, phase: Phase) -> float:
        """What a phase's totals are multiplied by before the backward pass: the lazy gain, and
        R for R stacked replicas (each total is a mean over all replicas' samples, so R times it
        gives every replica the gradient of its own mean loss, as in a separate run)."""
        return phase.gain * self.replicas

    def _update_jointly(self, optimizers: list, losses: list[Tensor]) -> None:
        """A joint phase: each loss's gradient for its own group only, all taken before any
        group is stepped (so every gradient is at the same parameters)."""
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        for index, (optimizer, loss) in enumerate(zip(optimizers, losses, strict=True)):
            params = [p for group in optimizer.param_groups for p in group["params"]]
            self._backward(loss, inputs=params, retain_graph=index < len(losses) - 1)
        for optimizer in optimizers:
            optimizer.step()

    def _end_iteration(self) -> None:
        self.iteration += 1
        if self.generator_ema is not None and self.iteration > self.ema_start:
            self.update_ema()
        schedulers = self.lr_schedulers() or []  # Lightning: None, one scheduler, or a list
        schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
        stage = self.current_stage
        for group, scheduler in zip(self._scheduler_groups, schedulers, strict=True):
            if stage.trains_group(group):  # a group that does not train keeps its schedule
                scheduler.step()
        if self.iteration % self.log_every == 0:
            self._flush_logs()
        if self.budget is not None and self.iteration >= self.budget:
            self.trainer.should_stop = True

    def update_ema(self) -> None:
        """One EMA step: the constant ``ema_decay`` (torch's AveragedModel, buffers averaged too),
        or, when the scheme's :meth:`current_ema_decay` gives a decay, the official StyleGAN2 /
        R3GAN update: p_ema = lerp(p, p_ema, beta) for the parameters, buffers copied."""
        beta = self.current_ema_decay()
        if beta is None:
            self.generator_ema.update_parameters(self.ema_source())
            return
        ema, net = self.generator_ema, self.ema_source()
        with torch.no_grad():
            for p_ema, p in zip(ema.module.parameters(), net.parameters(), strict=True):
                p_ema.copy_(p.detach().lerp(p_ema, beta))
            for b_ema, b in zip(ema.module.buffers(), net.buffers(), strict=True):
                b_ema.copy_(b)
        ema.n_averaged += 1

    def current_ema_decay(self) -> float | None:
        """The decay of this iteration's EMA step when it varies (a half-life in images, a
        ramp); None: the constant ``ema_decay``."""
        return None

    def ema_source(self) -> nn.Module:
        """The net the EMA follows (the generator; schemes with other names override)."""
        return self.generator

    def _accumulate(self, terms: dict[str, Tensor]) -> None:
        # Detached device tensors: no host sync on the hot path.
        for name, value in terms.items():
            value = value.detach().float()
            self._sums[name] = self._sums[name] + value if name in self._sums else value
            self._counts[name] = self._counts.get(name, 0) + 1

    def _flush_logs(self) -> None:
        """Log the mean of every term since the last flush, at step = iteration."""
        self.check_finite()
        if not self._sums:
            return
        metrics = {name: float(total) / self._counts[name] for name, total in self._sums.items()}
        for name, optimizer in self.named_optimizers().items():
            metrics[f"lr/{name}"] = optimizer.param_groups[0]["lr"]
        metrics.update(augment_metrics(self.augment, self.critic_augments))
        for source in self.log_sources:
            metrics.update(source(metrics))
        self._sums, self._counts = {}, {}
        self.log_metrics(metrics)
        self.progress_metrics = {k: metrics[k] for k in ("loss/d", "loss/g") if k in metrics}

    def log_metrics(self, metrics: dict[str, float]) -> None:
        """Send metrics to every logger at step = generator iteration (rank zero only)."""
        if self._trainer is None or not self.trainer.is_global_zero:
            return  # not training (e.g. `python -m gan_lab.evaluate`): nothing to log to
        metrics = {**metrics, "iteration": self.iteration}
        for logger in self.loggers:
            logger.log_metrics(metrics, step=self.iteration)

    def check_finite(self) -> None:
        if bool(self._nonfinite):
            raise NonFiniteLossError(
                f"a loss became NaN or infinite by generator iteration {self.iteration} "
                f"(last logged at {self.iteration - self.iteration % self.log_every}); training "
                "stopped and the last good checkpoint was kept. Try a lower learning rate, "
                "model.clip_grad_norm, or trainer.precision=32."
            )

    def on_train_end(self) -> None:
        self._flush_logs()

    # ----------------------------------------------------------------- checkpoints
    # The integer counters a checkpoint holds besides the weights; a scheme with a stage
    # schedule adds its own (ProGAN's images shown), so a resume continues mid-stage.
    counters: tuple[str, ...] = ("iteration", "batches", "stage", "stage_iteration",
                                 "images_seen")
    # Whether the nets keep their shapes and code paths through training; speed.compile=auto
    # compiles only such nets (progressive growing changes them at every level: recompiles).
    static_nets: bool = True

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        self.check_finite()  # raising here aborts the save; the previous file stays intact
        checkpoint["gan_lab"] = {
            **{name: int(getattr(self, name)) for name in self.counters},
            "rng": _get_rng_state(),
            "config": self.run_config,
            "config_source": self.run_config_source,
            "sample_spec": None if self.sample_spec is None else self.sample_spec.as_dict(),
        }

    def restore_counters(self, state: dict) -> None:
        """The counters from a checkpoint's ``gan_lab`` entry (also for sampling commands)."""
        # "critic_steps": the name of "batches" in checkpoints written before the phases.
        state = {"batches": state.get("critic_steps", 0), "stage": -1, **state}
        for name in self.counters:
            setattr(self, name, int(state.get(name, 0)))
        self._stage_nets_applied = False
        if state.get("sample_spec"):
            self.sample_spec = SampleSpec.from_dict(state["sample_spec"])

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("gan_lab", {})
        self.restore_counters(state)
        # Schedules take their settings from the config, which a resume may extend.
        keep_schedule_positions(checkpoint.get("lr_schedulers", []))
        # Restored at the first training step, after Lightning has finished its own setup,
        # so nothing between loading and training consumes the restored random streams.
        self._rng_to_restore = state.get("rng")


def _add_mean(total: dict[str, Tensor], terms: dict[str, Tensor], parts: int) -> dict[str, Tensor]:
    """``total`` plus each term / parts (detached): the mean of the micro-batches' terms."""
    for name, value in terms.items():
        value = value.detach() / parts
        total[name] = total[name] + value if name in total else value
    return total


def split_batch(batch: Any, parts: int) -> list[Any]:
    """``batch`` (a tensor, or a tuple / list / dict of tensors with the batch first) as
    ``parts`` equal micro-batches; ``[batch]`` for one part. ValueError unless the batch size
    is a multiple of ``parts``."""
    if parts == 1:
        return [batch]
    if isinstance(batch, Tensor):
        if batch.shape[0] % parts:
            raise ValueError(f"model.accumulate={parts}: a batch of {batch.shape[0]} does not split "
                             f"into {parts} equal micro-batches; make data.batch_size a multiple")
        return list(batch.chunk(parts))
    if isinstance(batch, Mapping):
        split = {key: split_batch(value, parts) for key, value in batch.items()}
        return [{key: value[i] for key, value in split.items()} for i in range(parts)]
    if isinstance(batch, list | tuple):
        split = [split_batch(value, parts) for value in batch]
        return [type(batch)(value[i] for value in split) for i in range(parts)]
    return [batch] * parts   # not a tensor (a name, a flag): every part gets it


def _get_rng_state() -> dict:
    """Global RNG states in a form that loads with torch.load(weights_only=True)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
