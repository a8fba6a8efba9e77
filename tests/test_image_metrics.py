"""Image-quality metrics: FID, KID, IS, precision/recall, the feature extractors and their caches."""

from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception
from PIL import Image
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, kid_features_to_metric

from gan_lab.callbacks.evaluation import Evaluation
from gan_lab.data import DigitsDataModule, ImageFolderDataModule, ToyDataModule
from gan_lab.data.common.fingerprint import data_fingerprint
from gan_lab.metrics import (
    ClassAccuracy,
    ClassifierExtractor,
    ImageQuality,
    InceptionExtractor,
    fid,
    inception_score,
    kid,
    precision_recall,
    real_features,
)
from gan_lab.metrics import image_quality as image_quality_module
from gan_lab.metrics.extractor import to_uint8
from gan_lab.metrics.image_quality import density_coverage, used_kid_subset_size
from gan_lab.metrics.inception import INCEPTION_WEIGHTS_FILE, default_weights_path

# Settings of the small digits classifier shared by the tests (about 97% held-out accuracy).
CLASSIFIER = {"width": 8, "epochs": 3}
QUALITY_KEYS = {
    "classifier/fid", "classifier/kid", "classifier/kid_std", "classifier/is",
    "classifier/is_std", "classifier/precision", "classifier/recall", "classifier/density",
    "classifier/coverage",
}


@pytest.fixture(autouse=True)
def _private_caches(tmp_path, monkeypatch):
    """Nothing in this file may touch the real ~/.cache (torch hub or gan_lab's eval cache)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- independent maths


def _fid_numpy(x: np.ndarray, y: np.ndarray) -> float:
    """Heusel et al. eq. (6) from the sample statistics, with scipy's matrix square root."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def _exact_gaussian_sample(n: int, mean: np.ndarray, var: np.ndarray, seed: int) -> np.ndarray:
    """``n`` points whose sample mean is exactly ``mean`` and sample covariance exactly
    ``diag(var)`` (a whitened standard normal sample, rescaled)."""
    z = np.random.default_rng(seed).standard_normal((n, len(mean)))
    z -= z.mean(0)
    chol = np.linalg.cholesky(np.cov(z, rowvar=False))
    white = np.linalg.solve(chol, z.T).T  # sample covariance I
    return white * np.sqrt(var) + mean


def _mmd2_unbiased_loops(x: np.ndarray, y: np.ndarray) -> float:
    """Binkowski et al.'s unbiased MMD^2, k(a, b) = (a.b / d + 1)^3, as plain sums over pairs."""
    m, d = len(x), x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return (xx + yy) / (m * (m - 1)) - 2 * xy / (m * m)


# --------------------------------------------------------------------------- FID


def _correlated(n: int, d: int, seed: int) -> torch.Tensor:
    g = _gen(seed)
    mixing = torch.randn(d, d, generator=g, dtype=torch.float64)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mixing + 3.0


def test_fid_of_a_set_with_itself_is_zero():
    x = _correlated(400, 6, 0)
    assert abs(fid(x, x)) < 1e-6


def test_fid_of_a_shifted_set_is_the_squared_shift():
    x = _correlated(400, 6, 1)
    c = torch.tensor([0.5, -1.0, 2.0, 0.0, 3.0, -0.25], dtype=torch.float64)
    expected = float(c @ c)
    assert fid(x, x + c) == pytest.approx(expected, rel=1e-6)
    assert fid(x + c, x) == pytest.approx(expected, rel=1e-6)


def test_fid_closed_form_for_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, -2.0, 0.5]), np.array([1.0, 1.0, 0.0, -0.5])
    v1, v2 = np.array([1.0, 4.0, 0.25, 2.0]), np.array([9.0, 1.0, 0.25, 0.5])
    x = _exact_gaussian_sample(300, mu1, v1, seed=0)
    y = _exact_gaussian_sample(500, mu2, v2, seed=1)
    # the construction does give these sample statistics
    np.testing.assert_allclose(np.cov(x, rowvar=False), np.diag(v1), atol=1e-10)
    np.testing.assert_allclose(np.cov(y, rowvar=False), np.diag(v2), atol=1e-10)
    closed = float(((mu1 - mu2) ** 2).sum() + (v1 + v2 - 2 * np.sqrt(v1 * v2)).sum())
    # by hand: 1 + 0 + 4 + 1  +  (10 - 6) + (5 - 4) + 0 + (2.5 - 2) = 11.5
    assert closed == pytest.approx(11.5, rel=1e-12)
    assert fid(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(closed, rel=1e-6)


def test_fid_matches_scipy_sqrtm_for_general_covariances():
    x, y = _correlated(300, 5, 2), _correlated(250, 5, 3) * 0.7 + 0.4
    expected = _fid_numpy(x.numpy(), y.numpy())
    assert expected > 1.0
    assert fid(x, y) == pytest.approx(expected, rel=1e-6)
    # float32 features are promoted to float64 before the statistics are taken
    x32, y32 = x.float(), y.float()
    assert fid(x32, y32) == pytest.approx(_fid_numpy(x32.double().numpy(), y32.double().numpy()),
                                          rel=1e-9)


# --------------------------------------------------------------------------- KID


def test_kid_same_distribution_near_zero_and_shift_positive():
    g = _gen(0)
    a = torch.randn(200, 16, generator=g, dtype=torch.float64)
    b = torch.randn(200, 16, generator=g, dtype=torch.float64)
    same, same_std = kid(a, b, subsets=20, subset_size=100)
    small, _ = kid(a, b + 0.25, subsets=20, subset_size=100)
    large, large_std = kid(a, b + 0.5, subsets=20, subset_size=100)
    assert abs(same) < 0.05 and same_std > 0
    assert large > 0.5 and large > 10 * abs(same)
    assert 0.05 < small < large  # grows with the shift
    assert large_std > 0


def test_kid_with_full_subsets_equals_the_unbiased_mmd():
    g = _gen(1)
    x = torch.randn(40, 5, generator=g, dtype=torch.float64)
    y = torch.randn(40, 5, generator=g, dtype=torch.float64) * 1.3 + 0.4
    expected = _mmd2_unbiased_loops(x.numpy(), y.numpy())
    # torch-fidelity's estimator, which kid() wraps: a "subset" that is the whole set
    out = kid_features_to_metric(y, x, kid_subsets=3, kid_subset_size=40, rng_seed=0,
                                 verbose=False)
    assert out[KEY_METRIC_KID_MEAN] == pytest.approx(expected, rel=1e-9)


def test_kid_subsets_no_larger_than_the_samples_are_halved_so_the_std_means_something(caplog):
    g = _gen(1)
    x = torch.randn(40, 5, generator=g, dtype=torch.float64)
    y = torch.randn(40, 5, generator=g, dtype=torch.float64) * 1.3 + 0.4
    assert used_kid_subset_size(1000, 40) == 20 and used_kid_subset_size(30, 40) == 30
    mean, std = kid(x, y, subsets=50, subset_size=1000)  # subsets of 20, not 40 equal ones
    assert std > 1e-4  # equal whole-set subsets gave 1e-13
    assert mean == pytest.approx(_mmd2_unbiased_loops(x.numpy(), y.numpy()), rel=0.5)
    with caplog.at_level("WARNING"):
        ImageQuality(extractor=None, num_samples=500, kid_subset_size=1000)
    assert "KID subsets of 250 images" in caplog.text


# --------------------------------------------------------------------------- IS


def _confident_logits(labels: torch.Tensor, classes: int, scale: float = 30.0) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels, classes).double() * scale


def test_inception_score_confident_and_spread_is_num_classes():
    k, scale = 10, 30.0
    labels = torch.arange(1000) % k
    logits = _confident_logits(labels, k, scale)
    # one split: p(y) is exactly uniform, so IS = K exp(-H(p(y|x))) exactly
    p_top = np.exp(scale) / (np.exp(scale) + k - 1)
    p_rest = 1 / (np.exp(scale) + k - 1)
    entropy = -(p_top * np.log(p_top) + (k - 1) * p_rest * np.log(p_rest))
    score, std = inception_score(logits, splits=1)
    assert score == pytest.approx(k * np.exp(-entropy), rel=1e-9)
    assert score == pytest.approx(k, rel=1e-6) and std == 0.0
    # ten shuffled splits of 100: p(y) per split is only roughly uniform
    score, std = inception_score(logits)
    assert 9.0 < score <= 10.0 and 0 <= std < 0.5
    # logits, not probabilities: a per-row constant changes nothing
    shifted = logits + torch.randn(1000, 1, generator=_gen(0), dtype=torch.float64) * 5
    assert inception_score(shifted)[0] == pytest.approx(score, rel=1e-9)


def test_inception_score_of_a_single_class_is_one():
    logits = _confident_logits(torch.full((500,), 3), 10)
    score, std = inception_score(logits)
    assert score == pytest.approx(1.0, abs=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_of_uniform_predictions_is_one():
    score, std = inception_score(torch.zeros(500, 10, dtype=torch.float64))
    assert score == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)
    score, _ = inception_score(torch.full((500, 7), 2.5))
    assert score == pytest.approx(1.0, abs=1e-6)


# --------------------------------------------------------------------------- precision / recall


def test_precision_recall_identical_sets():
    real = torch.randn(200, 4, generator=_gen(0))
    assert precision_recall(real, real.clone()) == (1.0, 1.0)


def test_precision_recall_disjoint_sets():
    real = torch.randn(200, 4, generator=_gen(1))
    fake = torch.randn(200, 4, generator=_gen(2)) + 100.0
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_precision_recall_mode_collapse():
    real = torch.randn(200, 4, generator=_gen(3))
    fake = real[0] + 1e-3 * torch.randn(150, 4, generator=_gen(4))
    precision, recall = precision_recall(real, fake)
    assert precision == 1.0  # every generated sample is realistic ...
    assert recall <= 1 / 200 + 1e-6  # ... but they cover (at most) one real sample
    # the roles swap when real and fake are exchanged
    assert precision_recall(fake, real) == pytest.approx((recall, precision))


# --------------------------------------------------------------------------- density / coverage


def test_density_coverage_hand_computed():
    # Real points on a line at 0, 1, 3, 7 with k = 1: each ball's radius is the distance to the
    # nearest other real point (1, 1, 2, 4). A fake at 0.5 lies in the balls of 0 and 1 (strictly
    # inside both), one at 5 in the ball of 7 (distance 2 < 4) only.
    real = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    fake = torch.tensor([[0.5], [5.0]])
    density, coverage = density_coverage(real, fake, neighbourhood=1)
    assert density == pytest.approx((2 + 1) / 2)   # 3 ball memberships, 2 fakes, k = 1
    assert coverage == pytest.approx(3 / 4)        # the balls of 0, 1 and 7 hold a fake


def test_density_coverage_separate_collapse_from_precision():
    # Naeem et al. 2020, sec. 3: a generator collapsed onto one real sample keeps precision 1
    # but its coverage is the one ball it reaches; samples of the real distribution have density
    # and coverage near 1.
    real = torch.randn(500, 4, generator=_gen(5))
    collapsed = real[0] + 1e-3 * torch.randn(300, 4, generator=_gen(6))
    assert precision_recall(real, collapsed)[0] == 1.0
    density, coverage = density_coverage(real, collapsed)
    assert coverage <= 5 / 500 + 1e-9   # at most the few balls around real[0]
    # ... and its density is the number of balls round real[0] that hold it, over k (brute force)
    radii = torch.cdist(real, real).kthvalue(6, dim=1).values   # the 5th neighbour; self is 1st
    balls = (torch.cdist(real, collapsed) < radii[:, None]).sum(0).float().mean() / 5
    assert density == pytest.approx(float(balls))
    density, coverage = density_coverage(real, torch.randn(500, 4, generator=_gen(7)))
    assert 0.8 < density < 1.2 and coverage > 0.9


# --------------------------------------------------------------------------- Inception


class NotAStateDict:
    """Pickled by reference to this module: torch.load(weights_only=True) refuses it."""

    def __init__(self) -> None:
        self.payload = [1, 2, 3]


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory) -> Path:
    """A stand-in for torch-fidelity's InceptionV3 weights file: the keys and shapes of the real
    one (the state dict of the network itself), randomly initialised; no network access."""
    with pytest.MonkeyPatch.context() as mp:
        def offline(*args, **kwargs):  # the URL loader must not be used for real
            return {}

        mp.setattr(tf_inception, "load_state_dict_from_url", offline)
        mp.setattr(tf_inception.FeatureExtractorInceptionV3, "load_state_dict",
                   lambda self, state_dict, strict=True, assign=False: None)
        net = tf_inception.FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048", "logits_unbiased"])
    state = net.state_dict()
    assert state["fc.weight"].shape == (1008, 2048)
    path = tmp_path_factory.mktemp("inception") / INCEPTION_WEIGHTS_FILE
    torch.save(state, path)
    return path


def test_to_uint8_range_and_rounding():
    x = torch.tensor([-1.5, -1.0, -0.996, 0.0, 0.5, 1.0, 2.0])
    assert to_uint8(x).tolist() == [0, 0, 1, 128, 191, 255, 255]
    assert to_uint8(x).dtype == torch.uint8


def test_inception_extractor_shapes_and_grey_expansion(inception_weights):
    extractor = InceptionExtractor(weights=str(inception_weights), batch_size=3)
    assert extractor.weights == inception_weights.absolute()
    assert extractor.identity.startswith(f"inception-{INCEPTION_WEIGHTS_FILE}-")
    grey = torch.rand(4, 1, 16, 16, generator=_gen(0)) * 2 - 1
    rgb = torch.rand(4, 3, 32, 32, generator=_gen(1)) * 2 - 1
    for images in (grey, rgb):
        features, logits = extractor(images)
        assert features.shape == (4, 2048) and logits.shape == (4, 1008)
        assert features.dtype == torch.float64 and logits.dtype == torch.float64
        assert torch.isfinite(features).all() and torch.isfinite(logits).all()
    # grey-scale images are the same picture in all three channels
    f_grey, l_grey = extractor(grey[:2])
    f_rgb, l_rgb = extractor(grey[:2].expand(-1, 3, -1, -1))
    assert torch.equal(f_grey, f_rgb) and torch.equal(l_grey, l_rgb)


def test_inception_default_path_from_torch_home(inception_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    expected = tmp_path / "th" / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILE
    assert default_weights_path() == expected

    def no_download(*args, **kwargs):
        raise AssertionError("must not download when the file is there")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    expected.parent.mkdir(parents=True)
    os.symlink(inception_weights, expected)
    for download in (False, True):
        extractor = InceptionExtractor(download=download)
        assert extractor.weights == expected.absolute()


def test_inception_missing_file_is_one_line_value_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    default = default_weights_path()
    with pytest.raises(ValueError) as info:
        InceptionExtractor(download=False)
    message = str(info.value)
    assert "\n" not in message
    assert str(default) in message and "eval.inception_weights" in message
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(ValueError, match="eval.inception_weights") as info:
        InceptionExtractor(weights=str(missing))
    assert str(missing) in str(info.value)


def test_inception_failed_download_is_reported_and_cleaned_up(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))

    def offline(url, dst, **kwargs):
        Path(dst).write_bytes(b"partial")
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(ValueError, match="eval.inception_weights"):
        InceptionExtractor()
    assert not default_weights_path().exists()


def test_inception_refuses_a_pickle_that_is_not_plain_tensors(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"net": NotAStateDict()}, path)
    extractor = InceptionExtractor(weights=str(path))  # only existence is checked here
    with pytest.raises(ValueError, match="not a plain weights file") as info:
        extractor(torch.zeros(1, 3, 8, 8))
    assert str(path.absolute()) in str(info.value)
    assert "eval.inception_weights" in str(info.value)


# --------------------------------------------------------------------------- domain classifier


@pytest.fixture(scope="module")
def digits() -> DigitsDataModule:
    dm = DigitsDataModule(image_size=16)
    dm.setup("fit")
    return dm


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("classifier_cache")


@pytest.fixture(scope="module")
def classifier(classifier_dir, digits) -> ClassifierExtractor:
    torch.set_num_threads(1)
    extractor = ClassifierExtractor(cache_dir=str(classifier_dir), **CLASSIFIER)
    extractor.prepare(digits)
    return extractor


def test_classifier_trains_and_caches(classifier, classifier_dir, digits):
    assert 0.8 < classifier.accuracy <= 1.0
    assert classifier.path == classifier.cache_path(digits)
    assert classifier.path.parent == classifier_dir and classifier.path.is_file()
    assert classifier.path.name.startswith("classifier-") and classifier.path.suffix == ".pt"
    assert classifier.identity == f"classifier-{classifier.path.stem}"
    assert [p.name for p in classifier_dir.iterdir()] == [classifier.path.name]  # no leftovers
    stored = torch.load(classifier.path, weights_only=True)
    assert stored["accuracy"] == classifier.accuracy
    assert stored["num_classes"] == 10 and stored["sample_shape"] == [1, 16, 16]
    images = digits.train_set.tensors[0][:5]
    features, logits = classifier(images)
    assert features.shape == (5, 4 * CLASSIFIER["width"]) and logits.shape == (5, 10)
    assert features.dtype == torch.float64 and logits.dtype == torch.float64


def test_classifier_loads_from_cache_without_training(classifier, classifier_dir, digits,
                                                      monkeypatch):
    def no_training(self, datamodule, classes):
        raise AssertionError("the cached classifier should have been loaded")

    monkeypatch.setattr(ClassifierExtractor, "train", no_training)
    again = ClassifierExtractor(cache_dir=str(classifier_dir), **CLASSIFIER)
    again.prepare(DigitsDataModule(image_size=16))  # a new datamodule of the same data
    assert again.path == classifier.path and again.accuracy == classifier.accuracy
    assert again.identity == classifier.identity
    images = digits.train_set.tensors[0][:20]
    for mine, theirs in zip(again(images), classifier(images)):
        assert torch.allclose(mine, theirs, rtol=0, atol=1e-12)


def test_classifier_cache_path_depends_on_settings_and_data(classifier, classifier_dir, digits):
    def path(dm=digits, **changes):
        return ClassifierExtractor(cache_dir=str(classifier_dir),
                                   **{**CLASSIFIER, **changes}).cache_path(dm)

    assert path() == classifier.path
    others = [path(width=4), path(epochs=4), path(seed=1), path(lr=3e-3), path(holdout=0.2),
              path(dm=DigitsDataModule(image_size=12))]
    assert classifier.path not in others and len(set(others)) == len(others)
    # extraction batch size does not change the network: same file
    assert path(batch_size=7) == classifier.path


def test_classifier_training_is_deterministic(classifier, digits, tmp_path):
    again = ClassifierExtractor(cache_dir=str(tmp_path), **CLASSIFIER)
    again.prepare(digits)
    assert again.path != classifier.path and again.path.name == classifier.path.name
    assert again.accuracy == classifier.accuracy


def test_classifier_needs_prepare_before_use():
    with pytest.raises(RuntimeError, match="prepare"):
        ClassifierExtractor(width=4)(torch.zeros(1, 1, 16, 16))


def _image_tree(root: Path, per_class: int = 20, size: int = 8) -> Path:
    """``root/dark`` and ``root/bright``: noisy dark and noisy bright RGB PNGs."""
    rng = np.random.default_rng(0)
    for name, low in (("bright", 190), ("dark", 0)):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(low, low + 65, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:02d}.png")
    return root


def test_classifier_cache_invalidated_when_images_change(tmp_path, monkeypatch):
    root = _image_tree(tmp_path / "images")
    cache = tmp_path / "cache"
    trainings = []
    original_train = ClassifierExtractor.train

    def counting_train(self, datamodule, classes):
        trainings.append(datamodule)
        return original_train(self, datamodule, classes)

    monkeypatch.setattr(ClassifierExtractor, "train", counting_train)

    def module(**kwargs):
        return ImageFolderDataModule(str(root), **{"image_size": 8, "batch_size": 8,
                                                   "labels": True, **kwargs})

    extractor = ClassifierExtractor(cache_dir=str(cache), width=4, epochs=2, train_batch_size=8)
    first = module()
    assert first.classes == ["bright", "dark"]
    extractor.prepare(first)
    path_a = extractor.path
    assert path_a.is_file() and len(trainings) == 1
    assert 0.0 <= extractor.accuracy <= 1.0

    # unchanged files, new datamodule, new extractor: the cache is used
    fresh = ClassifierExtractor(cache_dir=str(cache), width=4, epochs=2, train_batch_size=8)
    fresh.prepare(module())
    assert fresh.path == path_a and len(trainings) == 1

    # change one image: new content and a new modification time
    changed = root / "dark" / "03.png"
    before = os.stat(changed)
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(changed)
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    second = module()
    assert data_fingerprint(second) != data_fingerprint(first)
    assert extractor.cache_path(second) != path_a
    extractor.prepare(second)  # the same extractor notices the new data
    path_b = extractor.path
    assert path_b != path_a and path_b.is_file() and path_a.is_file()
    assert len(trainings) == 2 and trainings[-1] is second

    # an added image changes it as well
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "dark" / "extra.png")
    assert extractor.cache_path(module()) not in (path_a, path_b)


def test_fingerprint_changes_with_image_size_and_labels(tmp_path):
    root = _image_tree(tmp_path / "images", per_class=3)
    base = ImageFolderDataModule(str(root), image_size=8, batch_size=2, labels=True)
    same = ImageFolderDataModule(str(root), image_size=8, batch_size=4, labels=True)
    assert data_fingerprint(base) == data_fingerprint(same)
    assert len(data_fingerprint(base)) == 16
    for other in (ImageFolderDataModule(str(root), image_size=6, batch_size=2, labels=True),
                  ImageFolderDataModule(str(root), image_size=8, batch_size=2, labels=False),
                  ImageFolderDataModule(str(root), image_size=8, channels=1, batch_size=2,
                                        labels=True)):
        assert data_fingerprint(other) != data_fingerprint(base)
    assert data_fingerprint(DigitsDataModule(image_size=16)) != data_fingerprint(
        DigitsDataModule(image_size=12))
    # a file touched without a change of size (like make, by modification time)
    touched = root / "bright" / "01.png"
    stat = os.stat(touched)
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))
    retouched = ImageFolderDataModule(str(root), image_size=8, batch_size=2, labels=True)
    assert os.stat(touched).st_size == stat.st_size
    assert data_fingerprint(retouched) != data_fingerprint(base)


def test_classifier_refuses_unlabelled_data(tmp_path):
    root = _image_tree(tmp_path / "images", per_class=3)
    extractor = ClassifierExtractor(cache_dir=str(tmp_path / "cache"), width=4, epochs=1)
    with pytest.raises(ValueError, match="labels"):
        extractor.prepare(ImageFolderDataModule(str(root), image_size=8, batch_size=2))
    with pytest.raises(ValueError, match="labels"):
        extractor.prepare(ToyDataModule(dataset="ring", batch_size=10, num_samples=200))
    assert not (tmp_path / "cache").exists()


# --------------------------------------------------------------------------- evaluators


class DigitSampler:
    """Draws real digit images: of the requested labels (conditional), of random labels
    (``honest=False``), or uniform noise (``noise=True``)."""

    def __init__(self, digits, num_classes=0, honest=True, noise=False, seed=0):
        self.images, self.labels = digits.train_set.tensors
        self.num_classes = num_classes
        self.honest, self.noise = honest, noise
        self.generator = _gen(seed)
        self.seen_labels: list[torch.Tensor] = []

    def __call__(self, n, labels=None):
        if self.noise:
            return torch.rand(n, 1, 16, 16, generator=self.generator) * 2 - 1
        if labels is None or not self.honest:
            return self.images[torch.randint(len(self.images), (n,), generator=self.generator)]
        self.seen_labels.append(labels.clone())
        picks = []
        for label in labels.tolist():
            pool = (self.labels == label).nonzero().flatten()
            picks.append(pool[torch.randint(len(pool), (1,), generator=self.generator)])
        return self.images[torch.cat(picks)]


def _quality(classifier, cache_dir, **kwargs) -> ImageQuality:
    settings = {"num_samples": 300, "kid_subsets": 20, "kid_subset_size": 100,
                "cache_dir": str(cache_dir), "chunk": 128}
    return ImageQuality(classifier, **{**settings, **kwargs})


def test_image_quality_real_versus_noise(classifier, digits, tmp_path):
    quality = _quality(classifier, tmp_path)
    real = quality(DigitSampler(digits), digits, tmp_path, "real")
    noise = quality(DigitSampler(digits, noise=True), digits, tmp_path, "noise")
    assert set(real) == QUALITY_KEYS and set(noise) == QUALITY_KEYS
    assert all(isinstance(v, float) and np.isfinite(v) for v in [*real.values(), *noise.values()])
    assert 0 <= real["classifier/fid"] < 5.0
    assert noise["classifier/fid"] > 10 * real["classifier/fid"] and noise["classifier/fid"] > 20
    assert noise["classifier/kid"] > real["classifier/kid"] + 10 * real["classifier/kid_std"]
    assert real["classifier/precision"] > 0.75 and real["classifier/recall"] > 0.75
    assert noise["classifier/precision"] < 0.1 and noise["classifier/recall"] < 0.1
    for result in (real, noise):
        assert 1.0 <= result["classifier/is"] <= 10.0 and result["classifier/is_std"] >= 0
    assert real["classifier/is"] > noise["classifier/is"]


def test_image_quality_metric_selection_and_validation(classifier, digits, tmp_path):
    only = _quality(classifier, tmp_path, metrics=["fid", "pr"])
    result = only(DigitSampler(digits), digits, None, "x")
    assert set(result) == {"classifier/fid", "classifier/precision", "classifier/recall"}
    with pytest.raises(ValueError, match="unknown"):
        ImageQuality(classifier, metrics=["fid", "lpips"])
    with pytest.raises(ValueError, match="num_samples"):
        ImageQuality(classifier, num_samples=1)


@pytest.mark.parametrize("num_samples", [3, 5])
def test_image_quality_refuses_too_few_samples_for_is_and_pr(classifier, digits, tmp_path,
                                                          num_samples):
    with pytest.raises(ValueError, match="num_samples"):
        _quality(classifier, tmp_path, num_samples=num_samples, kid_subset_size=2)
    with pytest.raises(ValueError, match="num_real"):
        _quality(classifier, tmp_path, num_samples=20, num_real=num_samples, kid_subset_size=2)
    few = _quality(classifier, tmp_path, num_samples=num_samples, kid_subset_size=2,
                   metrics=["fid", "kid"])  # FID and KID have no such floor
    result = few(DigitSampler(digits), digits, None, "x")
    assert all(np.isfinite(v) for v in result.values()), result


def test_real_features_cached_and_reused(classifier, classifier_dir, digits, tmp_path,
                                         monkeypatch):
    first = _quality(classifier, tmp_path)
    result = first(DigitSampler(digits, seed=5), digits, None, "a")
    cached = list(tmp_path.glob("real-*.pt"))
    assert len(cached) == 1 and classifier.identity in cached[0].name
    assert cached[0].name.endswith("-300-0.pt")
    assert not list(tmp_path.glob("*.tmp"))

    def no_recompute(*args, **kwargs):
        raise AssertionError("the real features should have come from the cache")

    monkeypatch.setattr(image_quality_module, "DataLoader", no_recompute)
    loaded = ClassifierExtractor(cache_dir=str(classifier_dir), **CLASSIFIER)
    second = _quality(loaded, tmp_path)
    again = second(DigitSampler(digits, seed=5), digits, None, "b")
    assert again == pytest.approx(result, rel=1e-9, abs=1e-12)
    assert list(tmp_path.glob("real-*.pt")) == cached


def test_real_features_are_a_seeded_subset(classifier, digits, tmp_path):
    features, logits = real_features(classifier, digits, 50, tmp_path, seed=3)
    order = torch.randperm(len(digits.train_set), generator=_gen(3))[:50]
    want_f, want_l = classifier(digits.train_set.tensors[0][order])
    assert torch.allclose(features, want_f, atol=1e-6) and torch.allclose(logits, want_l, atol=1e-6)
    everything, _ = real_features(classifier, digits, 5000, tmp_path)
    assert everything.shape == (len(digits.train_set), 4 * CLASSIFIER["width"])


def test_class_accuracy(classifier, digits):
    evaluator = ClassAccuracy(classifier, num_samples=300, chunk=128)
    honest = DigitSampler(digits, num_classes=10)
    result = evaluator(honest, digits, None, "x")
    assert set(result) == {"classifier/class_accuracy", "classifier/real_accuracy"}
    assert result["classifier/real_accuracy"] == classifier.accuracy
    assert result["classifier/class_accuracy"] > 0.8
    assert abs(result["classifier/class_accuracy"] - classifier.accuracy) < 0.1
    # balanced labels, handed over chunk by chunk
    seen = torch.cat(honest.seen_labels)
    assert [len(t) for t in honest.seen_labels] == [128, 128, 44]
    assert torch.equal(seen, torch.arange(300) % 10)

    careless = DigitSampler(digits, num_classes=10, honest=False)
    assert 0.02 < evaluator(careless, digits, None, "x")["classifier/class_accuracy"] < 0.25

    assert evaluator(DigitSampler(digits, num_classes=0), digits, None, "x") == {}


class ConditionalDigitModule:
    """Stands in for a trained conditional GAN: module.sample(n, labels=...) gives real digits."""

    num_classes = 10
    iteration = 0

    def __init__(self, digits):
        self._sampler = DigitSampler(digits, num_classes=10)
        self.logged = []

    def sample(self, n, labels=None):
        return self._sampler(n, labels)

    def log_metrics(self, metrics):
        self.logged.append(metrics)


def test_evaluation_callback_writes_metrics_csv(classifier, digits, tmp_path):
    evaluation = Evaluation(
        {"quality": _quality(classifier, tmp_path / "cache", metrics=["fid", "kid"]),
         "accuracy": ClassAccuracy(classifier, num_samples=100), "off": None},
        out_dir=str(tmp_path / "run"), objective="classifier/fid",
    )
    evaluation.prepare(digits)
    module = ConditionalDigitModule(digits)
    rows = []
    for iteration in (5, 10):
        module.iteration = iteration
        rows.append(evaluation.evaluate(module, digits, f"iter_{iteration:07d}"))
    assert set(rows[0]) == {"classifier/fid", "classifier/kid", "classifier/kid_std",
                            "classifier/class_accuracy", "classifier/real_accuracy"}
    assert evaluation.latest == rows[1] and module.logged == rows  # to the loggers too
    assert evaluation.objective_value() == rows[1]["classifier/fid"]
    with (tmp_path / "run" / "metrics.csv").open(newline="") as f:
        written = list(csv.DictReader(f))
    assert [r["tag"] for r in written] == ["iter_0000005", "iter_0000010"]
    assert [r["iteration"] for r in written] == ["5", "10"]
    for row, result in zip(written, rows):
        assert {k: float(row[k]) for k in result} == pytest.approx(result, rel=1e-12)


def test_generated_images_are_clipped_to_the_data_range_before_the_extractor():
    # Linear-output generators (ProGAN, StyleGAN) overshoot [-1, 1]; the official metrics clip.
    from gan_lab.metrics.image_quality import _draw

    seen = []

    def extractor(images):
        seen.append((images.min().item(), images.max().item()))
        return images.flatten(1)[:, :4], images.flatten(1)[:, :3]

    _draw(lambda n: torch.linspace(-5, 5, n * 16).reshape(n, 1, 4, 4), 4, 2, extractor)
    assert seen and all(-1.0 <= low and high <= 1.0 for low, high in seen)


def test_evaluator_settings_are_checked_in_one_line_naming_the_key():
    from gan_lab.metrics.attributes import AttributeAccuracy
    from gan_lab.metrics.segmentation import SegmenterTrainer

    for build, message in [
        (lambda: ClassifierExtractor(width=0), r"^classifier width=0: must be an integer >= 1$"),
        (lambda: ClassifierExtractor(holdout=1.0), r"^classifier holdout=1.0: must be between 0 and 1$"),
        (lambda: ClassifierExtractor(lr="fast"), r"^classifier lr='fast': must be positive$"),
        (lambda: AttributeAccuracy(max_test_images=True),
         r"^eval.metrics.attributes.max_test_images=True: must be null or an integer >= 1$"),
        (lambda: AttributeAccuracy(lr=0), r"^eval.metrics.attributes.lr=0: must be positive$"),
        (lambda: SegmenterTrainer(epochs=1.5), r"^eval.segmenter.epochs=1.5: must be an integer >= 1$"),
    ]:
        with pytest.raises(ValueError, match=message):
            build()
    assert ClassifierExtractor(lr="1e-3").settings["lr"] == 1e-3  # YAML 1.1 reads 1e-3 as text
