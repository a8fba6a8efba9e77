#!/usr/bin/env bash
# Reproduces experiments/translation/README.md on the embedded digit sets (no download):
#  - the pix2pix ablation of Isola et al. 2017, Table 1 (L1 only, cGAN only, L1 + cGAN) on
#    edges2digits (outline -> coloured digit, 32x32), SEEDS seeds each, P2P_ITERS iterations;
#  - CycleGAN on chalk2ink (chalk on slate <-> ink on paper, unpaired), CG_ITERS iterations.
# Every run is scored with eval=translation on the 180 test images every ITERS/4 iterations.
# One core per run, two runs at a time.
#   bash experiments/translation/run.sh
#   P2P_ITERS=5000 CG_ITERS=6000 SEEDS="0 1 2" bash experiments/translation/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
P2P_ITERS=${P2P_ITERS:-2000}
CG_ITERS=${CG_ITERS:-3000}
SEEDS=${SEEDS:-"0 1"}
OUT=${OUT:-experiments/translation/runs}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
COMMON=(eval=translation "eval.cache_dir=$OUT/cache" callbacks.progress=null
        trainer.enable_progress_bar=false callbacks.checkpoint.every_n_iterations=1000000)

# Train the evaluation classifiers and cache the real features once, so parallel runs share them.
"$PY" -m gan_lab.classifier model=pix2pix "${COMMON[@]}"
"$PY" -m gan_lab.classifier model=cyclegan "${COMMON[@]}"

jobs=("cyclegan l1_cgan 0 $CG_ITERS")   # the longest first
for seed in $SEEDS; do
  for variant in l1_cgan l1 cgan; do
    jobs+=("pix2pix $variant $seed $P2P_ITERS")
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -L 1 bash -c '
  model=$0 variant=$1 seed=$2 iters=$3
  case $variant in
    l1) weights=(model.adversarial_weight=0) ;;      # "L1" row of Table 1
    cgan) weights=(model.l1_weight=0) ;;             # "cGAN"
    *) weights=() ;;                                 # "L1 + cGAN" (CycleGAN: the defaults)
  esac
  name=${model}_${variant}_s${seed}
  [ "$model" = cyclegan ] && name=cyclegan_s${seed}
  "'"$PY"'" -m gan_lab "model=$model" "${weights[@]}" "seed=$seed" "iterations=$iters" \
    '"${COMMON[*]}"' "eval.every=$((iters / 4))" "callbacks.samples.every=$((iters / 4))" \
    "hydra.run.dir='"$OUT"'/$name" > "'"$OUT"'/$name.log" 2>&1 \
    && echo "done $name" || echo "FAILED $name"'
"$PY" experiments/translation/summarize.py "$OUT"
