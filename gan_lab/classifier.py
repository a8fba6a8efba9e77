"""`python -m gan_lab.classifier data=...`: train or load the evaluation classifier of a data set.

eval=classifier does this itself on first use; running it ahead keeps parallel sweeps from
each training their own copy. Prints where the classifier is cached and its held-out accuracy.
"""

from __future__ import annotations

from omegaconf import DictConfig

from gan_lab.cli import command


@command("classifier")
def main(cfg: DictConfig) -> float:
    from gan_lab.train import build, prepare

    datamodule = build(cfg, "data")
    extractor = build(cfg, "eval.classifier")
    prepare(extractor, datamodule)
    print(f"gan_lab: classifier for {type(datamodule).__name__}: {extractor.path} "
          f"(held-out accuracy {extractor.accuracy:.2%})")
    return extractor.accuracy


if __name__ == "__main__":
    main()
