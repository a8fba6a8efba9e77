"""Evaluation of conditional generators: intra-class FID and the Classification Accuracy Score."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_lab.metrics import ClassificationAccuracyScore, ImageQuality, IntraFID, fid, intra_fid
from gan_lab.metrics import conditional as conditional_module
from gan_lab.metrics.conditional import real_labels
from gan_lab.metrics.image_quality import real_subset
from tests import test_image_metrics as image_metrics
from tests.test_image_metrics import DigitSampler, _correlated, _gen

# The digits data, the small classifier and the private caches of the image-metric tests.
_private_caches = image_metrics._private_caches
digits = image_metrics.digits
classifier_dir = image_metrics.classifier_dir
classifier = image_metrics.classifier


class WrongClassSampler(DigitSampler):
    """Real digits of class ``label + 1``: good images, wrong classes."""

    def __call__(self, n, labels=None):
        return super().__call__(n, None if labels is None else (labels + 1) % 10)


# --------------------------------------------------------------------------- intra-FID


def test_intra_fid_is_the_mean_of_the_per_class_fids():
    real = torch.cat([_correlated(60, 4, seed) + 2.0 * seed for seed in range(3)])
    fake = torch.cat([_correlated(40, 4, 10 + seed) * (1 + 0.2 * seed) + 2.0 * seed
                      for seed in range(3)])
    real_y = torch.arange(3).repeat_interleave(60)
    fake_y = torch.arange(3).repeat_interleave(40)
    # labels need not be sorted: shuffle both sets together with their labels
    pr, pf = torch.randperm(180, generator=_gen(0)), torch.randperm(120, generator=_gen(1))
    mean, each = intra_fid(real[pr], real_y[pr], fake[pf], fake_y[pf], 3)
    by_hand = [fid(real[60 * k:60 * (k + 1)], fake[40 * k:40 * (k + 1)]) for k in range(3)]
    assert each == pytest.approx(by_hand, rel=1e-9)
    assert mean == pytest.approx(sum(by_hand) / 3, rel=1e-12)
    assert len(set(np.round(each, 6))) == 3  # the classes really differ
    # the whole-set FID is a different number
    assert abs(fid(real, fake) - mean) > 1e-3
    with pytest.raises(ValueError, match="class 3 has 0 real"):
        intra_fid(real, real_y, fake, fake_y, 4)


def test_intra_fid_evaluator_right_versus_wrong_class(classifier, digits, tmp_path):
    evaluator = IntraFID(classifier, num_samples=300, num_real=500, per_class=True,
                         cache_dir=str(tmp_path), chunk=128)
    right = evaluator(DigitSampler(digits, num_classes=10), digits, None, "right")
    wrong = evaluator(WrongClassSampler(digits, num_classes=10), digits, None, "wrong")
    keys = {"classifier/intra_fid", *(f"classifier/fid_class{k}" for k in range(10))}
    assert set(right) == keys and set(wrong) == keys
    assert all(np.isfinite(v) for v in [*right.values(), *wrong.values()])
    assert right["classifier/intra_fid"] == pytest.approx(
        np.mean([right[f"classifier/fid_class{k}"] for k in range(10)]), rel=1e-12)
    assert wrong["classifier/intra_fid"] > 5 * right["classifier/intra_fid"]
    # the set-level FID cannot tell them apart: both draw real digits of every class
    quality = ImageQuality(classifier, num_samples=300, num_real=500, metrics=["fid"],
                           cache_dir=str(tmp_path), chunk=128)
    whole_right = quality(DigitSampler(digits, num_classes=10), digits, None, "x")
    whole_wrong = quality(WrongClassSampler(digits, num_classes=10), digits, None, "x")
    assert whole_wrong["classifier/fid"] < 3 * whole_right["classifier/fid"] + 1.0
    # real features shared with ImageQuality (one file), labels cached beside them
    assert len(list(tmp_path.glob("real-*-500-0.pt"))) == 1
    assert len(list(tmp_path.glob("labels-*-500-0.pt"))) == 1
    order = real_subset(len(digits.train_set), 500, 0)
    assert torch.equal(real_labels(digits, 500, tmp_path), digits.train_set.tensors[1][order])
    # unconditional samplers: nothing
    assert evaluator(DigitSampler(digits, num_classes=0), digits, None, "x") == {}
    few = IntraFID(classifier, num_samples=15, cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="under 2 images"):
        few(DigitSampler(digits, num_classes=10), digits, None, "x")


def test_intra_fid_settings_are_checked(classifier):
    with pytest.raises(ValueError, match="num_samples"):
        IntraFID(classifier, num_samples=1)
    with pytest.raises(ValueError, match="num_real"):
        IntraFID(classifier, num_samples=100, num_real=True)


# --------------------------------------------------------------------------- CAS


def _cas(tmp_path, **kwargs) -> ClassificationAccuracyScore:
    return ClassificationAccuracyScore(**{"num_samples": 1000, "width": 8, "epochs": 6,
                                          "cache_dir": str(tmp_path), "chunk": 256, **kwargs})


def test_cas_of_real_images_reaches_the_real_ceiling_and_ignoring_labels_is_chance(
        digits, tmp_path, monkeypatch):
    cas = _cas(tmp_path)
    state = torch.get_rng_state()
    perfect = cas(DigitSampler(digits, num_classes=10), digits, None, "perfect")
    assert torch.equal(torch.get_rng_state(), state)  # the training run's RNG is untouched
    assert set(perfect) == {"cas/accuracy", "cas/real_accuracy"}
    assert perfect["cas/real_accuracy"] > 0.8
    assert perfect["cas/accuracy"] > 0.8
    assert abs(perfect["cas/accuracy"] - perfect["cas/real_accuracy"]) < 0.1
    assert len(list(tmp_path.glob("cas-real-*.pt"))) == 1

    calls = []
    train = conditional_module.train_classifier
    monkeypatch.setattr(conditional_module, "train_classifier",
                        lambda *args, **kwargs: calls.append(args) or train(*args, **kwargs))
    careless = _cas(tmp_path)
    ignoring = careless(DigitSampler(digits, num_classes=10, honest=False), digits, None, "x")
    assert len(calls) == 1  # only the generated-data classifier; the ceiling was cached
    assert ignoring["cas/real_accuracy"] == perfect["cas/real_accuracy"]
    assert ignoring["cas/accuracy"] < 0.3  # 10 classes: chance is 0.1

    assert cas(DigitSampler(digits, num_classes=0), digits, None, "x") == {}


def test_cas_is_reproducible_and_its_settings_are_checked(digits, tmp_path):
    one = _cas(tmp_path, num_samples=300)(DigitSampler(digits, num_classes=10, seed=3),
                                          digits, None, "a")
    two = _cas(tmp_path, num_samples=300)(DigitSampler(digits, num_classes=10, seed=3),
                                          digits, None, "b")
    assert one == two
    for bad in ({"num_samples": 0}, {"epochs": 0}, {"holdout": 1.0}, {"lr": 0}):
        with pytest.raises(ValueError, match="cas"):
            _cas(tmp_path, **bad)
    with pytest.raises(ValueError, match="fewer than the 10 classes"):
        _cas(tmp_path, num_samples=5)(DigitSampler(digits, num_classes=10), digits, None, "x")
