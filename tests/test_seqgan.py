"""SeqGAN's scheme (gan_lab/models/seqgan.py) against a hand-written reference of the official
computation (LantaoYu/SeqGAN: rollout.py get_reward, generator.py g_loss), its stages and the
order of its steps, and a run through every stage that resumes exactly at their boundaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gan_lab.models.seqgan import SeqGAN
from gan_lab.nets import SequenceGenerator, TextCNNDiscriminator
from tests.conftest import assert_same_training_state, train

VOCAB, STEPS = 7, 5
# A tiny oracle run: 32 training sequences in batches of 16 (an epoch is 2 iterations).
TINY = ["model=seqgan", "data.vocab_size=7", "data.seq_len=5", "data.num_train=32",
        "data.num_test=32", "data.batch_size=16", "model.discriminator.filter_sizes=[1,2,3]",
        "model.discriminator.num_filters=[3,3,3]", "model.discriminator.embed_dim=4",
        "model.generator.embed_dim=4", "model.generator.hidden_dim=4", "model.rollouts=3",
        "model.pretrain_epochs=1", "model.d_pretrain_steps=1", "model.d_epochs=1",
        "model.d_steps=1", "model.adversarial_epochs=2", "model.log_every=1",
        "callbacks.progress=null", "callbacks.samples=null", "callbacks.health=null", "eval=none"]


def _scheme(**options) -> SeqGAN:
    torch.manual_seed(0)
    generator = SequenceGenerator(vocab_size=VOCAB, embed_dim=4, hidden_dim=4, seq_len=STEPS)
    discriminator = TextCNNDiscriminator(vocab_size=VOCAB, seq_len=STEPS, embed_dim=4,
                                         filter_sizes=(1, 2), num_filters=(3, 3))
    adam = lambda params: torch.optim.Adam(params)  # noqa: E731
    return SeqGAN(generator, discriminator, optimizers={"generator_mle": adam, "generator": adam,
                                                       "discriminator": adam}, **options)


def test_rewards_are_the_official_rollout_means_and_the_last_is_d_on_the_sequence(monkeypatch):
    scheme = _scheme(rollouts=3)
    samples = torch.randint(VOCAB, (2, STEPS), generator=torch.Generator().manual_seed(1))
    completions = torch.randint(VOCAB, (3, STEPS - 1, 2, STEPS),
                                generator=torch.Generator().manual_seed(2))
    monkeypatch.setattr(scheme.generator, "rollout", lambda tokens, n: completions)
    score = {}  # D's P(real) of a sequence: a fixed function of its tokens

    def p_real(tokens):
        return torch.tensor([score.setdefault(tuple(t.tolist()), (sum(t.tolist()) % 5) / 5.0)
                             for t in tokens])

    monkeypatch.setattr(scheme.discriminator, "p_real", p_real)
    rewards = scheme.rewards(samples).numpy()
    # rollout.py get_reward: rewards[given_num - 1] += D(rollout) for each of N rollouts, the
    # last column D(samples), all divided by N (the last is D's own score: N / N).
    expected = np.zeros((STEPS, 2))
    for i in range(3):
        for given in range(1, STEPS):
            expected[given - 1] += p_real(completions[i, given - 1]).numpy()
        expected[STEPS - 1] += p_real(samples).numpy()
    np.testing.assert_allclose(rewards, (expected / 3).T, rtol=1e-6)


def test_the_policy_gradient_loss_is_the_official_sum_without_baseline(monkeypatch):
    scheme = _scheme()
    samples = torch.randint(VOCAB, (3, STEPS), generator=torch.Generator().manual_seed(3))
    rewards = torch.rand(3, STEPS, generator=torch.Generator().manual_seed(4))
    monkeypatch.setattr(scheme.generator, "sample", lambda n, **kw: samples[:n])
    monkeypatch.setattr(scheme, "rewards", lambda s: rewards)
    terms = scheme.policy_gradient_step((torch.zeros(3, STEPS, dtype=torch.long),))
    # g_loss = -reduce_sum(reduce_sum(one_hot(x) * log(g_predictions), 1) * rewards)
    logits = scheme.generator(samples).detach()
    probabilities = torch.softmax(logits, -1).numpy()
    loss = 0.0
    for b in range(3):
        for t in range(STEPS):
            loss -= math.log(probabilities[b, t, samples[b, t]]) * float(rewards[b, t])
    assert float(terms["loss/g"]) == pytest.approx(loss, rel=1e-5)


def test_stages_and_the_adversarial_epoch_follow_the_data():
    scheme = _scheme(pretrain_epochs=3, d_pretrain_steps=2, d_epochs=3, d_steps=5,
                     adversarial_epochs=4)

    class Data:
        batch_kind, batch_size, num_train = "token sequences", 64, 10000
        from gan_lab.kinds import SampleSpec
        sample_spec = SampleSpec("tokens", (STEPS,), "int64", vocab_size=VOCAB)

    scheme.check_data(Data())
    epoch = 10000 // 64  # 156 full batches, as the loader (drop_last) and the official num_batch
    assert scheme.batches_per_epoch == epoch
    lengths = {stage.name: stage.length for stage in scheme.stages()}
    assert lengths == {"mle": 3 * epoch, "d_pretrain": 2 * 3 * epoch,
                       "adversarial": 4 * 5 * 3 * epoch}
    assert scheme.adversarial_epoch_length == 5 * 3 * epoch
    # G's two Adams are groups over the same parameters; D's is its own
    groups = {name: list(params) for name, params in scheme.optimizer_groups().items()}
    assert all(a is b for a, b in zip(groups["generator_mle"], groups["generator"], strict=True))


def test_a_run_goes_through_every_stage_in_the_official_order_and_resumes_exactly(tmp_path):
    # epoch = 2 iterations: mle 0-1, d_pretrain 2-3, adversarial 4-7 (two epochs of 2 D batches,
    # each starting with the policy-gradient step)
    straight = tmp_path / "straight"
    train(straight, *TINY, "iterations=100", "callbacks.checkpoint.every_n_iterations=1",
          "+callbacks.checkpoint.save_top_k=-1")
    rows = [line.split(",") for line in (straight / "metrics.csv").read_text().splitlines()]
    header, rows = rows[0], rows[1:]
    column = {name: i for i, name in enumerate(header)}
    logged = {int(float(r[column["step"]])): {k for k in ("loss/g_mle", "loss/d", "loss/g")
                                               if r[column[k]] != ""} for r in rows}
    assert logged[1] == logged[2] == {"loss/g_mle"}
    assert logged[3] == logged[4] == {"loss/d"}
    assert logged[5] == {"loss/g", "loss/d"} and logged[6] == {"loss/d"}
    assert logged[7] == {"loss/g", "loss/d"} and max(logged) == 8  # the stages end the run
    for cut in (2, 4, 5):  # at MLE -> D, at D -> adversarial, inside an adversarial epoch
        resumed = tmp_path / f"resumed{cut}"
        ckpt = straight / "checkpoints" / f"iter_{cut:07d}.ckpt"
        train(resumed, *TINY, "iterations=100", f"ckpt_path={ckpt}")
        assert_same_training_state(straight / "checkpoints" / "last.ckpt",
                                   resumed / "checkpoints" / "last.ckpt")


def test_noise_is_uniforms_that_fix_the_sequences_and_interpolate_linearly():
    scheme = _scheme()
    a, b = scheme.noise(3, torch.Generator().manual_seed(5)), scheme.noise(3)
    assert a.min() >= 0 and a.max() < 1 and a.shape == (3, STEPS)
    assert torch.equal(scheme.sample(noise=a), scheme.sample(noise=a.clone()))
    path = scheme.interpolate_codes(a[:, None], b[:, None], torch.linspace(0, 1, 4)[None, :, None])
    assert torch.equal(path[:, 0], a) and torch.allclose(path[:, -1], b)
    assert path.min() >= 0 and path.max() < 1  # still uniforms: tokens change one by one
    with pytest.raises(ValueError, match="takes temperature"):
        scheme.sample(2, truncation_psi=0.5)
