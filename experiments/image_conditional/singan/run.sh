#!/usr/bin/env bash
# Reproduces experiments/image_conditional/singan/README.md: SinGAN (Shaham et al. 2019) trained
# on bundled scikit-image photos at CPU size, then scored as the paper's Tables 1-2: SIFID and
# diversity of samples generated from the coarsest scale (N) and from the finer ones (N-1, N-2),
# plus samples at twice the width. One core, one run after another.
#   bash experiments/image_conditional/singan/run.sh                    # ~13 minutes on one core
#   ITERS=2000 MAX_SIZE=250 SAMPLES=50 bash experiments/image_conditional/singan/run.sh   # paper
# PHOTOS: bundled photos (gan_lab/data/common/photos.py); MAX_SIZE: the training image's long side
# (the paper: 250); ITERS: iterations per scale (the paper: 2000); SAMPLES: samples per start
# scale for SIFID and diversity (the paper's SIFID table: 50).
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PY:-.venv/bin/python}
PHOTOS=${PHOTOS:-"rocket hubble_deep_field"}
MAX_SIZE=${MAX_SIZE:-96}
ITERS=${ITERS:-150}
SAMPLES=${SAMPLES:-20}
START_SCALES=${START_SCALES:-"[0,1,2]"}
OUT=${OUT:-experiments/image_conditional/singan/runs}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"

for photo in $PHOTOS; do
  run="$OUT/$photo"
  "$PY" -m gan_lab model=singan "data.photo=$photo" "data.max_size=$MAX_SIZE" \
    "model.iterations_per_scale=$ITERS" eval=singan "eval.metrics.singan.num_samples=$SAMPLES" \
    "eval.metrics.singan.start_scales=$START_SCALES" callbacks.progress=null \
    trainer.enable_progress_bar=false "callbacks.samples.every=$ITERS" \
    "callbacks.checkpoint.every_n_iterations=$ITERS" "hydra.run.dir=$run" > "$run.log" 2>&1 \
    && echo "done $photo" || { echo "FAILED $photo (see $run.log)"; continue; }
  # Samples at another aspect ratio from the checkpoint alone: the training height, twice the width.
  size=$("$PY" -c "import torch; s = torch.load('$run/checkpoints/last.ckpt', weights_only=True)
from gan_lab.nets.singan import fit_to_max_size
h, w = fit_to_max_size(*s['state_dict']['source_hw'].tolist(), $MAX_SIZE); print(f'[{h},{2 * w}]')")
  "$PY" -m gan_lab.sample "ckpt=$run/checkpoints/last.ckpt" n=4 nrow=4 "options.size=$size" \
    interpolation_rows=1 interpolation_steps=4 "out=$run/wide" >> "$run.log" 2>&1
done
"$PY" experiments/image_conditional/singan/summarize.py "$OUT"
