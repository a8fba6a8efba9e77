"""Evaluation metrics (no dependency on models, callbacks, training or Hydra)."""

from gan_lab.metrics.classifier import ClassifierExtractor, DomainClassifier
from gan_lab.metrics.conditional import ClassificationAccuracyScore, IntraFID, intra_fid
from gan_lab.metrics.dinov2 import DinoV2Extractor
from gan_lab.metrics.extractor import FeatureExtractor
from gan_lab.metrics.image_quality import (
    ClassAccuracy,
    ImageQuality,
    fid,
    inception_score,
    kid,
    precision_recall,
    real_features,
)
from gan_lab.metrics.inception import InceptionExtractor
from gan_lab.metrics.tokens import TokenQuality, corpus_bleu, self_bleu
from gan_lab.metrics.toy import ModeCoverage, mode_statistics, scatter_plot
from gan_lab.metrics.translation import TranslationQuality

__all__ = [
    "ClassAccuracy",
    "ClassificationAccuracyScore",
    "ClassifierExtractor",
    "DinoV2Extractor",
    "DomainClassifier",
    "FeatureExtractor",
    "ImageQuality",
    "InceptionExtractor",
    "IntraFID",
    "ModeCoverage",
    "TokenQuality",
    "fid",
    "inception_score",
    "intra_fid",
    "kid",
    "mode_statistics",
    "precision_recall",
    "real_features",
    "TranslationQuality",
    "corpus_bleu",
    "self_bleu",
    "scatter_plot",
]
