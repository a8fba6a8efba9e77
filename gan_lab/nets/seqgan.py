"""SeqGAN's nets: the LSTM policy and the text-CNN discriminator.

Yu, Zhang, Wang & Yu, "SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient" (AAAI
2017), as its official code builds them (github.com/LantaoYu/SeqGAN): ``generator.py`` (the
LSTM, ``init_matrix``), ``rollout.py`` (Monte-Carlo completions of prefixes) and
``discriminator.py`` (Kim 2014's CNN for sentence classification with one highway layer,
Srivastava et al. 2015). The defaults are ``sequence_gan.py``'s settings: 333,320 parameters in
G, 7,045,402 in D.

Sampling is inverse transform sampling: one U[0, 1) per drawn token picks the token whose
cumulative probability interval holds it. That is a categorical (``tf.multinomial``) draw, but
each token is tied to one named uniform, so a fixed noise tensor gives fixed sequences and the
batched rollout gives exactly what a slow per-prefix loop gives from the same uniforms.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["SequenceGenerator", "TextCNNDiscriminator"]

# sequence_gan.py: dis_filter_sizes / dis_num_filters (1,720 feature maps in all).
SEQGAN_FILTER_SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
SEQGAN_NUM_FILTERS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)


def _uniforms(shape: tuple[int, ...], generator: torch.Generator | None,
              device: torch.device) -> Tensor:
    """U[0, 1) of ``shape`` on ``device``, from ``generator`` when given (drawn on the
    generator's own device, so a CPU generator gives the same numbers for a CUDA model)."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def inverse_cdf(logits: Tensor, uniforms: Tensor, temperature: float = 1.0) -> Tensor:
    """Token ids drawn from softmax(logits / temperature) by the uniforms (logits (..., V),
    uniforms (...)): the first id whose cumulative probability exceeds u."""
    return _inverse_cdf_(logits / temperature, uniforms)


def _inverse_cdf_(scores: Tensor, uniforms: Tensor) -> Tensor:
    """inverse_cdf of softmax(scores), overwriting ``scores``. The cumulative sums stay
    unnormalized and u is scaled by their total instead: one pass less over (..., V), and no
    id past the end where a float cumsum ends a little below 1."""
    cdf = scores.sub_(scores.amax(-1, keepdim=True)).exp_().cumsum_(-1)
    values = uniforms.to(cdf.dtype).unsqueeze(-1) * cdf[..., -1:]
    ids = torch.searchsorted(cdf, values, right=True).squeeze(-1)
    return ids.clamp_max(scores.shape[-1] - 1)


class SequenceGenerator(nn.Module):
    """SeqGAN's generator G_theta (Yu et al. 2017, sec. 4; official ``generator.py``).

    One LSTM layer without peepholes, as the official cell (per gate one input matrix, one
    recurrent matrix and ONE bias, unlike torch.nn.LSTM's two):
    ``i, f, o = sigmoid(x W_* + h U_* + b_*)``, ``c~ = tanh(x W_c + h U_c + b_c)``,
    ``c' = f c + i c~``, ``h' = o tanh(c')``, logits ``h' W_o + b_o``. The four gates' matrices are
    stored side by side (``w_input`` (E, 4H), ``w_hidden`` (H, 4H), ``bias`` (4H) in the order
    i, f, o, c~), the same numbers as the official twelve variables, one matmul per step. The
    state starts at zeros and the first input is the start token's embedding. Every parameter,
    biases and embedding included, is N(0, init_std) (``init_matrix``: 0.1).

    forward(tokens (B, T) long) -> logits (B, T, V): teacher forcing, step t reads token t-1
    (the start token at t = 0) and scores token t.
    """

    def __init__(self, vocab_size: int = 5000, embed_dim: int = 32, hidden_dim: int = 32,
                 seq_len: int = 20, start_token: int = 0, init_std: float = 0.1) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_dim", embed_dim),
                            ("hidden_dim", hidden_dim), ("seq_len", seq_len)):
            if int(value) < 1:
                raise ValueError(f"{name}={value}: must be a positive integer")
        if not 0 <= int(start_token) < int(vocab_size):
            raise ValueError(f"start_token={start_token}: must be an id below vocab_size="
                             f"{vocab_size}")
        self.vocab_size, self.embed_dim = int(vocab_size), int(embed_dim)
        self.hidden_dim, self.seq_len = int(hidden_dim), int(seq_len)
        self.start_token, self.init_std = int(start_token), float(init_std)
        gates = 4 * self.hidden_dim
        self.embedding = nn.Parameter(torch.empty(self.vocab_size, self.embed_dim))
        self.w_input = nn.Parameter(torch.empty(self.embed_dim, gates))
        self.w_hidden = nn.Parameter(torch.empty(self.hidden_dim, gates))
        self.bias = nn.Parameter(torch.empty(gates))
        self.w_out = nn.Parameter(torch.empty(self.hidden_dim, self.vocab_size))
        self.b_out = nn.Parameter(torch.empty(self.vocab_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, init_std) everywhere, as the official ``init_matrix`` (biases too)."""
        for p in self.parameters():
            nn.init.normal_(p, 0.0, self.init_std)

    # ------------------------------------------------------------------ the cell
    def _gates_to_state(self, gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """(h', c') from the pre-activations (..., 4H) in the order i, f, o, c~."""
        i, f, o, cand = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(cand)
        return torch.sigmoid(o) * torch.tanh(c), c

    def step(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """One LSTM step: input embeddings x (..., E), state h, c (..., H) -> (h', c')."""
        return self._gates_to_state(x @ self.w_input + h @ self.w_hidden + self.bias, c)

    def _inputs(self, tokens: Tensor) -> Tensor:
        """The embeddings step t reads: the start token's, then tokens[:, :-1]'s."""
        start = tokens.new_full((tokens.shape[0], 1), self.start_token)
        return F.embedding(torch.cat([start, tokens[:, :-1]], dim=1), self.embedding)

    def states(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher-forced states h, c (B, T, H): entry t is the state after reading the start
        token and tokens[:, :t], the one whose logits score token t."""
        if tokens.dim() != 2:
            raise ValueError(f"tokens of shape {tuple(tokens.shape)}: expected (batch, time)")
        batch, steps = tokens.shape
        # The input half of every step's gates in one matmul; only h U stays in the loop.
        pre = self._inputs(tokens) @ self.w_input + self.bias  # (B, T, 4H)
        h = pre.new_zeros(batch, self.hidden_dim)
        c = pre.new_zeros(batch, self.hidden_dim)
        hs, cs = [], []
        for t in range(steps):
            h, c = self._gates_to_state(pre[:, t] + h @ self.w_hidden, c)
            hs.append(h)
            cs.append(c)
        return torch.stack(hs, 1), torch.stack(cs, 1)

    def forward(self, tokens: Tensor) -> Tensor:
        h, _ = self.states(tokens)
        return h @ self.w_out + self.b_out

    def log_probs(self, tokens: Tensor) -> Tensor:
        """log G(y_t | y_<t) of each token, (B, T)."""
        logp = torch.log_softmax(self(tokens), dim=-1)
        return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)

    def nll(self, tokens: Tensor) -> Tensor:
        """Mean NLL per token over batch and time (the official ``pretrain_loss``, which clips
        probabilities at 1e-20 before the log: the same wherever a token's p > 1e-20)."""
        return -self.log_probs(tokens).mean()

    # ------------------------------------------------------------------ sampling
    def _draw(self, h: Tensor, uniforms: Tensor, temperature: float = 1.0) -> Tensor:
        """Tokens (...) drawn from the logits of states h (..., H) by the uniforms (...).

        On CPU the rows go 256 at a time, so each block's (256, V) logits stay in cache through
        matmul, exp and cumsum (about 3x faster than whole (rows, V) passes at V = 5000).
        """
        flat_h, flat_u = h.reshape(-1, self.hidden_dim), uniforms.reshape(-1)
        rows = 256 if h.device.type == "cpu" else max(len(flat_h), 1)
        ids = []
        for part_h, part_u in zip(flat_h.split(rows), flat_u.split(rows), strict=True):
            scores = torch.addmm(self.b_out, part_h, self.w_out)
            if temperature != 1.0:
                scores.div_(temperature)
            ids.append(_inverse_cdf_(scores, part_u))
        return torch.cat(ids).view(uniforms.shape)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               temperature: float = 1.0, uniforms: Tensor | None = None) -> Tensor:
        """n sequences (n, T) drawn token by token from softmax(logits / temperature).

        ``uniforms`` (n, T) in [0, 1) picks each token by inverse transform sampling; without
        it they are drawn from ``generator`` (or the global RNG) as torch.rand(n, T).
        """
        if not temperature > 0:
            raise ValueError(f"temperature={temperature}: must be > 0")
        device = self.embedding.device
        if uniforms is None:
            uniforms = _uniforms((int(n), self.seq_len), generator, device)
        elif tuple(uniforms.shape) != (int(n), self.seq_len):
            raise ValueError(f"uniforms of shape {tuple(uniforms.shape)}: expected "
                             f"({n}, {self.seq_len})")
        uniforms = uniforms.to(device)
        h = self.embedding.new_zeros(int(n), self.hidden_dim)
        c = torch.zeros_like(h)
        x = self.embedding[self.start_token].expand(int(n), -1)
        out = []
        for t in range(self.seq_len):
            h, c = self.step(x, h, c)
            token = self._draw(h, uniforms[:, t], temperature)
            out.append(token)
            x = F.embedding(token, self.embedding)
        return torch.stack(out, 1)

    @torch.no_grad()
    def rollout(self, tokens: Tensor, num_rollouts: int, generator: torch.Generator | None = None,
                uniforms: Tensor | None = None) -> Tensor:
        """Monte-Carlo completions of every proper prefix (official ``rollout.py`` ``get_reward``,
        given_num = 1..T-1), (num_rollouts, T-1, B, T) long.

        Entry [n, g-1, b] keeps tokens[b, :g] and samples positions g..T-1 from G continuing
        from its state after reading them. Token [n, g-1, b, t] (t >= g) is drawn by
        ``uniforms[n, g-1, b, t]`` (default torch.rand((N, T-1, B, T)) from ``generator``; the
        entries t < g are unused). Batched: one teacher-forced pass gives every prefix's state;
        at position t the prefixes g <= t advance together, about T steps on a big batch.
        """
        if tokens.dim() != 2:
            raise ValueError(f"tokens of shape {tuple(tokens.shape)}: expected (batch, time)")
        runs = int(num_rollouts)
        if runs < 1:
            raise ValueError(f"num_rollouts={num_rollouts}: must be >= 1")
        batch, steps = tokens.shape
        shape = (runs, steps - 1, batch, steps)
        if uniforms is None:
            uniforms = _uniforms(shape, generator, tokens.device)
        elif tuple(uniforms.shape) != shape:
            raise ValueError(f"uniforms of shape {tuple(uniforms.shape)}: expected {shape}")
        uniforms = uniforms.to(tokens.device)
        out = tokens.expand(runs, steps - 1, batch, steps).clone()
        if steps < 2:
            return out
        hs, cs = self.states(tokens)
        size = (runs, 1, batch, self.hidden_dim)
        h = hs.new_empty(runs, 0, batch, self.hidden_dim)
        c = torch.zeros_like(h)
        for t in range(1, steps):
            # Prefix g = t joins: its state is the teacher-forced one that scores token t.
            # Group index g - 1 = dim 1 position; earlier prefixes carry their own states.
            h = torch.cat([h, hs[:, t].expand(size)], dim=1)
            c = torch.cat([c, cs[:, t].expand(size)], dim=1)
            token = self._draw(h, uniforms[:, :t, :, t])
            out[:, :t, :, t] = token
            if t < steps - 1:
                h, c = self.step(F.embedding(token, self.embedding), h, c)
        return out


def _int_tuple(name: str, values: Iterable[int]) -> tuple[int, ...]:
    out = tuple(int(v) for v in values)
    if not out or any(v < 1 for v in out):
        raise ValueError(f"{name}={list(out)}: needs one or more positive integers")
    return out


class Highway(nn.Module):
    """One highway layer as SeqGAN's ``discriminator.py`` ``highway`` (after Srivastava et al.
    2015, via mkroutikov/tf-lstm-char-cnn): ``t = sigmoid(W_t x + b_t + gate_bias)``,
    ``out = t * relu(W_h x + b_h) + (1 - t) * x``.

    ``gate_bias`` is a constant added to the gate's pre-activation (the helper's ``bias``
    argument, 0 in SeqGAN), not b_t's initial value. Both linears are the helper's ``linear``:
    tf.get_variable with no initializer, i.e. TF1's Glorot uniform for the matrix AND the bias
    (a 1-d shape counts its length as fan in and out: U(+-sqrt(3 / size)) for both here).
    """

    def __init__(self, size: int, gate_bias: float = 0.0) -> None:
        super().__init__()
        self.transform = nn.Linear(size, size)
        self.gate = nn.Linear(size, size)
        self.gate_bias = float(gate_bias)
        # Glorot: sqrt(6 / (fan_in + fan_out)); size x size matrix and length-size bias alike.
        limit = math.sqrt(6.0 / (2 * size))
        for linear in (self.transform, self.gate):
            nn.init.uniform_(linear.weight, -limit, limit)
            nn.init.uniform_(linear.bias, -limit, limit)

    def forward(self, x: Tensor) -> Tensor:
        t = torch.sigmoid(self.gate(x) + self.gate_bias)
        return t * torch.relu(self.transform(x)) + (1.0 - t) * x


class TextCNNDiscriminator(nn.Module):
    """SeqGAN's discriminator D_phi (Yu et al. 2017, sec. 4 and appendix; official
    ``discriminator.py``): Kim (2014)'s CNN for sentence classification with a highway layer.

    Embedding (vocab_size, embed_dim) U(-1, 1); per filter width w, ``num_filters`` maps of a
    [w x embed_dim] convolution with bias, ReLU, max over all positions; the 1,720 maxima
    concatenated, one highway layer, dropout (keep 0.75 -> p 0.25, in train mode only), a linear
    to 2 logits (class 1 = real: the official labels are [0, 1] for positives). Convolutions and
    the output layer: weights truncated normal (std 0.1, re-drawn beyond 2 std, as
    tf.truncated_normal), biases 0.1.

    forward(tokens (B, seq_len) long) -> logits (B, 2).
    """

    def __init__(self, vocab_size: int = 5000, seq_len: int = 20, embed_dim: int = 64,
                 filter_sizes: Iterable[int] = SEQGAN_FILTER_SIZES,
                 num_filters: Iterable[int] = SEQGAN_NUM_FILTERS, dropout: float = 0.25,
                 l2_weight: float = 0.2, highway_bias: float = 0.0) -> None:
        super().__init__()
        self.vocab_size, self.seq_len, self.embed_dim = int(vocab_size), int(seq_len), int(embed_dim)
        self.filter_sizes = _int_tuple("filter_sizes", filter_sizes)
        self.num_filters = _int_tuple("num_filters", num_filters)
        if len(self.filter_sizes) != len(self.num_filters):
            raise ValueError(f"filter_sizes ({len(self.filter_sizes)} widths) and num_filters "
                             f"({len(self.num_filters)} counts) must have the same length")
        if max(self.filter_sizes) > self.seq_len:
            raise ValueError(f"filter_sizes={list(self.filter_sizes)}: a filter of width "
                             f"{max(self.filter_sizes)} is wider than seq_len={self.seq_len}; "
                             f"every width must be <= seq_len")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout={dropout}: a probability in [0, 1) (official: 0.25)")
        self.l2_weight = float(l2_weight)
        self.embedding = nn.Embedding(self.vocab_size, self.embed_dim)
        nn.init.uniform_(self.embedding.weight, -1.0, 1.0)
        # A [w x embed] 2-d convolution (VALID) over the (T, embed) image is a 1-d convolution
        # over time with embed input channels: the same weights and sums.
        self.convs = nn.ModuleList(nn.Conv1d(self.embed_dim, n, w)
                                   for w, n in zip(self.filter_sizes, self.num_filters, strict=True))
        features = sum(self.num_filters)
        self.highway = Highway(features, highway_bias)
        self.dropout = nn.Dropout(float(dropout))
        self.out = nn.Linear(features, 2)
        for layer in (*self.convs, self.out):
            nn.init.trunc_normal_(layer.weight, std=0.1, a=-0.2, b=0.2)
            nn.init.constant_(layer.bias, 0.1)

    def features(self, tokens: Tensor) -> Tensor:
        """The concatenated max-over-time features (B, sum(num_filters)), before the highway."""
        if tokens.dim() != 2 or tokens.shape[1] != self.seq_len:
            raise ValueError(f"tokens of shape {tuple(tokens.shape)}: expected (batch, "
                             f"{self.seq_len}) (seq_len)")
        x = self.embedding(tokens).transpose(1, 2)  # (B, E, T)
        return torch.cat([torch.relu(conv(x)).amax(-1) for conv in self.convs], dim=1)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.out(self.dropout(self.highway(self.features(tokens))))

    def p_real(self, tokens: Tensor) -> Tensor:
        """P(real) per sequence, (B,): softmax(logits)[:, 1] (the official ``ypred_for_auc``)."""
        return torch.softmax(self(tokens), dim=-1)[:, 1]

    def l2_penalty(self) -> Tensor:
        """l2_weight * (l2_loss(W_out) + l2_loss(b_out)), l2_loss(x) = sum(x^2) / 2: the official
        regularizes the output layer only."""
        return self.l2_weight * 0.5 * (self.out.weight.square().sum() + self.out.bias.square().sum())

    def loss(self, tokens: Tensor, labels: Tensor) -> Tensor:
        """The official loss: mean softmax cross-entropy (labels 1 real, 0 fake) + l2_penalty()."""
        if labels.is_floating_point():
            raise ValueError("labels must be integer class ids (1 real, 0 fake), not floats")
        return F.cross_entropy(self(tokens), labels.long()) + self.l2_penalty()
