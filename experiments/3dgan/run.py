"""3D-GAN's claim that its discriminator learns linearly separable shape features (Wu et al.
2016, sec. 4.2: a linear SVM on D's pooled features reaches 91.0 % on ModelNet10 and 83.3 % on
ModelNet40), tested on the procedural shapes of ``data=primitives3d``.

For each seed: train ``model=3dgan`` on 7 of the 10 classes; then, on shapes from another shape
stream (``shape_seed=1``: no shape trained on), fit a linear SVM (scikit-learn's LinearSVC) on
features of L labelled shapes per class (L in 5, 10, 25, 100, all) and score held-out shapes,
for all 10 classes and for the 3 classes the GAN never saw. Features:

* ``D trained``: D's intermediate activations after each stride-2 block, max-pooled to 2^3 cells
  per channel and concatenated (the paper max-pools D's 2nd-4th layers to a fixed size);
* ``D random``: the same extraction from the same architecture at its initialisation (seeded);
* ``raw voxels``: the occupancy grid itself, flattened;
* ``3D CNN (supervised)``: the D architecture with a linear head trained by cross-entropy on the
  same L labelled shapes per class (the fully supervised reference).

It also writes the sample metrics of ``eval=voxels`` for each GAN (voxel-feature FID, generated
class histogram, nearest-training-shape IoU), and renders of samples.

    python experiments/3dgan/run.py                  # OUT=experiments/3dgan/runs_<date>
    SEEDS=0 ITERATIONS=200 python experiments/3dgan/run.py   # a shorter check
    EXTRA="optim.generator.lr=2e-4" python experiments/3dgan/run.py   # a variant
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from gan_lab.data.voxels.primitives import CLASS_NAMES, Primitives3DDataModule
from gan_lab.loading import load_module
from gan_lab.resolvers import register_resolvers

HERE = Path(__file__).resolve().parent
SEEN = ["sphere", "box", "cylinder", "cone", "torus", "table", "chair"]
UNSEEN = [name for name in CLASS_NAMES if name not in SEEN]   # pyramid, capsule, tube
LABELS = [5, 10, 25, 100, "all"]
POOL, TEST = 150, 60            # SVM pool and test shapes per class (shape_seed=1)
WIDTHS = ["model.generator.widths=[64,32,16,8]", "model.discriminator.widths=[8,16,32,64]"]


def train_gan(seed: int, out: Path, iterations: int) -> Path:
    run_dir = out / f"gan_seed{seed}"
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    if ckpt.is_file():
        return ckpt
    extra = os.environ.get("EXTRA", "").split()  # overrides of a variant (README)
    command = [sys.executable, "-m", "gan_lab", "model=3dgan", *WIDTHS, "data.batch_size=32", *extra,
               f"data.classes=[{','.join(SEEN)}]", f"iterations={iterations}", f"seed={seed}",
               f"run_dir={run_dir}", "eval=voxels", f"eval.every={iterations}",
               "eval.num_samples=500", f"eval.cache_dir={out / 'cache'}",
               "callbacks.samples.every=1000000"]
    print(" ".join(command[1:]), flush=True)
    subprocess.run(command, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return ckpt


@torch.no_grad()
def pooled_features(discriminator: torch.nn.Module, voxels: torch.Tensor) -> np.ndarray:
    """D's activations after each stride-2 block (its leaky ReLUs), max-pooled to 2^3 cells per
    channel, concatenated."""
    discriminator.eval()
    feats = []
    for chunk in voxels.split(100):
        x, outs = chunk.float(), []
        for layer in discriminator.net:
            x = layer(x)
            if isinstance(layer, torch.nn.LeakyReLU):
                outs.append(F.adaptive_max_pool3d(x, 2).flatten(1))
        feats.append(torch.cat(outs, 1))
    return torch.cat(feats).numpy()


def svm_accuracy(train_x, train_y, test_x, test_y) -> float:
    scaler = StandardScaler().fit(train_x)
    svm = LinearSVC(C=1.0, max_iter=20000).fit(scaler.transform(train_x), train_y)
    return float((svm.predict(scaler.transform(test_x)) == test_y).mean())


def supervised_accuracy(make_net, train_x, train_y, test_x, test_y, classes, seed) -> float:
    """The D architecture with a linear head on its pooled features, trained by cross-entropy
    (Adam 1e-3, 60 epochs of batches of 32) on the labelled shapes only."""
    torch.manual_seed(seed)
    net = make_net()
    remap = {c: i for i, c in enumerate(classes)}
    y = torch.tensor([remap[int(c)] for c in train_y])
    probe = pooled_features_train(net, train_x[:2])
    head = torch.nn.Linear(probe.shape[1], len(classes))
    params = list(net.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    for _ in range(60):
        order = torch.randperm(len(train_x))
        for index in order.split(32):
            logits = head(pooled_features_train(net, train_x[index]))
            loss = F.cross_entropy(logits, y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    with torch.no_grad():
        predicted = torch.cat([head(pooled_features_train(net, c)).argmax(1)
                               for c in test_x.split(100)])
    truth = torch.tensor([remap[int(c)] for c in test_y])
    return float((predicted == truth).float().mean())


def pooled_features_train(discriminator, voxels):
    x, outs = voxels.float(), []
    for layer in discriminator.net:
        x = layer(x)
        if isinstance(layer, torch.nn.LeakyReLU):
            outs.append(F.adaptive_max_pool3d(x, 2).flatten(1))
    return torch.cat(outs, 1)


def subsample(labels: np.ndarray, per_class, rng) -> np.ndarray:
    if per_class == "all":
        return np.arange(len(labels))
    return np.concatenate([rng.choice(np.where(labels == c)[0], per_class, replace=False)
                           for c in np.unique(labels)])


def main() -> None:
    register_resolvers()
    seeds = [int(s) for s in os.environ.get("SEEDS", "0,1,2").split(",")]
    iterations = int(os.environ.get("ITERATIONS", "600"))
    out = Path(os.environ.get("OUT", HERE / f"runs_{time.strftime('%Y%m%d')}"))
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    data = Primitives3DDataModule(resolution=32, num_samples=POOL, num_test=TEST, shape_seed=1,
                                  batch_size=10)
    pool, test = data.shapes(CLASS_NAMES, "train", POOL), data.shapes(CLASS_NAMES, "test", TEST)
    pool_x, pool_y = pool.tensors[0].float(), pool.tensors[1].numpy()
    test_x, test_y = test.tensors[0].float(), test.tensors[1].numpy()
    unseen = [CLASS_NAMES.index(n) for n in UNSEEN]
    rows = []
    for seed in seeds:
        ckpt = train_gan(seed, out, iterations)
        module, _ = load_module(ckpt)
        trained = module.discriminator
        torch.manual_seed(seed)
        random_d = type(trained)(resolution=32, widths=trained.widths, norm=trained.norm)
        features = {"D trained": (pooled_features(trained, pool_x), pooled_features(trained, test_x)),
                    "D random": (pooled_features(random_d, pool_x), pooled_features(random_d, test_x)),
                    "raw voxels": (pool_x.flatten(1).numpy(), test_x.flatten(1).numpy())}
        for task, classes in (("10 classes", list(range(10))), ("3 unseen", unseen)):
            in_pool, in_test = np.isin(pool_y, classes), np.isin(test_y, classes)
            for per_class in LABELS:
                rng = np.random.default_rng(seed)
                picked = np.where(in_pool)[0][subsample(pool_y[in_pool], per_class, rng)]
                for name, (fx, tx) in features.items():
                    acc = svm_accuracy(fx[picked], pool_y[picked], tx[in_test], test_y[in_test])
                    rows.append({"seed": seed, "task": task, "labels": per_class,
                                 "features": name, "accuracy": acc})
                if per_class != "all":  # the supervised CNN at "all" costs minutes per seed
                    make = functools.partial(type(trained), resolution=32,
                                             widths=trained.widths, norm=trained.norm)
                    acc = supervised_accuracy(make, pool_x[picked], pool_y[picked],
                                              test_x[in_test], test_y[in_test], classes, seed)
                    rows.append({"seed": seed, "task": task, "labels": per_class,
                                 "features": "3D CNN (supervised)", "accuracy": acc})
                print(seed, task, per_class, [r["accuracy"] for r in rows[-4:]], flush=True)
        (out / "rows.json").write_text(json.dumps(rows, indent=1))
    print(f"wrote {out / 'rows.json'}")


if __name__ == "__main__":
    main()
