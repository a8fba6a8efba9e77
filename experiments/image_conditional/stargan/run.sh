#!/usr/bin/env bash
# Reproduces experiments/image_conditional/stargan/README.md: StarGAN (Choi et al. 2018) on the
# embedded digit_attributes set (32x32 digits with 4 independent binary attributes: red ink,
# thick stroke, dark paper, frame; 16 domains; no download), at the paper's objective and
# optimiser (WGAN-GP lambda 10, n_critic 5, lambda_cls 1, lambda_rec 10, Adam 1e-4 (0.5, 0.999),
# linear lr decay over the second half) with narrow nets (net_width=16; the paper's 64).
# Every run is scored with eval=attributes on the 180 test images every ITERS/4 iterations: a
# classifier trained on the real images reads each single-attribute translation, as the
# paper's RaFD classification error (Table 3). One core, one run after another; the default
# budget (one seed, 1,800 iterations) takes about 13 minutes.
#   bash experiments/image_conditional/stargan/run.sh
#   ITERS=6000 SEEDS="0 1 2" OUT=experiments/image_conditional/stargan/runs/long \
#     REPORT=experiments/image_conditional/stargan/long bash experiments/image_conditional/stargan/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PY:-.venv/bin/python}
ITERS=${ITERS:-1800}
SEEDS=${SEEDS:-"0"}
WIDTH=${WIDTH:-16}
HERE=experiments/image_conditional/stargan
OUT=${OUT:-$HERE/runs}
REPORT=${REPORT:-$HERE}   # where table.md, results.csv and the images go
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
EVERY=$(( ITERS / 4 > 0 ? ITERS / 4 : 1 ))
for seed in $SEEDS; do
  name=stargan_s$seed
  "$PY" -m gan_lab model=stargan "seed=$seed" "iterations=$ITERS" "net_width=$WIDTH" \
    eval=attributes "eval.cache_dir=$OUT/cache" "eval.every=$EVERY" \
    "callbacks.samples.every=$EVERY" "callbacks.checkpoint.every_n_iterations=$ITERS" \
    callbacks.progress=null trainer.enable_progress_bar=false "hydra.run.dir=$OUT/$name" \
    > "$OUT/$name.log" 2>&1 && echo "done $name" || echo "FAILED $name (see $OUT/$name.log)"
done
mkdir -p "$REPORT"
"$PY" "$HERE/summarize.py" "$OUT" "$REPORT"
