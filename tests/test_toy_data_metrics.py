"""Toy 2-D data, the resumable loader and PacGAN's mode-coverage metrics."""

from __future__ import annotations

import math
import re

import pytest
import torch
from torch.utils.data import TensorDataset

from gan_lab.data import GaussianMixture2D, ToyDataModule, make_loader
from gan_lab.data.common.loader import EpochShuffleSampler
from gan_lab.data.samples.toy import swiss_roll
from gan_lab.metrics import ModeCoverage, mode_statistics, scatter_plot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _gen(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


# --------------------------------------------------------------------------- mixtures


def test_ring_means_and_std():
    ring = GaussianMixture2D.ring()
    assert ring.means.shape == (8, 2) and ring.means.dtype == torch.float32
    assert ring.std == 0.01
    for k in range(8):
        angle = 2 * math.pi * k / 8
        assert ring.means[k].tolist() == pytest.approx([math.cos(angle), math.sin(angle)], abs=1e-6)
    assert torch.linalg.vector_norm(ring.means, dim=1) == pytest.approx(torch.ones(8), abs=1e-6)


def test_grid_means_and_std():
    grid = GaussianMixture2D.grid()
    assert grid.means.shape == (25, 2)
    assert grid.std == 0.05
    expected = {(float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert {tuple(m) for m in grid.means.tolist()} == expected


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_mixture_sample_statistics(name):
    mixture = getattr(GaussianMixture2D, name)()
    x = mixture.sample(40_000, _gen(0))
    assert x.shape == (40_000, 2) and x.dtype == torch.float32
    nearest = torch.cdist(x.double(), mixture.means.double()).argmin(dim=1)
    residual = x - mixture.means[nearest]
    # per-coordinate standard deviation around the mode is the mixture's std
    assert residual.std(dim=0).tolist() == pytest.approx([mixture.std] * 2, rel=0.03)
    assert residual.mean(dim=0).abs().max() < 3 * mixture.std / math.sqrt(40_000) * 3
    # modes are drawn uniformly
    freq = torch.bincount(nearest, minlength=mixture.num_modes).double() / 40_000
    assert freq.sub(1 / mixture.num_modes).abs().max() < 0.01


def test_mixture_sampling_is_deterministic_by_generator():
    ring = GaussianMixture2D.ring()
    assert torch.equal(ring.sample(100, _gen(5)), ring.sample(100, _gen(5)))
    assert not torch.equal(ring.sample(100, _gen(5)), ring.sample(100, _gen(6)))


def test_mixture_validation():
    with pytest.raises(ValueError, match="shape"):
        GaussianMixture2D(torch.zeros(3), 0.1)
    with pytest.raises(ValueError, match="std"):
        GaussianMixture2D(torch.zeros(3, 2), 0.0)


def test_swiss_roll():
    x = swiss_roll(5000, generator=_gen(0))
    assert x.shape == (5000, 2) and x.dtype == torch.float32
    assert x.abs().max() < 2.2
    assert x.abs().max() > 1.5  # it does fill roughly [-2, 2]
    assert torch.equal(x, swiss_roll(5000, generator=_gen(0)))
    clean = swiss_roll(1000, noise=0.0, generator=_gen(1))
    radius = torch.linalg.vector_norm(clean, dim=1)
    assert radius.min() >= 1.5 * math.pi / 7.5 - 1e-5
    assert radius.max() <= 4.5 * math.pi / 7.5 + 1e-5


# --------------------------------------------------------------------------- data module


def test_toy_datamodule_rejects_unknown_dataset():
    with pytest.raises(ValueError) as err:
        ToyDataModule(dataset="moons")
    assert str(err.value) == "data.dataset='moons' is not one of: grid, ring, swiss_roll"


@pytest.mark.parametrize("name, modes", [("ring", 8), ("grid", 25), ("swiss_roll", None)])
def test_toy_datamodule(name, modes):
    dm = ToyDataModule(dataset=name, batch_size=100, num_samples=1000, seed=3)
    assert dm.sample_shape == (2,) and dm.num_classes == 0
    if modes is None:
        assert dm.mixture is None
    else:
        assert dm.mixture.num_modes == modes
    dm.setup("fit")
    (points,) = dm.train_set.tensors
    assert points.shape == (1000, 2) and points.dtype == torch.float32
    loader = dm.train_dataloader()
    assert len(loader) == 10
    batch = next(iter(loader))
    assert isinstance(batch, (tuple, list)) and len(batch) == 1
    assert batch[0].shape == (100, 2) and batch[0].dtype == torch.float32


def test_toy_datamodule_is_deterministic_by_seed():
    def points(seed):
        dm = ToyDataModule(dataset="grid", num_samples=500, batch_size=50, seed=seed)
        dm.setup()
        return dm.train_set.tensors[0], [b[0] for b in dm.train_dataloader()]

    a, batches_a = points(1)
    b, batches_b = points(1)
    c, _ = points(2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert all(torch.equal(x, y) for x, y in zip(batches_a, batches_b, strict=True))


def test_toy_datamodule_validation():
    with pytest.raises(ValueError, match="data.num_samples"):
        ToyDataModule(num_samples=10, batch_size=100)


# --------------------------------------------------------------------------- loader


def _take(loader, n):
    """The next ``n`` batches, starting new epochs (new ``iter()``) as needed."""
    out = []
    while len(out) < n:
        for batch in loader:
            out.append(batch[0].clone())
            if len(out) == n:
                break
    return out


@pytest.mark.parametrize("k", [1, 3, 5, 6, 9, 12])
def test_loader_resumes_on_the_same_batches(k):
    # 22 samples, batches of 4, drop_last: 5 batches an epoch; k = 5 stops on an epoch's last
    # batch, k = 6 and 12 resume in a later epoch, and every case runs across a boundary.
    ds = TensorDataset(torch.arange(22))
    total = 17
    reference = _take(make_loader(ds, 4, seed=7), total)

    loader = make_loader(ds, 4, seed=7)
    head = _take(loader, k)
    state = loader.state_dict()
    resumed = make_loader(ds, 4, seed=7)
    resumed.load_state_dict(state)
    tail = _take(resumed, total - k)

    assert all(torch.equal(a, b) for a, b in zip(head, reference[:k], strict=True))
    assert all(torch.equal(a, b) for a, b in zip(tail, reference[k:], strict=True))


def test_loader_resumes_after_a_finished_epoch():
    ds = TensorDataset(torch.arange(20))
    reference = _take(make_loader(ds, 4, seed=1), 10)
    loader = make_loader(ds, 4, seed=1)
    first_epoch = [b[0] for b in loader]  # runs to StopIteration
    resumed = make_loader(ds, 4, seed=1)
    resumed.load_state_dict(loader.state_dict())
    second_epoch = [b[0] for b in resumed]
    assert all(
        torch.equal(a, b) for a, b in zip(first_epoch + second_epoch, reference, strict=True)
    )


def test_loader_with_workers_resumes():
    ds = TensorDataset(torch.arange(20))
    loader = make_loader(ds, 4, seed=2, num_workers=2)
    assert loader.persistent_workers
    reference = _take(make_loader(ds, 4, seed=2), 8)
    head = _take(loader, 3)
    resumed = make_loader(ds, 4, seed=2, num_workers=2)
    resumed.load_state_dict(loader.state_dict())
    tail = _take(resumed, 5)
    assert all(torch.equal(a, b) for a, b in zip(head + tail, reference, strict=True))


def test_loader_shuffles_by_seed_and_epoch_without_global_rng():
    ds = TensorDataset(torch.arange(50))
    rng_state = torch.get_rng_state()
    a = torch.cat(_take(make_loader(ds, 10, seed=0), 10))
    assert torch.equal(torch.get_rng_state(), rng_state)
    b = torch.cat(_take(make_loader(ds, 10, seed=0), 10))
    c = torch.cat(_take(make_loader(ds, 10, seed=1), 10))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # every epoch is a permutation, and epochs differ
    assert torch.equal(a[:50].sort().values, torch.arange(50))
    assert not torch.equal(a[:50], a[50:])


def test_sampler_epoch_is_a_pure_function_of_seed_and_epoch():
    ds = list(range(30))
    sampler = EpochShuffleSampler(ds, seed=4)
    epochs = [list(sampler) for _ in range(3)]
    other = EpochShuffleSampler(ds, seed=4)
    other.set_epoch(2)
    assert list(other) == epochs[2]
    dropping = EpochShuffleSampler(ds, seed=4, batch_size=8, drop_last=True)
    assert len(dropping) == 24 and list(dropping) == epochs[0][:24]


@pytest.mark.filterwarnings("ignore:The dirpath has changed")
@pytest.mark.filterwarnings("ignore:.*LeafSpec.*")
def test_lightning_checkpoint_resumes_on_the_same_batches(tmp_path):
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint

    class Recorder(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(2))
            self.seen = []

        def training_step(self, batch, batch_idx):
            x = batch[0]
            self.seen.append((self.current_epoch, x.clone()))
            return (x - self.w).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    def fit(ckpt_dir, ckpt_path=None):
        model = Recorder()
        trainer = pl.Trainer(
            max_steps=14,
            max_epochs=-1,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
            callbacks=[ModelCheckpoint(ckpt_dir, every_n_train_steps=3, save_top_k=-1)],
        )
        dm = ToyDataModule("ring", batch_size=100, num_samples=600, seed=3)
        trainer.fit(model, datamodule=dm, ckpt_path=ckpt_path)
        return model.seen

    reference = fit(tmp_path / "a")  # 6 batches an epoch: epochs 0, 1 and part of 2
    for step in (3, 6, 9):  # mid-epoch, on an epoch's last batch, mid-epoch of the next
        (ckpt,) = (tmp_path / "a").glob(f"*-step={step}.ckpt")
        resumed = fit(tmp_path / f"b{step}", ckpt)
        assert len(resumed) == 14 - step
        for (epoch_a, a), (epoch_b, b) in zip(resumed, reference[step:], strict=True):
            assert epoch_a == epoch_b and torch.equal(a, b)


# --------------------------------------------------------------------------- mode_statistics


def test_samples_on_every_mean_capture_all_modes():
    means = GaussianMixture2D.grid().means
    samples = means.repeat(10, 1)
    stats = mode_statistics(samples, means, std=0.05)
    assert stats == {"modes": 25.0, "high_quality": 100.0, "reverse_kl": 0.0}


def test_samples_on_one_mode_give_log_k():
    grid = GaussianMixture2D.grid()
    samples = grid.means[3].repeat(100, 1) + 0.01
    stats = mode_statistics(samples, grid.means, grid.std)
    assert stats["modes"] == 1.0
    assert stats["high_quality"] == 100.0
    assert stats["reverse_kl"] == pytest.approx(math.log(25))


def test_samples_four_sigma_away_are_not_high_quality():
    ring = GaussianMixture2D.ring()
    samples = ring.means * (1 + 4 * ring.std)  # radially 4 sigma outwards from every mode
    stats = mode_statistics(samples, ring.means, ring.std)
    assert stats["modes"] == 0.0 and stats["high_quality"] == 0.0
    assert stats["reverse_kl"] == pytest.approx(math.log(8))  # empty histogram: worst value
    inside = mode_statistics(ring.means * (1 + 2.9 * ring.std), ring.means, ring.std)
    assert inside == {"modes": 8.0, "high_quality": 100.0, "reverse_kl": 0.0}


def test_threshold_is_configurable():
    means = torch.tensor([[0.0, 0.0]])
    samples = torch.tensor([[0.35, 0.0]])
    assert mode_statistics(samples, means, std=0.1)["high_quality"] == 0.0
    assert mode_statistics(samples, means, 0.1, threshold_sigmas=4.0)["high_quality"] == 100.0


def test_each_sample_counts_for_its_nearest_mode():
    # Two modes 1 apart with std 0.4: 3 sigma = 1.2 covers both, so only nearest-mode
    # assignment separates them. Three samples sit nearer mode 1, one nearer mode 0.
    means = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    samples = torch.tensor([[0.6, 0.0], [0.6, 0.1], [0.9, -0.2], [0.4, 0.0]])
    stats = mode_statistics(samples, means, std=0.4)
    assert stats["modes"] == 2.0 and stats["high_quality"] == 100.0
    expected = 0.25 * math.log(0.25 * 2) + 0.75 * math.log(0.75 * 2)
    assert stats["reverse_kl"] == pytest.approx(expected)


def test_histogram_counts_high_quality_samples_only():
    # Official PacGAN code: a sample enters the mode histogram only when high quality.
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    near_mode_0 = torch.zeros(10, 2)
    far_but_nearest_mode_1 = torch.tensor([[8.0, 0.0]]).repeat(10, 1)
    stats = mode_statistics(torch.cat([near_mode_0, far_but_nearest_mode_1]), means, std=0.1)
    assert stats["modes"] == 1.0
    assert stats["high_quality"] == 50.0
    assert stats["reverse_kl"] == pytest.approx(math.log(2))


def test_reverse_kl_of_an_uneven_histogram():
    means = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    samples = means[[0, 0, 1, 2]]  # histogram (1/2, 1/4, 1/4, 0) against uniform 1/4
    stats = mode_statistics(samples, means, std=0.01)
    assert stats["modes"] == 3.0
    assert stats["reverse_kl"] == pytest.approx(0.5 * math.log(2))


def test_non_finite_samples_are_low_quality():
    means = torch.tensor([[0.0, 0.0]])
    samples = torch.tensor([[0.0, 0.0], [float("nan"), 0.0], [float("inf"), 1.0], [0.0, 0.0]])
    stats = mode_statistics(samples, means, std=0.1)
    assert stats == {"modes": 1.0, "high_quality": 50.0, "reverse_kl": 0.0}


def test_true_samples_score_well():
    for mixture in (GaussianMixture2D.ring(), GaussianMixture2D.grid()):
        x = mixture.sample(2500, _gen(0))
        stats = mode_statistics(x, mixture.means, mixture.std)
        assert stats["modes"] == mixture.num_modes
        # P(chi^2_2 < 9) = 1 - exp(-4.5) = 98.89 %
        assert stats["high_quality"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=1.0)
        assert stats["reverse_kl"] < 0.02


def test_mode_statistics_validation():
    with pytest.raises(ValueError, match="samples"):
        mode_statistics(torch.zeros(0, 2), torch.zeros(1, 2), 0.1)
    with pytest.raises(ValueError, match="means"):
        mode_statistics(torch.zeros(3, 2), torch.zeros(1, 3), 0.1)
    with pytest.raises(ValueError, match="std"):
        mode_statistics(torch.zeros(3, 2), torch.zeros(1, 2), 0.0)


# --------------------------------------------------------------------------- plots, evaluator


def test_scatter_plot_writes_png(tmp_path):
    ring = GaussianMixture2D.ring()
    path = scatter_plot(ring.sample(500, _gen(0)), ring.means, tmp_path / "sub" / "a.png", "t")
    assert path.read_bytes()[:8] == PNG_MAGIC
    path = scatter_plot(swiss_roll(500, generator=_gen(0)), None, tmp_path / "b.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


class _Sampler:
    """A stand-in generator: draws from a mixture, recording the sizes asked for."""

    def __init__(self, draw):
        self.draw = draw
        self.sizes = []
        self.generator = _gen(0)

    def __call__(self, n):
        self.sizes.append(n)
        return self.draw(n, generator=self.generator)


def test_mode_coverage_on_the_true_distribution(tmp_path):
    dm = ToyDataModule("ring")
    sample_fn = _Sampler(dm.mixture.sample)
    metrics = ModeCoverage(num_samples=6000)(sample_fn, dm, tmp_path, "step_100")
    assert sample_fn.sizes == [2500, 2500, 1000]
    assert set(metrics) == {"toy/modes", "toy/high_quality", "toy/reverse_kl"}
    assert metrics["toy/modes"] == 8.0
    assert metrics["toy/high_quality"] > 97.0
    assert metrics["toy/reverse_kl"] < 0.01
    assert (tmp_path / "scatter_step_100.png").read_bytes()[:8] == PNG_MAGIC


def test_mode_coverage_of_a_collapsed_generator(tmp_path):
    dm = ToyDataModule("grid")
    evaluator = ModeCoverage(plot=False)
    metrics = evaluator(lambda n: torch.full((n, 2), 2.0), dm, tmp_path, "final")
    assert metrics == {
        "toy/modes": 1.0,
        "toy/high_quality": 100.0,
        "toy/reverse_kl": pytest.approx(math.log(25)),
    }
    assert not list(tmp_path.iterdir())
    # no out_dir: metrics only
    assert (
        ModeCoverage(num_samples=10)(lambda n: torch.zeros(n, 2), dm, None, "x")["toy/modes"] == 1
    )


def test_mode_coverage_on_swiss_roll_only_plots(tmp_path):
    dm = ToyDataModule("swiss_roll")
    sample_fn = _Sampler(lambda n, generator: swiss_roll(n, generator=generator))
    assert ModeCoverage()(sample_fn, dm, tmp_path, "end") == {}
    assert sample_fn.sizes == [2500]
    assert (tmp_path / "scatter_end.png").read_bytes()[:8] == PNG_MAGIC


def test_mode_coverage_checks_sample_count():
    dm = ToyDataModule("ring")
    with pytest.raises(ValueError, match=re.escape("sample_fn(100)")):
        ModeCoverage(num_samples=100, plot=False)(lambda n: torch.zeros(n - 1, 2), dm, None, "x")
