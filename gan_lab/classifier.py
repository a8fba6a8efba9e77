"""`python -m gan_lab.classifier data=...`: train or load the evaluation classifier of a data set.

For translation sets (``model=cyclegan eval=translation``) it prepares the translation
evaluation: the domain classifier, the class classifier where the set has class labels, and
the real test features.

eval=classifier does this itself on first use; running it ahead keeps parallel sweeps from
each training their own copy. Prints where the classifier is cached and its held-out accuracy.
"""

from __future__ import annotations

from omegaconf import DictConfig

from gan_lab.cli import command


@command("classifier")
def main(cfg: DictConfig) -> float:
    from gan_lab.config import config_errors
    from gan_lab.train import build

    datamodule = build(cfg, "data")
    if datamodule.batch_kind == "two domains":
        # A translation set: its evaluation (eval=translation) has a domain classifier and, for
        # sets with class labels, a class classifier; prepare trains or loads both.
        evaluation = build(cfg, "eval")
        with config_errors():
            evaluation.prepare(datamodule)
        for evaluator in evaluation.metrics.values():
            for extractor in (evaluator.extractor, evaluator.semantic_classifier):
                if getattr(extractor, "path", None) is not None:
                    print(f"gan_lab: classifier {extractor.path} "
                          f"(held-out accuracy {extractor.accuracy:.2%})")
        return float(evaluator.extractor.accuracy or 0.0)
    extractor = build(cfg, "eval.classifier")
    with config_errors():
        extractor.prepare(datamodule)
    print(f"gan_lab: classifier for {type(datamodule).__name__}: {extractor.path} "
          f"(held-out accuracy {extractor.accuracy:.2%})")
    return extractor.accuracy


if __name__ == "__main__":
    main()
