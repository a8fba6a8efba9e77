"""Issue 21's metric fixes: the segmentation mIoU leaves the ignored class out even where the
segmenter predicts it (torchmetrics' numbers), and density / coverage (Naeem et al. 2020) are
computed with chunked ``torch.cdist``, equal to the authors' ``prdc`` code."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

from gan_lab.metrics.image_quality import density_coverage, knn_radii
from gan_lab.metrics.segmentation import SegmentationScore, SegmentationTally, miou_and_accuracy

# ------------------------------------------------------------------------------- segmentation
# A 4x4 scene of classes 0, 1, 2 and the ignored ("unlabeled") class 3 in the bottom-right
# quarter. The segmenter misses one pixel of class 0 by predicting the ignored class there, and
# one of class 1 by predicting class 2; what it predicts on the ignored quarter is not scored.
TARGET = torch.tensor([[0, 0, 1, 1],
                       [0, 0, 1, 1],
                       [2, 2, 3, 3],
                       [2, 2, 3, 3]])
PREDICTED = torch.tensor([[0, 0, 1, 1],
                          [0, 3, 1, 2],
                          [2, 2, 2, 3],
                          [2, 2, 3, 0]])
IGNORED = 3


def _torchmetrics(predicted, target, num_classes=4, ignore_index=IGNORED):
    jaccard = MulticlassJaccardIndex(num_classes, ignore_index=ignore_index, average="macro")
    accuracy = MulticlassAccuracy(num_classes, ignore_index=ignore_index, average="micro")
    return float(jaccard(predicted, target)), float(accuracy(predicted, target))


def test_ignored_class_predictions_do_not_lower_the_miou_hand_computed():
    miou, accuracy = miou_and_accuracy(PREDICTED, TARGET, 4, ignore_index=IGNORED)
    # 12 scored pixels. Class 0: TP 3, FN 1 (predicted as the ignored class) -> 3/4.
    # Class 1: TP 3, FN 1 (predicted as 2) -> 3/4. Class 2: TP 4, FP 1 -> 4/5.
    # The ignored class is not a term of the mean, though it is predicted on a labelled pixel.
    assert miou == pytest.approx((3 / 4 + 3 / 4 + 4 / 5) / 3)
    assert accuracy == pytest.approx(10 / 12)
    # issue 21: the old code counted the ignored class with IoU 0 -> (3/4 + 3/4 + 4/5 + 0) / 4
    assert miou > (3 / 4 + 3 / 4 + 4 / 5) / 4 + 0.1
    assert (miou, accuracy) == pytest.approx(_torchmetrics(PREDICTED, TARGET), abs=1e-6)


def test_ignored_class_predicted_only_on_unlabelled_pixels_changes_nothing():
    perfect = TARGET.clone()
    assert miou_and_accuracy(perfect, TARGET, 4, IGNORED) == pytest.approx((1.0, 1.0))
    unlabelled = TARGET == IGNORED
    for fill in range(4):   # whatever it predicts on the unlabelled quarter
        predicted = torch.where(unlabelled, torch.full_like(TARGET, fill), TARGET)
        assert miou_and_accuracy(predicted, TARGET, 4, IGNORED) == pytest.approx((1.0, 1.0))


def test_segmentation_tally_equals_torchmetrics_on_random_batches():
    generator = torch.Generator().manual_seed(0)
    num_classes, ignored = 7, 0
    target = torch.randint(0, num_classes, (6, 16, 16), generator=generator)
    predicted = torch.where(torch.rand(target.shape, generator=generator) < 0.6, target,
                            torch.randint(0, num_classes, target.shape, generator=generator))
    assert (predicted[target != ignored] == ignored).any()   # the ignored class is predicted
    tally = SegmentationTally(num_classes, ignored)
    for p, t in zip(predicted.split(2), target.split(2)):
        tally.update(p, t)
    expected = _torchmetrics(predicted, target, num_classes, ignored)
    assert tally.compute() == pytest.approx(expected, abs=1e-6)
    # the hand computation of the mean IoU over the other classes
    keep = target != ignored
    t, p = target[keep], predicted[keep]
    ious = [float(((t == k) & (p == k)).sum()) / float(((t == k) | (p == k)).sum())
            for k in range(num_classes) if k != ignored]
    assert tally.compute()[0] == pytest.approx(sum(ious) / len(ious), abs=1e-6)
    assert tally.compute()[1] == pytest.approx(float((t == p).double().mean()), abs=1e-6)


def test_segmentation_tally_without_scored_pixels_is_zero():
    tally = SegmentationTally(4, IGNORED)
    tally.update(torch.zeros(2, 2, dtype=torch.long), torch.full((2, 2), IGNORED))
    assert tally.compute() == (0.0, 0.0)


class _Oracle(nn.Module):
    """A 'segmenter' reading the class map back from channel 0 of an image (class / 4)."""

    def forward(self, images):
        classes = (4 * images[:, 0]).round().long()
        return nn.functional.one_hot(classes, 4).permute(0, 3, 1, 2).float()


class _Sampler:
    directions = ("labels_to_image",)

    @staticmethod
    def translate(labels, direction):
        """Images (in [-1, 1]) that the oracle segments as PREDICTED."""
        return PREDICTED[None, None].float().expand(len(labels), 3, 4, 4) / 4


def test_segmentation_score_reports_the_fixed_miou_under_its_names():
    eval_set = torch.utils.data.TensorDataset(TARGET[None])
    data = SimpleNamespace(num_classes=4, ignore_index=IGNORED, eval_set=lambda: eval_set)
    datamodule = SimpleNamespace(label_data=data)
    score = SegmentationScore(extractor=None, segmenter=SimpleNamespace(device="cpu"),
                              metrics=("segmentation",))
    score._prepared_for, score._net, score._ceiling = datamodule, _Oracle(), (1.0, 1.0)
    results = score(_Sampler(), datamodule, None, "final")
    assert set(results) == {"segmentation/miou", "segmentation/accuracy",
                            "segmentation/real_miou", "segmentation/real_accuracy"}
    assert results["segmentation/miou"] == pytest.approx((3 / 4 + 3 / 4 + 4 / 5) / 3)
    assert results["segmentation/accuracy"] == pytest.approx(10 / 12)


# ------------------------------------------------------------------------ density / coverage
def test_density_coverage_hand_computed_k2():
    # Real points on a line at 0, 1, 2, 10 with k = 2: radii (distance to the 2nd nearest other
    # real point) 2, 1, 2, 9.
    real = torch.tensor([[0.0], [1.0], [2.0], [10.0]])
    assert knn_radii(real, 2).tolist() == [2.0, 1.0, 2.0, 9.0]
    # fake -0.5: inside the ball of 0 (0.5 < 2) only (1.5 > 1, 2.5 > 2, 10.5 > 9);
    # fake 3: inside the balls of 2 (1 < 2) and 10 (7 < 9), not 0 (3 > 2) nor 1 (2 > 1);
    # fake 12: inside the ball of 10 (2 < 9) only.
    # Density: 1 + 2 + 1 memberships over k M = 2 * 3; coverage: the balls of 0, 2, 10 of 4.
    fake = torch.tensor([[-0.5], [3.0], [12.0]])
    for chunk in (1, 2, 3, 512):
        density, coverage = density_coverage(real, fake, neighbourhood=2, chunk=chunk)
        assert density == pytest.approx(4 / 6)
        assert coverage == pytest.approx(3 / 4)
    # a fake exactly on a ball's boundary (-2: distance 2 to 0, radius 2) is outside, as in prdc
    assert density_coverage(real, torch.tensor([[-2.0]]), neighbourhood=2) == (0.0, 0.0)


def test_density_coverage_equal_prdc():
    prdc = pytest.importorskip("prdc")
    generator = np.random.default_rng(0)
    real = generator.standard_normal((300, 16)).astype(np.float32)
    fake = (0.3 + 1.2 * generator.standard_normal((250, 16))).astype(np.float32)
    expected = prdc.compute_prdc(real, fake, nearest_k=5)
    density, coverage = density_coverage(torch.from_numpy(real), torch.from_numpy(fake), 5)
    assert density == pytest.approx(float(expected["density"]), abs=1e-6)
    assert coverage == pytest.approx(float(expected["coverage"]), abs=1e-6)
    assert 0.1 < coverage < 1.0 and density > 0.1   # a case that tells them apart
    radii = prdc.prdc.compute_nearest_neighbour_distances(real, 5)
    assert knn_radii(torch.from_numpy(real), 5).numpy() == pytest.approx(radii, rel=1e-5)


def test_density_coverage_do_not_depend_on_the_chunk():
    generator = torch.Generator().manual_seed(3)
    real = torch.randn(137, 8, generator=generator)
    fake = torch.randn(91, 8, generator=generator) * 1.3
    results = {chunk: density_coverage(real, fake, 5, chunk=chunk)
               for chunk in (1, 7, 64, 136, 137, 1000)}
    assert len(set(results.values())) == 1, results
    # ... and equal the brute force over full matrices
    radii = torch.cdist(real.double(), real.double()).kthvalue(6, dim=1).values
    inside = torch.cdist(real.double(), fake.double()) < radii[:, None]
    assert results[1] == pytest.approx((float(inside.sum()) / (5 * 91),
                                        float(inside.any(1).double().mean())))


def test_density_coverage_reject_bad_arguments():
    real, fake = torch.randn(6, 2), torch.randn(4, 2)
    with pytest.raises(ValueError, match="neighbourhood=6"):
        density_coverage(real, fake, neighbourhood=6)
    with pytest.raises(ValueError, match="chunk=0"):
        density_coverage(real, fake, chunk=0)
    with pytest.raises(ValueError, match="no generated samples"):
        density_coverage(real, fake[:0])
