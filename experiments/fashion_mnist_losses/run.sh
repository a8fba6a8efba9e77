#!/usr/bin/env bash
# Reproduces experiments/fashion_mnist_losses/README.md: DCGAN (half width) on Fashion-MNIST
# (32x32) with each of six GAN losses, 3 seeds each, and the same budget of STEPS optimizer
# updates (D and G updates together) per run: 1 + 1 per iteration for the n_critic = 1 losses,
# 5 + 1 for wgan and wgan_gp. One core per run, two runs at a time. Scored with
# classifier-feature FID, KID, IS and precision/recall on 10,000 samples (eval=classifier)
# at a third, two thirds and the end of the budget.
#   bash experiments/fashion_mnist_losses/run.sh                  # STEPS=3600
#   STEPS=100000 SEEDS="0 1 2 3 4" bash experiments/fashion_mnist_losses/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-3600}
OUT=${OUT:-experiments/fashion_mnist_losses/runs}
SEEDS=${SEEDS:-"0 1 2"}
LOSSES=${LOSSES:-"minimax nsgan lsgan wgan wgan_gp hinge"}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"

# Train the feature classifier once (cached by data), so parallel runs do not race to do it.
"$PY" -m gan_lab.classifier data=fashion_mnist "eval.cache_dir=$OUT/cache"

jobs=()
for seed in $SEEDS; do   # seed-major, so a cut-short sweep still has whole rows
  for loss in $LOSSES; do
    case $loss in wgan|wgan_gp) per=6 ;; *) per=2 ;; esac   # optimizer steps per iteration
    jobs+=("$loss $seed $((STEPS / per))")
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -L 1 bash -c '
  loss=$0 seed=$1 iters=$2
  "'"$PY"'" -m gan_lab data=fashion_mnist "loss=$loss" "seed=$seed" "iterations=$iters" \
    model.generator.width=32 model.discriminator.width=32 \
    eval=classifier "eval.every=$((iters / 3))" "callbacks.samples.every=$((iters / 3))" \
    "eval.cache_dir='"$OUT"'/cache" callbacks.checkpoint.every_n_iterations=1000000 \
    callbacks.progress=null trainer.enable_progress_bar=false \
    "hydra.run.dir='"$OUT"'/${loss}_s${seed}" > "'"$OUT"'/${loss}_s${seed}.log" 2>&1 \
    && echo "done $loss seed $seed" || echo "FAILED $loss seed $seed"'
"$PY" experiments/fashion_mnist_losses/reference.py "$OUT"
"$PY" experiments/fashion_mnist_losses/summarize.py "$OUT"
