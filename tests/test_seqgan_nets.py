"""SeqGAN nets (gan_lab.nets.seqgan) against the official LantaoYu/SeqGAN code's maths.

The references below are written from the official equations (generator.py's LSTM cell and
output unit, rollout.py's given_num loop, discriminator.py's conv / max-pool / highway / output
and loss), in float64 numpy, and compared with the nets on tiny sizes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gan_lab.nets import SequenceGenerator, TextCNNDiscriminator
from gan_lab.nets.seqgan import inverse_cdf

TINY_G = dict(vocab_size=5, embed_dim=3, hidden_dim=4, seq_len=5, start_token=2, init_std=1.0)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def tiny_generator(**overrides) -> SequenceGenerator:
    """A sharp tiny G in float64 (so references and inverse-CDF draws agree to rounding).
    W_o doubled and b_o zero make every token's distribution depend clearly on the tokens read
    (at random init b_o dominates), so a wrong state or fed-back token changes the draws."""
    g = SequenceGenerator(**{**TINY_G, **overrides}).double()
    with torch.no_grad():
        g.w_out.mul_(2.0)
        g.b_out.zero_()
    return g


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class OfficialLSTM:
    """generator.py's recurrent and output units, with its twelve named gate variables cut out
    of the net's stored blocks (order i, f, o, c~) and the rest copied."""

    def __init__(self, g: SequenceGenerator):
        H = g.hidden_dim
        w, u, b = (t.detach().numpy() for t in (g.w_input, g.w_hidden, g.bias))
        self.Wi, self.Wf, self.Wog, self.Wc = (w[:, k * H:(k + 1) * H] for k in range(4))
        self.Ui, self.Uf, self.Uog, self.Uc = (u[:, k * H:(k + 1) * H] for k in range(4))
        self.bi, self.bf, self.bog, self.bc = (b[k * H:(k + 1) * H] for k in range(4))
        self.emb = g.embedding.detach().numpy()
        self.Wo, self.bo = g.w_out.detach().numpy(), g.b_out.detach().numpy()
        self.H, self.start = H, g.start_token

    def unit(self, x, h, c):
        i = sigmoid(x @ self.Wi + h @ self.Ui + self.bi)
        f = sigmoid(x @ self.Wf + h @ self.Uf + self.bf)
        o = sigmoid(x @ self.Wog + h @ self.Uog + self.bog)
        c_ = np.tanh(x @ self.Wc + h @ self.Uc + self.bc)
        c = f * c + i * c_  # c' = f * c_prev + i * c~
        return o * np.tanh(c), c

    def logits(self, h):
        return h @ self.Wo + self.bo

    def teacher_forced(self, tokens):
        """_pretrain_recurrence: the start token first, then token t-1 at step t."""
        out = []
        for seq in tokens:
            h, c, x, rows = np.zeros(self.H), np.zeros(self.H), self.emb[self.start], []
            for y in seq:
                h, c = self.unit(x, h, c)
                rows.append(self.logits(h))
                x = self.emb[y]
            out.append(rows)
        return np.array(out)

    def draw(self, h, u):
        """Inverse transform sampling of softmax(logits): first id with cdf > u."""
        cdf = np.cumsum(softmax(self.logits(h)))
        return int(min(np.searchsorted(cdf, u * cdf[-1], side="right"), len(cdf) - 1))

    def rollout_one(self, seq, given, u):
        """rollout.py: given_num steps read the given tokens, the rest feed back their draws."""
        h, c, x, out = np.zeros(self.H), np.zeros(self.H), self.emb[self.start], []
        for i in range(len(seq)):
            h, c = self.unit(x, h, c)
            y = int(seq[i]) if i < given else self.draw(h, u[i])
            out.append(y)
            x = self.emb[y]
        return out


# ----------------------------------------------------------------------------- generator


def test_generator_parameter_count_at_paper_settings():
    g = SequenceGenerator()
    # embedding + 4 gates x (W (E x H) + U (H x H) + ONE bias) + output W_o, b_o
    assert count(g) == 5000 * 32 + 4 * (32 * 32 + 32 * 32 + 32) + 32 * 5000 + 5000 == 333_320
    assert g.bias.shape == (4 * 32,)  # one bias per gate, not torch.nn.LSTM's two
    assert (g.vocab_size, g.embed_dim, g.hidden_dim, g.seq_len, g.start_token, g.init_std) == (
        5000, 32, 32, 20, 0, 0.1)


def test_generator_init_is_normal_std_init_std_everywhere():
    g = SequenceGenerator()
    for name, p in g.named_parameters():
        assert abs(p.std().item() - 0.1) < 0.1 * (0.02 if p.numel() > 4000 else 0.2), name
        assert abs(p.mean().item()) < 0.02, name


def test_lstm_cell_and_logits_match_the_official_equations():
    g = tiny_generator()
    tokens = torch.randint(0, 5, (3, 5))
    expected = OfficialLSTM(g).teacher_forced(tokens.numpy())
    got = g(tokens)
    assert got.shape == (3, 5, 5) and got.dtype == torch.float64
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-10, atol=1e-12)


def test_float32_forward_shapes_and_dtypes():
    g = SequenceGenerator(vocab_size=11, seq_len=6)
    tokens = torch.randint(0, 11, (4, 6))
    assert g(tokens).shape == (4, 6, 11) and g(tokens).dtype == torch.float32
    assert g.log_probs(tokens).shape == (4, 6)
    assert g.nll(tokens).shape == ()


def test_teacher_forcing_reads_the_start_token_then_the_previous_token():
    g = tiny_generator()
    a = torch.tensor([[0, 1, 2, 3, 4]])
    b = a.clone()
    b[0, 2] = 0  # change token 2: logits 0..2 must not move, 3.. must
    la, lb = g(a), g(b)
    torch.testing.assert_close(la[:, :3], lb[:, :3])
    assert not torch.allclose(la[:, 3], lb[:, 3])
    # Step 0 reads the start token: one step from zeros on its embedding.
    zeros = torch.zeros(1, g.hidden_dim, dtype=torch.float64)
    h, _ = g.step(g.embedding[g.start_token][None], zeros, zeros)
    torch.testing.assert_close(la[:, 0], h @ g.w_out + g.b_out)
    g.start_token = 4
    assert not torch.allclose(g(a)[:, 0], la[:, 0])


def test_log_probs_and_nll_are_the_official_pretrain_loss():
    g = tiny_generator()
    tokens = torch.randint(0, 5, (4, 5))
    probs = softmax(OfficialLSTM(g).teacher_forced(tokens.numpy()))
    onehot = np.eye(5)[tokens.numpy()]
    # pretrain_loss = -sum(one_hot * log(clip(p, 1e-20, 1))) / (T * B)
    official = -(onehot * np.log(np.clip(probs, 1e-20, 1.0))).sum() / (5 * 4)
    lp = g.log_probs(tokens)
    np.testing.assert_allclose(lp.detach().numpy(), np.log((onehot * probs).sum(-1)), rtol=1e-10)
    torch.testing.assert_close(g.nll(tokens), -lp.mean())
    assert g.nll(tokens).item() == pytest.approx(official, rel=1e-10)


def test_sample_is_reproducible_and_follows_the_official_recurrence():
    g = tiny_generator()
    s1 = g.sample(50, generator=torch.Generator().manual_seed(3))
    s2 = g.sample(50, generator=torch.Generator().manual_seed(3))
    assert s1.shape == (50, 5) and s1.dtype == torch.long
    assert torch.equal(s1, s2)
    assert not torch.equal(s1, g.sample(50, generator=torch.Generator().manual_seed(4)))
    torch.manual_seed(9)
    s3 = g.sample(50)
    torch.manual_seed(9)
    assert torch.equal(s3, g.sample(50))
    # generator.py's _g_recurrence with the same uniforms (torch.rand(n, T) from the seed).
    u = torch.rand(50, 5, generator=torch.Generator().manual_seed(3)).double().numpy()
    ref = OfficialLSTM(g)
    expected = [ref.rollout_one(np.zeros(5), 0, row) for row in u]  # given_num 0 = sampling
    assert s1.tolist() == expected
    assert torch.equal(g.sample(50, uniforms=torch.from_numpy(u)), s1)
    assert not s1.requires_grad


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_sample_first_token_frequencies_match_softmax(temperature):
    g = tiny_generator()
    n = 20000
    first = g.sample(n, generator=torch.Generator().manual_seed(1), temperature=temperature)[:, 0]
    freq = torch.bincount(first, minlength=5).double() / n
    expected = torch.softmax(g(torch.zeros(1, 5, dtype=torch.long))[0, 0] / temperature, -1)
    # binomial std <= sqrt(0.25 / n) = 0.0035: 5 sigma
    torch.testing.assert_close(freq, expected.detach(), atol=0.018, rtol=0)


def test_inverse_cdf_picks_the_interval_holding_u():
    logits = torch.log(torch.tensor([[0.2, 0.0, 0.5, 0.3]]).expand(6, 4))  # p = 0 never drawn
    u = torch.tensor([0.0, 0.1999, 0.2001, 0.69, 0.71, 0.99999])
    assert inverse_cdf(logits, u).tolist() == [0, 0, 2, 2, 3, 3]


def test_sample_checks_its_arguments():
    g = tiny_generator()
    with pytest.raises(ValueError, match="temperature"):
        g.sample(2, temperature=0.0)
    with pytest.raises(ValueError, match="uniforms"):
        g.sample(2, uniforms=torch.rand(3, 5))


# ----------------------------------------------------------------------------- rollout


def test_rollout_shape_prefixes_and_reproducibility():
    g = tiny_generator()
    tokens = torch.randint(0, 5, (3, 5))
    r = g.rollout(tokens, 4, generator=torch.Generator().manual_seed(0))
    assert r.shape == (4, 4, 3, 5) and r.dtype == torch.long and not r.requires_grad
    for given in range(1, 5):
        assert torch.equal(r[:, given - 1, :, :given], tokens[:, :given].expand(4, 3, given))
    assert torch.equal(r, g.rollout(tokens, 4, generator=torch.Generator().manual_seed(0)))
    assert not torch.equal(r, g.rollout(tokens, 4, generator=torch.Generator().manual_seed(1)))
    assert ((r >= 0) & (r < 5)).all()


def test_batched_rollout_equals_the_official_given_num_loop():
    g = tiny_generator()
    tokens = torch.randint(0, 5, (3, 5))
    runs = 4
    r = g.rollout(tokens, runs, generator=torch.Generator().manual_seed(7))
    # The same uniforms, torch.rand((N, T-1, B, T)), through rollout.py's loop one by one.
    u = torch.rand((runs, 4, 3, 5), generator=torch.Generator().manual_seed(7)).double().numpy()
    ref = OfficialLSTM(g)
    for n in range(runs):
        for given in range(1, 5):
            for b in range(3):
                expected = ref.rollout_one(tokens[b].numpy(), given, u[n, given - 1, b])
                assert r[n, given - 1, b].tolist() == expected, (n, given, b)


def test_rollout_continuations_follow_the_prefix_distributions():
    g = tiny_generator(vocab_size=3)
    tokens = torch.tensor([[0, 1, 2, 1, 0], [2, 2, 0, 1, 1]])
    runs = 6000
    r = g.rollout(tokens, runs, generator=torch.Generator().manual_seed(2))
    logits = g(tokens).detach()
    for given in range(1, 5):
        for b in range(2):
            # First continued token ~ G(. | tokens[b, :given]) = softmax(logits[b, given]).
            freq = torch.bincount(r[:, given - 1, b, given], minlength=3).double() / runs
            torch.testing.assert_close(freq, torch.softmax(logits[b, given], -1),
                                       atol=0.035, rtol=0)
    # Two continued tokens (prefix length 1): the joint is p(a | y0) p(c | y0, a).
    for b in range(2):
        pairs = r[:, 0, b, 1] * 3 + r[:, 0, b, 2]
        freq = torch.bincount(pairs, minlength=9).double() / runs
        joint = torch.zeros(9, dtype=torch.float64)
        for a in range(3):
            seq = tokens[b:b + 1].clone()
            seq[0, 1] = a
            lg = g(seq).detach()[0]
            joint[a * 3:(a + 1) * 3] = torch.softmax(lg[1], -1)[a] * torch.softmax(lg[2], -1)
        torch.testing.assert_close(freq, joint, atol=0.03, rtol=0)


def test_rollout_checks_its_arguments():
    g = tiny_generator()
    with pytest.raises(ValueError, match="num_rollouts"):
        g.rollout(torch.zeros(2, 5, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="uniforms"):
        g.rollout(torch.zeros(2, 5, dtype=torch.long), 2, uniforms=torch.rand(2, 4, 2, 4))


# ----------------------------------------------------------------------------- discriminator

TINY_D = dict(vocab_size=6, seq_len=5, embed_dim=3, filter_sizes=(1, 2, 5), num_filters=(2, 3, 1))


def official_discriminator(d: TextCNNDiscriminator, tokens: np.ndarray) -> np.ndarray:
    """discriminator.py at keep_prob 1: per width w a VALID conv of [w x E] filters over the
    [T x E] embedded image, bias, ReLU, max over the T - w + 1 positions; concat; highway
    (linear: x Matrix^T + Bias; t = sigmoid(gate + bias), out = t relu(lin) + (1 - t) x);
    scores = h W + b."""
    emb = d.embedding.weight.detach().double().numpy()[tokens]  # (B, T, E)
    pooled = []
    for conv in d.convs:
        # torch (n, E, w) -> the official filter [w, E, n]
        filt = conv.weight.detach().double().numpy().transpose(2, 1, 0)
        w = filt.shape[0]
        maps = np.stack([np.einsum("bie,ien->bn", emb[:, p:p + w], filt)
                         for p in range(emb.shape[1] - w + 1)], 1)
        pooled.append(np.maximum(maps + conv.bias.detach().double().numpy(), 0).max(1))
    x = np.concatenate(pooled, 1)
    hw = d.highway

    def linear(layer, v):
        return v @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy()

    t = sigmoid(linear(hw.gate, x) + hw.gate_bias)
    h = t * np.maximum(linear(hw.transform, x), 0) + (1 - t) * x
    return linear(d.out, h), x


def test_discriminator_parameter_count_at_paper_settings():
    d = TextCNNDiscriminator()
    features = 1720
    convs = sum(w * 64 * n + n for w, n in zip(d.filter_sizes, d.num_filters, strict=True))
    assert sum(d.num_filters) == features
    assert count(d) == 5000 * 64 + convs + 2 * (features**2 + features) + features * 2 + 2
    assert count(d) == 7_045_402


def test_discriminator_init_as_official():
    d = TextCNNDiscriminator()
    emb = d.embedding.weight
    assert emb.min() >= -1 and emb.max() <= 1 and abs(emb.std().item() - 2 / math.sqrt(12)) < 0.01
    for conv in (*d.convs, d.out):
        assert conv.weight.abs().max() <= 0.2  # tf.truncated_normal: re-drawn beyond 2 std
        assert torch.all(conv.bias == 0.1)
    big = torch.cat([c.weight.flatten() for c in d.convs])
    # std of N(0, 0.1) truncated at +-2 std: 0.1 * 0.8796
    assert abs(big.std().item() - 0.08796) < 0.002
    limit = math.sqrt(6 / (2 * 1720))  # TF1 get_variable default: Glorot uniform
    for layer in (d.highway.gate, d.highway.transform):
        for p in (layer.weight, layer.bias):
            assert p.abs().max() <= limit
            assert abs(p.std().item() - limit / math.sqrt(3)) < limit * 0.05
    assert d.highway.gate_bias == 0.0


@pytest.mark.parametrize("highway_bias", [0.0, -1.5])
def test_discriminator_matches_the_official_graph(highway_bias):
    d = TextCNNDiscriminator(**TINY_D, highway_bias=highway_bias).double().eval()
    tokens = torch.randint(0, 6, (4, 5))
    expected, features = official_discriminator(d, tokens.numpy())
    np.testing.assert_allclose(d.features(tokens).detach().numpy(), features, rtol=1e-10)
    logits = d(tokens)
    assert logits.shape == (4, 2)
    np.testing.assert_allclose(logits.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(d.p_real(tokens).detach().numpy(), softmax(expected)[:, 1],
                               rtol=1e-10)


def test_max_over_time_sees_every_position():
    d = TextCNNDiscriminator(**TINY_D).double().eval()
    tokens = torch.zeros(1, 5, dtype=torch.long)
    base = d.features(tokens)
    # Width-1 maps: a token moved to the last position must still reach the max.
    with torch.no_grad():
        d.embedding.weight[5] = 10.0
        d.convs[0].weight.fill_(1.0)
    tokens[0, 4] = 5
    assert torch.all(d.features(tokens)[0, :2] >= 30.0) and torch.all(base[0, :2] < 30.0)


def test_l2_penalty_and_loss_values():
    d = TextCNNDiscriminator(**TINY_D).double().eval()
    with torch.no_grad():
        d.out.weight.copy_(torch.arange(12, dtype=torch.float64).view(2, 6) / 10)
        d.out.bias.copy_(torch.tensor([0.3, -0.4], dtype=torch.float64))
    l2 = (np.arange(12) ** 2 / 100).sum() / 2 + (0.09 + 0.16) / 2
    assert d.l2_penalty().item() == pytest.approx(0.2 * l2, rel=1e-12)
    tokens = torch.randint(0, 6, (4, 5))
    labels = torch.tensor([1, 0, 1, 1])
    logits, _ = official_discriminator(d, tokens.numpy())
    onehot = np.eye(2)[labels.numpy()]  # official: [0, 1] real, [1, 0] fake
    ce = -(onehot * np.log(softmax(logits))).sum(1).mean()
    assert d.loss(tokens, labels).item() == pytest.approx(ce + 0.2 * l2, rel=1e-10)
    with pytest.raises(ValueError, match="labels"):
        d.loss(tokens, labels.double())


def test_dropout_only_in_train_mode():
    d = TextCNNDiscriminator(**TINY_D)
    assert d.dropout.p == 0.25
    tokens = torch.randint(0, 6, (64, 5))
    d.eval()
    torch.testing.assert_close(d(tokens), d(tokens))
    d.train()
    assert not torch.allclose(d(tokens), d(tokens))


def test_discriminator_argument_errors():
    with pytest.raises(ValueError, match=r"wider than seq_len=10"):
        TextCNNDiscriminator(seq_len=10)
    with pytest.raises(ValueError, match="same length"):
        TextCNNDiscriminator(**{**TINY_D, "num_filters": (2, 3)})
    d = TextCNNDiscriminator(**TINY_D)
    with pytest.raises(ValueError, match="seq_len"):
        d(torch.zeros(2, 4, dtype=torch.long))
    # A CPU-sized D: fewer, narrower filters.
    small = TextCNNDiscriminator(vocab_size=50, seq_len=8, embed_dim=16, filter_sizes=(2, 3, 8),
                                 num_filters=(8, 8, 4))
    out = small.eval().p_real(torch.randint(0, 50, (3, 8)))
    assert out.shape == (3,) and ((out > 0) & (out < 1)).all()
