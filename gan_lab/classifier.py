"""`python -m gan_lab.classifier data=...`: train or load the evaluation classifier of a data set.

For image sets it trains (or finds in the cache) the FID classifier of eval=classifier. For the
other kinds of data (translation sets, attribute sets, label maps...) it prepares the
evaluation given as ``eval=...``: e.g. ``eval=translation``'s domain classifier, class
classifier and real test features, ``eval=attributes``' attribute and content classifiers,
``eval=segmentation``'s segmenter.

An evaluation does this itself on first use; running it ahead keeps parallel sweeps from each
training their own copy. Prints where the classifier is cached and its held-out accuracy (image
sets), or where the evaluation's cache is (the others; each evaluator prints what it trained).
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from gan_lab.cli import command
from gan_lab.kinds import BatchKind, batch_kind


@command("classifier")
def main(cfg: DictConfig) -> float:
    from gan_lab.building import build
    from gan_lab.config import ConfigError, config_errors
    from gan_lab.quiet import silence_chatter

    silence_chatter()  # library lines once, in the console's format
    datamodule = build(cfg, "data")
    if batch_kind(datamodule) != BatchKind.SAMPLES:
        # Translation, attribute, label-map, super-resolution... data: its evaluation (given as
        # eval=...) trains or loads its classifiers and real statistics in prepare.
        evaluation = build(cfg, "eval") if cfg.get("eval") else None
        if evaluation is None:
            raise ConfigError("eval=none: nothing to prepare; give the evaluation of this data "
                              "(e.g. eval=translation, attributes, segmentation)")
        with config_errors():
            evaluation.prepare(datamodule)
        for name, evaluator in evaluation.metrics.items():
            where = getattr(evaluator, "cache_dir", None)
            print(f"gan_lab: eval.metrics.{name} ready for {type(datamodule).__name__}"
                  + (f" (its classifiers and real statistics are cached in {where})"
                     if where else ""))
        return 0.0
    extractor = build(cfg, "eval.classifier") if OmegaConf.select(cfg, "eval.classifier") else None
    if extractor is None:
        raise ConfigError("this eval has no classifier (eval.classifier); python -m "
                          "gan_lab.classifier trains eval=classifier's: drop the eval= override")
    with config_errors():
        extractor.prepare(datamodule)
    print(f"gan_lab: classifier for {type(datamodule).__name__}: {extractor.path} "
          f"(held-out accuracy {extractor.accuracy:.2%})")
    return extractor.accuracy


if __name__ == "__main__":
    main()
