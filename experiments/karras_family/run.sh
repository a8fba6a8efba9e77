#!/usr/bin/env bash
# Reproduces experiments/karras_family/README.md: DCGAN, ProGAN, StyleGAN and StyleGAN2 at an
# equal budget of real images shown to D, on Fashion-MNIST 32x32, SEEDS seeds each; then
# StyleGAN2 on 1k and 5k training images without augmentation, with DiffAugment and with ADA.
# Scored with classifier-feature FID, KID, precision and recall on 10,000 samples against the
# full training set. One core per run, two runs at a time.
#   bash experiments/karras_family/run.sh                 # PHASE_KIMG=7: 49k images per run
#   PHASE_KIMG=100 SEEDS="0 1 2 3 4" bash experiments/karras_family/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
PHASE_KIMG=${PHASE_KIMG:-7}    # ProGAN/StyleGAN: thousands of images per stable or fade phase
KIMG=$((7 * PHASE_KIMG))       # 32 px = 7 phases (4 stable, 8 fade/stable, 16 ..., 32 ...)
BATCH=${BATCH:-32}
ITERS=$((KIMG * 1000 / BATCH))
SEEDS=${SEEDS:-"0 1 2"}
OUT=${OUT:-experiments/karras_family/runs}
CACHE=${CACHE:-experiments/fashion_mnist_losses/runs/cache}   # the shared feature classifier
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
"$PY" -m gan_lab.classifier data=fashion_mnist "eval.cache_dir=$CACHE"

# CPU widths: 32 feature maps at 32 px for every model (DCGAN: width 32, as in
# experiments/fashion_mnist_losses; the Karras nets: at most 32 maps), 128-d latents and styles.
# StyleGAN as these runs first trained it (before issue 21 made the official loop its default):
# growth from 4 px with the loader's batch throughout, one lr, a constant EMA decay of 0.999.
# stylegan_hl: the same with the official EMA half-life of 10 kimg (NVlabs/stylegan).
STYLEGAN_V0="model.start_level=0 model.batch_sizes=null model.lr_by_resolution=null model.ema_kimg=null"
declare -A MODEL=(
  [dcgan]="model=dcgan model.generator.width=32 model.discriminator.width=32"
  [progan]="model=progan model.latent_dim=128 model.generator.fmap_max=32 model.stable_kimg=$PHASE_KIMG model.fade_kimg=$PHASE_KIMG"
  [stylegan]="model=stylegan model.latent_dim=128 model.generator.w_dim=128 model.generator.fmap_max=32 model.stable_kimg=$PHASE_KIMG model.fade_kimg=$PHASE_KIMG loss.r1_gamma=0.01 $STYLEGAN_V0"
  [stylegan_hl]="model=stylegan model.latent_dim=128 model.generator.w_dim=128 model.generator.fmap_max=32 model.stable_kimg=$PHASE_KIMG model.fade_kimg=$PHASE_KIMG loss.r1_gamma=0.01 $STYLEGAN_V0 model.ema_kimg=10"
  [stylegan2]="model=stylegan2 model.latent_dim=128 model.generator.w_dim=128 model.generator.channel_base=1024 model.generator.channel_max=32 model.r1_gamma=0.01 model.ema_rampup=0.05"
)
jobs=()
NAMES=${NAMES:-"dcgan progan stylegan stylegan2"}   # also stylegan_hl
LIMITED=${LIMITED:-1}                                # 0: skip the limited-data runs
for seed in $SEEDS; do
  for name in $NAMES; do
    jobs+=("${name}_s${seed}|${MODEL[$name]} seed=$seed")
  done
done
for size in $([ "$LIMITED" = 1 ] && echo 1000 5000); do   # the limited-data study: StyleGAN2, seed 0
  jobs+=("n${size}_none_s0|${MODEL[stylegan2]} data.subset=$size seed=0")
  jobs+=("n${size}_diffaugment_s0|${MODEL[stylegan2]} data.subset=$size augment=diffaugment seed=0")
  jobs+=("n${size}_ada_s0|${MODEL[stylegan2]} data.subset=$size augment=ada augment.speed_kimg=100 seed=0")
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -I {} bash -c '
  job="{}"; name=${job%%|*}; args=${job#*|}
  [ -f "'"$OUT"'/$name/results.json" ] && { echo "have $name"; exit 0; }
  "'"$PY"'" -m gan_lab data=fashion_mnist data.batch_size='"$BATCH"' iterations='"$ITERS"' \
    $args eval=classifier eval.every='"$((ITERS / 2))"' eval.cache_dir='"$CACHE"' \
    callbacks.samples.every='"$((ITERS / 2))"' callbacks.checkpoint.every_n_iterations=1000000 \
    callbacks.progress=null trainer.enable_progress_bar=false \
    "hydra.run.dir='"$OUT"'/$name" > "'"$OUT"'/$name.log" 2>&1 \
    && echo "done $name" || echo "FAILED $name"'
"$PY" experiments/karras_family/summarize.py "$OUT"
