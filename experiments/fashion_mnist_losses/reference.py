"""The 'real data' row of the table: the metrics of Fashion-MNIST's 10,000 *test* images scored
exactly as the generators are (same classifier, same cached 10,000 real training features).

    python experiments/fashion_mnist_losses/reference.py experiments/fashion_mnist_losses/runs

Prints the row and writes reference.json next to this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from gan_lab.data import FashionMNISTDataModule
from gan_lab.metrics import ClassifierExtractor, ImageQuality

HERE = Path(__file__).resolve().parent


def main(runs: Path) -> None:
    cache = runs / "cache"
    train = FashionMNISTDataModule(image_size=32, channels=1)  # as data=fashion_mnist
    test_images = FashionMNISTDataModule(image_size=32, channels=1, split="test")
    test_images.setup("fit")
    pool = test_images.train_set.tensors[0]
    position = 0

    def test_sampler(n: int, labels=None) -> torch.Tensor:  # the test images, in order
        nonlocal position
        images = pool[position:position + n]
        position += n
        return images

    # The same settings as eval=classifier in run.sh (conf/eval/classifier.yaml defaults).
    quality = ImageQuality(ClassifierExtractor(cache_dir=str(cache)), num_samples=10000,
                           cache_dir=str(cache))
    results = quality(test_sampler, train, None, "reference")
    results["classifier/real_accuracy"] = quality.extractor.accuracy
    (HERE / "reference.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else HERE / "runs"))
