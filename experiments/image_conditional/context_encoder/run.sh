#!/usr/bin/env bash
# Reproduces experiments/image_conditional/context_encoder/README.md on the embedded photo crops
# (no download): the context encoder with the L2 loss only vs the joint L2 + adversarial loss
# (Pathak et al. 2016, fig. 5 / 6 and the semantic-inpainting table), central hole, 64 px crops
# with a 32 px hole (the paper's 128 / 64 halved), ITERS iterations each, SEEDS seeds, scored
# with eval=inpainting (mean L1 / L2, PSNR and sharpness in the hole of the 100 held-out crops)
# every ITERS/4 iterations. One core, one run after the other; the default budget takes about
# 12 minutes (0.36 s per joint iteration, 0.18 s per L2-only one, on one core).
#   bash experiments/image_conditional/context_encoder/run.sh
#   ITERS=5000 SEEDS="0 1 2" bash experiments/image_conditional/context_encoder/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PY:-.venv/bin/python}
ITERS=${ITERS:-1200}
SEEDS=${SEEDS:-"0"}
WIDTH=${WIDTH:-32}       # nef = ngf = ndf (the paper's code: 64)
OUT=${OUT:-experiments/image_conditional/context_encoder/runs}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
EVERY=$(( ITERS / 4 > 0 ? ITERS / 4 : 1 ))
COMMON=(model=context_encoder data=photos_inpainting "iterations=$ITERS" "net_width=$WIDTH"
        eval=inpainting "eval.every=$EVERY" "callbacks.samples.every=$EVERY"
        callbacks.checkpoint.every_n_iterations=1000000 callbacks.progress=null
        trainer.enable_progress_bar=false)

for seed in $SEEDS; do
  for variant in l2 joint; do
    case $variant in
      l2) weights=(model.adversarial_weight=0) ;;   # "L2 loss" of fig. 5 / 6: no adversary
      *) weights=() ;;                              # 0.999 L2 + 0.001 adversarial (eq. 4)
    esac
    name=${variant}_s${seed}
    if "$PY" -m gan_lab "${COMMON[@]}" "${weights[@]}" "seed=$seed" \
        "hydra.run.dir=$OUT/$name" > "$OUT/$name.log" 2>&1; then
      echo "done $name"
    else
      echo "FAILED $name (see $OUT/$name.log)"
    fi
  done
done
"$PY" experiments/image_conditional/context_encoder/summarize.py "$OUT"
