"""SeqGAN's Table 1 claim on the synthetic oracle (Yu et al. 2017: NLL_oracle MLE 9.038, SeqGAN
8.736), at a CPU-sized schedule, against continued MLE and the MLE model's temperature frontier.

Arms, per seed (each a ``python -m gan_lab model=seqgan data=oracle_lstm`` run; the same seed
gives the same MLE pre-training in every arm, bit for bit):

* ``seqgan``: MLE pre-training, D pre-training, adversarial epochs (the CPU schedule below);
* ``mle``: the same pre-training, then MLE continued for as many G updates as ``seqgan``'s
  adversarial stage made (one per adversarial epoch): ``iterations`` ends it there;
* ``seqgan_n1`` (ABLATIONS=1): one rollout per prefix instead of 16;
* ``seqgan_trailing`` (ABLATIONS=1): completions from the trailing copy (rate 0.8) the official
  code meant, not the current G its graph computes.

Every arm is scored by ``eval=tokens`` every 10 epochs (the learning curve) and at its end (the
last, not the best: the paper-era script kept the best NLL_oracle it saw): NLL_oracle of 10,000
samples and NLL_test of the 10,000 held-out sequences. ``frontier.py`` then samples the ``mle`` arm at temperatures
0.6-1.2 and places ``seqgan`` on the same axes.

The CPU schedule (the official one costs about 30 hours here: see the README): D's filters / 4
(891,952 parameters instead of 7,045,402), 80 MLE epochs (the paper-era script), 10 D
pre-training pools of 1 epoch (model.d_epochs serves both D stages), 100 adversarial epochs of 1
policy-gradient step (16 rollouts) and 1 x 1 D epoch. Override with EXTRA="model.adversarial_epochs=200 ...".

    python experiments/seqgan/run.py                      # SEEDS=0,1,2 ARMS=seqgan,mle
    SEEDS=0 ARMS=seqgan python experiments/seqgan/run.py  # one run
    OUT=experiments/seqgan/runs_x python experiments/seqgan/run.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EPOCH = 10_000 // 64  # batches per epoch of the oracle's training set (full batches)
CPU_SCHEDULE = {
    "model.discriminator.num_filters": "[25,50,50,50,50,25,25,25,25,25,40,40]",
    "model.pretrain_epochs": "80",
    "model.d_pretrain_steps": "10",
    "model.d_steps": "1",
    "model.d_epochs": "1",
    "model.adversarial_epochs": "100",
}
ARM_OVERRIDES = {
    "seqgan": {},
    "seqgan_n1": {"model.rollouts": "1"},
    "seqgan_trailing": {"model.rollout_update_rate": "0.8"},
}


def schedule(extra: list[str]) -> dict[str, str]:
    settings = dict(CPU_SCHEDULE)
    for override in extra:
        key, _, value = override.partition("=")
        settings[key] = value
    return settings


def command(arm: str, seed: int, run_dir: Path, settings: dict[str, str]) -> list[str]:
    """The training command of one arm."""
    args = [f"{k}={v}" for k, v in settings.items()]
    mle_length = int(settings["model.pretrain_epochs"]) * EPOCH
    if arm == "mle":
        # MLE only: a pre-training long enough, cut by the budget after as many G updates as
        # the adversarial stage has policy-gradient steps (g_steps per adversarial epoch).
        updates = int(settings["model.adversarial_epochs"]) * int(settings.get("model.g_steps", 1))
        args += ["model.pretrain_epochs=100000", f"iterations={mle_length + updates}"]
    else:  # the stages end the run (the budget only caps it)
        args += [f"{k}={v}" for k, v in ARM_OVERRIDES[arm].items()] + ["iterations=1000000000"]
    return [sys.executable, "-m", "gan_lab", "model=seqgan", "data=oracle_lstm", f"seed={seed}",
            *args, "eval=tokens", f"eval.every={10 * EPOCH}", "callbacks.samples.every=5000",
            "callbacks.progress.log_seconds=120", f"hydra.run.dir={run_dir}"]


def main() -> None:
    seeds = [int(s) for s in os.environ.get("SEEDS", "0,1,2").split(",")]
    arms = os.environ.get("ARMS", "seqgan,mle").split(",")
    if os.environ.get("ABLATIONS") == "1":
        arms += ["seqgan_n1", "seqgan_trailing"]
    out = Path(os.environ.get("OUT", HERE / f"runs_{time.strftime('%Y%m%d')}"))
    out.mkdir(parents=True, exist_ok=True)
    settings = schedule(os.environ.get("EXTRA", "").split())
    (out / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    for seed in seeds:
        for arm in arms:
            run_dir = out / f"{arm}_s{seed}"
            if (run_dir / "results.json").is_file():
                continue  # finished earlier: rerunning the script resumes the experiment
            started = time.monotonic()
            cmd = command(arm, seed, run_dir, settings)
            print(" ".join(cmd), flush=True)
            done = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"})
            if done.returncode != 0:
                sys.exit(f"run.py: {arm} seed {seed} failed ({done.returncode}); see {run_dir}")
            print(f"run.py: {arm} seed {seed} in {(time.monotonic() - started) / 60:.1f} min",
                  flush=True)


if __name__ == "__main__":
    main()
