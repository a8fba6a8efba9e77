#!/usr/bin/env bash
# SPADE vs pix2pix on the same embedded label maps (data=textures: 2,000 training / 200 test
# scenes, 32x32, 6 classes), at an equal budget: ITERATIONS generator iterations of batch BATCH
# each, generators of about the same size (SPADE ngf 8: 4.3M parameters; pix2pix U-Net width
# 32: 4.2M), each with its paper's objective and optimizer. Both are scored by eval=segmentation
# (the SPADE paper's Table 1 protocol: FID, and the mIoU / pixel accuracy of a segmenter trained
# on the real photos) with one shared cache, so the segmenter and the FID classifier are trained
# once. One core, one run at a time; about 13 minutes with the defaults (SPADE ~0.7 s per
# iteration, pix2pix ~0.13 s, evaluation ~1.5 min).
#   bash experiments/image_conditional/spade/run.sh
#   ITERATIONS=3000 SEEDS="0 1 2" bash experiments/image_conditional/spade/run.sh
#   ITERATIONS=10 EXTRA="eval.segmenter.epochs=1 eval.classifier.epochs=1" OUT=/tmp/spade_smoke \
#     bash experiments/image_conditional/spade/run.sh          # a smoke test of the scripts
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PY:-.venv/bin/python}
ITERATIONS=${ITERATIONS:-800}
BATCH=${BATCH:-8}
SEEDS=${SEEDS:-0}
OUT=${OUT:-experiments/image_conditional/spade/runs}
EXTRA=${EXTRA:-}   # more overrides for both models, e.g. smaller evaluation nets
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
COMMON=(data=textures "iterations=$ITERATIONS" "data.batch_size=$BATCH" eval=segmentation
        "eval.every=$ITERATIONS" "eval.cache_dir=$OUT/cache" "callbacks.samples.every=$ITERATIONS"
        "callbacks.checkpoint.every_n_iterations=$ITERATIONS" callbacks.progress=null
        trainer.enable_progress_bar=false)
read -r -a EXTRA_ARGS <<< "$EXTRA"
COMMON+=("${EXTRA_ARGS[@]}")
for seed in $SEEDS; do
  # SPADE: the paper's nets at ngf 8 (ndf 32, as pix2pix's D), hinge + 10 feature matching,
  # Adam 1e-4 / 4e-4 (0, 0.9); no VGG loss (its weights are not available offline).
  "$PY" -m gan_lab model=spade net_width=8 model.discriminator.width=32 "seed=$seed" \
    "${COMMON[@]}" "hydra.run.dir=$OUT/spade_s$seed" > "$OUT/spade_s$seed.log" 2>&1 \
    && echo "done spade_s$seed" || echo "FAILED spade_s$seed (see $OUT/spade_s$seed.log)"
  # pix2pix on the same scenes, the label maps colour-coded: U-Net + 70x70 PatchGAN, nsgan +
  # 100 L1, Adam 2e-4 (0.5, 0.999) decayed over the second half.
  "$PY" -m gan_lab model=pix2pix data.pairs=true net_width=32 "seed=$seed" \
    "${COMMON[@]}" "hydra.run.dir=$OUT/pix2pix_s$seed" > "$OUT/pix2pix_s$seed.log" 2>&1 \
    && echo "done pix2pix_s$seed" || echo "FAILED pix2pix_s$seed (see $OUT/pix2pix_s$seed.log)"
done
"$PY" experiments/image_conditional/spade/summarize.py "$OUT"
