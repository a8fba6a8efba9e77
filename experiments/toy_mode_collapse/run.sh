#!/usr/bin/env bash
# Reproduces experiments/toy_mode_collapse/README.md: PacGAN's Table 1 rows (GAN, PacGAN2-4) on
# the ring and the grid with the official code's training details (experiment=toy), 5 runs
# per row as 5 replicas stacked in one process (model.replicas=5). All 8 processes run at
# once, one thread each, so every row advances at the same pace: a run cut short still has
# every row at its last evaluation.
#   bash experiments/toy_mode_collapse/run.sh               # ITER=6000, evaluated every 1000
#   ITER=400000 EVERY=1000 bash experiments/toy_mode_collapse/run.sh   # the paper's budget
#   ROWS="hinge wgan_gp" bash experiments/toy_mode_collapse/run.sh     # the extra rows
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
ITER=${ITER:-6000}
EVERY=${EVERY:-1000}
REPLICAS=${REPLICAS:-5}
OUT=${OUT:-experiments/toy_mode_collapse/runs}
ROWS=${ROWS:-"pacgan1 pacgan2 pacgan3 pacgan4"}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
common=(experiment=toy seed=0 "model.replicas=$REPLICAS" "iterations=$ITER" "eval.every=$EVERY"
        "callbacks.checkpoint.every_n_iterations=$EVERY" callbacks.progress=null
        trainer.enable_progress_bar=false)

row_overrides() {
  case $1 in
    pacgan*) echo "loss=nsgan model.packing=${1#pacgan}" ;;
    hinge) echo "loss=hinge" ;;
    # WGAN-GP (n_critic 5, so alternating updates) with its own paper's Adam (betas 0, 0.9).
    wgan_gp) echo "loss=wgan_gp optim.generator.betas=[0.0,0.9] optim.discriminator.betas=[0.0,0.9]" ;;
    *) echo "unknown row $1" >&2; exit 2 ;;
  esac
}

for data in ring grid; do
  for row in $ROWS; do
    mkdir -p "$OUT/$data"
    # shellcheck disable=SC2046
    "$PY" -m gan_lab "data=$data" $(row_overrides "$row") "${common[@]}" \
      "hydra.run.dir=$OUT/$data/$row" > "$OUT/$data/$row.log" 2>&1 &
  done
done
wait
"$PY" experiments/toy_mode_collapse/summarize.py "$OUT"
