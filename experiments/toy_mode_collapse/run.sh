#!/usr/bin/env bash
# Reproduces experiments/toy_mode_collapse/README.md: PacGAN's Table 1 rows (GAN, PacGAN2-4)
# plus hinge and WGAN-GP, on the ring and the grid, 5 seeds each, with the paper's networks
# and metric protocol (experiment=toy). Runs the two datasets in parallel, one CPU core each.
#   bash experiments/toy_mode_collapse/run.sh            # ITER=1000 by default
#   ITER=400000 bash experiments/toy_mode_collapse/run.sh   # the paper's budget
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
ITER=${ITER:-1000}
OUT=${OUT:-experiments/toy_mode_collapse/runs}
SEEDS=${SEEDS:-"0 1 2 3 4"}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
common=(experiment=toy "iterations=$ITER" "eval.every=$((ITER / 3))"
        "callbacks.checkpoint.every_n_iterations=$ITER" callbacks.progress=null
        trainer.enable_progress_bar=false)

one_dataset() {
  local data=$1
  for seed in $SEEDS; do   # seed-major, so a cut-short run still has whole rows
    "$PY" -m gan_lab -m "data=$data" "seed=$seed" loss=nsgan model.packing=1,2,3,4 "${common[@]}" \
      "hydra.sweep.dir=$OUT/$data/seed$seed" 'hydra.sweep.subdir=pacgan${model.packing}'
    "$PY" -m gan_lab -m "data=$data" "seed=$seed" loss=hinge "${common[@]}" \
      "hydra.sweep.dir=$OUT/$data/seed$seed" hydra.sweep.subdir=hinge
    # WGAN-GP with its own paper's Adam (lr 1e-4, betas 0, 0.9) instead of PacGAN's.
    "$PY" -m gan_lab -m "data=$data" "seed=$seed" loss=wgan_gp "${common[@]}" \
      "optim.generator.betas=[0.0,0.9]" "optim.discriminator.betas=[0.0,0.9]" \
      "hydra.sweep.dir=$OUT/$data/seed$seed" hydra.sweep.subdir=wgan_gp
  done
}

one_dataset ring > "$OUT.ring.log" 2>&1 &
one_dataset grid > "$OUT.grid.log" 2>&1 &
wait
"$PY" experiments/toy_mode_collapse/summarize.py "$OUT"
