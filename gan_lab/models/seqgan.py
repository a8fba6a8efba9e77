"""SeqGAN: sequence generation as a policy trained by a discriminator's reward.

Yu, Zhang, Wang & Yu, "SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient" (AAAI
2017), held against the official code (LantaoYu/SeqGAN: ``sequence_gan.py``, ``generator.py``,
``rollout.py``, ``discriminator.py``). Three stages of the base (gan_lab.models.stages):

1. ``mle``: G trained by maximum likelihood (teacher forcing; the official ``pretrain_loss``, mean
   NLL per token) for ``pretrain_epochs`` epochs of the training sequences (120 at HEAD).
2. ``d_pretrain``: D alone, ``d_pretrain_steps`` times (50): negatives regenerated from G, then
   ``d_epochs`` (3) epochs over positives and negatives.
3. ``adversarial``: ``adversarial_epochs`` (200) times: ``g_steps`` (1) policy-gradient steps of G,
   then ``d_steps`` (5) times regenerated negatives and ``d_epochs`` (3) epochs of D (Alg. 1, the
   official (1, 5, 3)).

One iteration is one batch of the training sequences: an MLE step in the first stage, a D step
in the others (D's batch is the positives' batch beside as many negatives of the current pool).
The policy-gradient phase runs on the first iteration of each adversarial epoch, before that
iteration's D step. The negatives are a pool of ``batches_per_epoch x batch`` sequences drawn
from G when a round of ``d_epochs`` begins and read in the same order in each of its epochs (the
official ``Dis_dataloader`` shuffles each file once); it is kept in checkpoints, so a resume
inside a round continues exactly.

The policy gradient (official ``generator.py`` ``g_loss``, ``rollout.py`` ``get_reward``): the
loss is the SUM over batch and time of -log G(y_t | y_<t) R_t, no baseline; R_t for t < T is D's
P(real) of the sequence completed from the prefix y_1..t, averaged over ``rollouts`` (16)
Monte-Carlo completions, and R_T is D's P(real) of the sequence itself; D scores with dropout off.
G's updates (MLE and policy gradient alike) clip the global gradient norm at 5; D's do not. The
official G has two Adam optimizers (``pretrain_opt``, ``g_opt``): here ``generator_mle`` and
``generator``, two groups over the same parameters, so the adversarial stage starts a fresh Adam
as the official does, while D's Adam carries on from its pre-training.

Deviations, said where they are configured: the official rollout network is meant to trail G
(``ROLLOUT(generator, 0.8)``: rollout weights = 0.8 old + 0.2 G), but its TF graph rebuilds every
rollout weight as ``tf.identity`` of G's, so the completions always come from the current G:
``rollout_update_rate=null`` (default) does that; a number keeps a trailing copy (its embedding
stays G's, as in ``update_params``). D's batch holds ``batch`` positives and ``batch`` negatives,
where the official shuffles both files together into batches of 64: the same samples per epoch
in half as many, twice larger updates.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.kinds import BatchKind, SampleKind, batch_kind, sample_spec
from gan_lab.models.base import AdversarialModule
from gan_lab.models.modes import eval_mode
from gan_lab.models.phases import Phase
from gan_lab.models.stages import Stage
from gan_lab.visuals import Visual

__all__ = ["SeqGAN"]


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"model.{name}={value!r}: must be an integer >= {minimum}")
    return int(value)


class SeqGAN(AdversarialModule):
    """SeqGAN (Yu et al. 2017) as its official code: see the module's docstring.

    Args:
        generator: gan_lab.nets.SequenceGenerator (the policy).
        discriminator: gan_lab.nets.TextCNNDiscriminator (real/fake logits, ``l2_penalty``).
        rollouts: Monte-Carlo completions per prefix for the reward (N = 16).
        g_steps, d_steps, d_epochs: an adversarial epoch's policy-gradient steps, negative pools,
            and D epochs per pool (the official 1, 5, 3; the paper's Fig. 3 varies them).
        pretrain_epochs: epochs of MLE pre-training (official HEAD: 120; the paper-era script 80).
        d_pretrain_steps: negative pools of D's pre-training (50), ``d_epochs`` epochs each.
        adversarial_epochs: epochs of the adversarial stage (official TOTAL_BATCH = 200).
        rollout_update_rate: None: completions from the current G (the official graph); a
            number r: from a trailing copy, r * copy + (1 - r) * G after each G step.
        generator_clip_norm: the global gradient norm G's updates are clipped at (5).
        loss: the run's loss group, which must be nsgan's (D's cross-entropy is its D loss; the
            generator's objectives are SeqGAN's own): another is refused.
        **training: AdversarialModule's options.
    """

    num_classes = 0  # unconditional (the sampling protocol's)

    def __init__(self, generator: nn.Module, discriminator: nn.Module, rollouts: int = 16,
                 g_steps: int = 1, d_steps: int = 5, d_epochs: int = 3, pretrain_epochs: int = 120,
                 d_pretrain_steps: int = 50, adversarial_epochs: int = 200,
                 rollout_update_rate: float | None = None, generator_clip_norm: float | None = 5.0,
                 loss: Any = None, **training: Any) -> None:
        super().__init__(**training)
        objective = getattr(loss, "objective", "nsgan")
        if objective != "nsgan":
            raise ValueError(f"loss={objective}: SeqGAN trains with its own objectives (MLE, the "
                             "policy gradient, and D's cross-entropy, which is loss=nsgan's); "
                             "leave loss at its default")
        self.loss = loss
        if self.n_critic != 1:
            raise ValueError(f"model.n_critic={self.n_critic}: SeqGAN reads one batch per iteration "
                             "(its D steps per G step are model.d_steps x model.d_epochs epochs)")
        self.generator, self.discriminator = generator, discriminator
        self.rollouts = _positive_int("rollouts", rollouts)
        self.g_steps = _positive_int("g_steps", g_steps)
        self.d_steps = _positive_int("d_steps", d_steps)
        self.d_epochs = _positive_int("d_epochs", d_epochs)
        self.pretrain_epochs = _positive_int("pretrain_epochs", pretrain_epochs, 0)
        self.d_pretrain_steps = _positive_int("d_pretrain_steps", d_pretrain_steps, 0)
        self.adversarial_epochs = _positive_int("adversarial_epochs", adversarial_epochs, 0)
        if rollout_update_rate is not None and not 0.0 <= float(rollout_update_rate) < 1.0:
            raise ValueError(f"model.rollout_update_rate={rollout_update_rate!r}: a number in "
                             "[0, 1) (the official 0.8), or null for the current G")
        self.rollout_update_rate = (None if rollout_update_rate is None
                                    else float(rollout_update_rate))
        if generator_clip_norm is not None and float(generator_clip_norm) <= 0:
            raise ValueError(f"model.generator_clip_norm={generator_clip_norm!r}: > 0 or null")
        self.generator_clip_norm = None if generator_clip_norm is None else float(generator_clip_norm)
        # The trailing copy the completions come from (not trained: no optimizer group).
        self.rollout_generator = None
        if self.rollout_update_rate is not None:
            self.rollout_generator = copy.deepcopy(generator).requires_grad_(False)
        # Set from the data (check_data): training batches per epoch and their size.
        self.batches_per_epoch: int | None = None
        self.batch_size: int | None = None
        self._negatives: Tensor | None = None  # the pool D's negatives come from

    # ------------------------------------------------------------------ groups, stages, phases
    def optimizer_groups(self) -> dict[str, Any]:
        # Two groups over G: the official pre-training and adversarial Adams.
        return {"generator_mle": self.generator.parameters(),
                "generator": self.generator.parameters(),
                "discriminator": self.discriminator.parameters()}

    def stages(self) -> list[Stage]:
        epoch = self._epoch_length()
        return [
            Stage("mle", length=self.pretrain_epochs * epoch, groups=("generator_mle",)),
            Stage("d_pretrain", length=self.d_pretrain_steps * self.d_epochs * epoch,
                  groups=("discriminator",)),
            # D's Adam carries on; G's adversarial Adam is its own group, fresh anyway.
            Stage("adversarial", length=self.adversarial_epochs * self.adversarial_epoch_length,
                  groups=("generator", "discriminator"), reset_optimizers=False,
                  enter=self._start_rollout_copy),
        ]

    def phases(self) -> list[Phase]:
        return [
            Phase("Gpg", "generator", self.policy_gradient_step, "loss/g", repeat=self.g_steps,
                  stages=("adversarial",), condition=self._adversarial_epoch_begins,
                  after=self._update_rollout_copy),
            Phase("Gmle", "generator_mle", self.mle_step, "loss/g_mle", stages=("mle",)),
            Phase("Dmain", "discriminator", self.discriminator_step, "loss/d", critic=True,
                  stages=("d_pretrain", "adversarial")),
        ]

    @property
    def adversarial_epoch_length(self) -> int:
        """Iterations (D batches) of one adversarial epoch: d_steps pools x d_epochs epochs."""
        return self.d_steps * self.d_epochs * self._epoch_length()

    def _epoch_length(self) -> int:
        # Before check_data has read the data (the optimizer checks, sampling from a
        # checkpoint), the stages keep their names and order with one batch per epoch.
        return self.batches_per_epoch or 1

    def _adversarial_epoch_begins(self) -> bool:
        return self.stage_iteration % self.adversarial_epoch_length == 0

    def on_before_optimizer_step(self, optimizer) -> None:
        super().on_before_optimizer_step(optimizer)
        if self.generator_clip_norm is not None and optimizer is not self._optimizer("discriminator"):
            self.clip_gradients(optimizer, gradient_clip_val=self.generator_clip_norm,
                                gradient_clip_algorithm="norm")

    def _optimizer(self, group: str) -> Any:
        optimizer = self.named_optimizers()[group]
        return getattr(optimizer, "optimizer", optimizer)

    # ------------------------------------------------------------------ the steps
    def mle_step(self, batch: Any) -> dict[str, Tensor]:
        """Teacher-forced maximum likelihood: the mean NLL per token (official pretrain_loss)."""
        return {"loss/g_mle": self.generator.nll(batch[0])}

    def discriminator_step(self, batch: Any) -> dict[str, Tensor]:
        """Softmax cross-entropy on the batch's positives (class 1) and as many pool negatives
        (class 0), plus the L2 of D's output layer (official ``discriminator.py``)."""
        real = batch[0]
        fake = self._negative_batch(len(real))
        tokens = torch.cat([real, fake])
        labels = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))]).long().to(real.device)
        logits = self.discriminator(tokens)
        loss = F.cross_entropy(logits, labels) + self.discriminator.l2_penalty()
        p_real = logits.detach().softmax(-1)[:, 1]
        accuracy = ((p_real > 0.5).long() == labels).float().mean()
        return {"loss/d": loss, "score/real": p_real[: len(real)].mean(),
                "score/fake": p_real[len(real):].mean(), "metrics/d_accuracy": accuracy}

    def policy_gradient_step(self, batch: Any) -> dict[str, Tensor]:
        """-sum_{b,t} log G(y_t | y_<t) R_t over a fresh batch of G's sequences (official g_loss,
        no baseline, summed not averaged)."""
        n = len(batch[0])
        with torch.no_grad():
            samples = self.generator.sample(n)
            rewards = self.rewards(samples)
        loss = -(self.generator.log_probs(samples) * rewards).sum()
        return {"loss/g": loss, "reward/mean": rewards.mean(), "reward/final": rewards[:, -1].mean()}

    @torch.no_grad()
    def rewards(self, samples: Tensor, chunk: int = 4096) -> Tensor:
        """R (B, T): for t < T, D's P(real) of ``rollouts`` completions of the prefix y_1..t,
        averaged; for t = T, D's P(real) of the sequence (official ``Rollout.get_reward``). All
        prefixes' completions are drawn in one batched rollout, then scored in chunks."""
        net = self.rollout_generator if self.rollout_generator is not None else self.generator
        steps = samples.shape[1]
        completions = net.rollout(samples, self.rollouts)  # (N, T-1, B, T)
        flat = completions.reshape(-1, steps)
        with eval_mode(self.discriminator):
            p_real = torch.cat([self.discriminator.p_real(part) for part in flat.split(chunk)])
            final = self.discriminator.p_real(samples)
        prefixes = p_real.view(self.rollouts, steps - 1, len(samples)).mean(0).t()  # (B, T-1)
        return torch.cat([prefixes, final[:, None]], dim=1)

    # ------------------------------------------------------------------ the negatives' pool
    def _negative_batch(self, size: int) -> Tensor:
        """The slice of the pool for this D batch; a new pool from G when a round begins."""
        epoch = self._epoch_length()
        position = self.stage_iteration % (self.d_epochs * epoch)
        if position == 0 or self._negatives is None:
            self._negatives = self.generator.sample(epoch * self.batch_size).detach()
        start = (position % epoch) * self.batch_size
        return self._negatives[start:start + size]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["gan_lab"]["seqgan_negatives"] = self._negatives

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        self._negatives = checkpoint.get("gan_lab", {}).get("seqgan_negatives")

    # ------------------------------------------------------------------ the trailing rollout G
    def _start_rollout_copy(self, batch: Any) -> None:
        if self.rollout_generator is not None:
            self.rollout_generator.load_state_dict(self.generator.state_dict())

    @torch.no_grad()
    def _update_rollout_copy(self) -> None:
        """rate * copy + (1 - rate) * G for the recurrent and output weights; the embedding is
        G's own (official ``Rollout.update_params``)."""
        if self.rollout_generator is None:
            return
        rate = self.rollout_update_rate
        for (name, copied), current in zip(self.rollout_generator.named_parameters(),
                                           self.generator.parameters(), strict=True):
            if name.startswith("embedding"):
                copied.copy_(current)
            else:
                copied.mul_(rate).add_(current, alpha=1.0 - rate)

    # ------------------------------------------------------------------ data, sampling, visuals
    def check_data(self, datamodule) -> None:
        """Token sequences of G's length and vocabulary; the epoch's batches set the stages."""
        if batch_kind(datamodule) != BatchKind.TOKEN_SEQUENCES:
            raise ValueError(f"data: a {datamodule.batch_kind} set, but SeqGAN generates token "
                             "sequences; use data=oracle_lstm or a text set (data=text_folder)")
        spec = sample_spec(datamodule)
        if tuple(spec.shape) != (self.generator.seq_len,) or spec.vocab_size != self.generator.vocab_size:
            raise ValueError(
                f"model.generator makes sequences of {self.generator.seq_len} tokens over "
                f"{self.generator.vocab_size} ids but the data gives {tuple(spec.shape)} over "
                f"{spec.vocab_size}; set model.generator.seq_len / vocab_size to the data's")
        self.batch_size = int(datamodule.batch_size)
        # Full batches only, as the data's loader (and the official loader's num_batch).
        self.batches_per_epoch = int(datamodule.num_train) // self.batch_size

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """The randomness of n sequences: U[0, 1) per position, turned into tokens by inverse
        transform sampling (so fixed noise gives fixed sequences)."""
        steps = self.generator.seq_len
        if generator is not None:
            return torch.rand(n, steps, generator=generator).to(self.device)
        return torch.rand(n, steps, device=self.device)

    @torch.no_grad()
    def sample(self, n: int | None = None, labels: Tensor | None = None,
               noise: Tensor | None = None, temperature: float = 1.0, **options: Any) -> Tensor:
        """Token ids (n, T) sampled from G (softmax(logits / temperature)), from ``noise``'s
        uniforms when given."""
        if labels is not None:
            raise ValueError("SeqGAN is unconditional: sample() takes no labels")
        if options:
            raise ValueError(f"SeqGAN's sample() takes temperature, not {', '.join(options)}")
        if noise is None:
            if n is None:
                raise ValueError("sample() needs n or noise")
            noise = self.noise(n)
        return self.generator.sample(len(noise), temperature=float(temperature), uniforms=noise)

    sample_options = ("temperature",)

    @staticmethod
    def interpolate_codes(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
        """The sample command's path between two noises: linear, so the uniforms stay in
        [0, 1) and the sequences change token by token (a sphere suits Gaussian codes only)."""
        return torch.lerp(a, b, t)

    def visual_inputs(self, datamodule, count: int, nrow: int, generator: torch.Generator) -> Any:
        return self.noise(count, generator=generator)

    def visuals(self, inputs: Any) -> dict[str, Visual]:
        """The fixed inputs' sequences as text, through the data's vocabulary when it has one."""
        spec = getattr(self, "sample_spec", None)
        extras = dict(spec.extras or {}) if spec is not None else {}
        options = {key: extras[key] for key in ("vocabulary", "end_token") if key in extras}
        return {"samples": Visual(SampleKind.TOKENS, self.sample(noise=inputs), options=options)}
