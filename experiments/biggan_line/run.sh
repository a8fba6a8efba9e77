#!/usr/bin/env bash
# Reproduces experiments/biggan_line/README.md: the BigGAN line (DCGAN, WGAN-GP, SNGAN, SAGAN,
# BigGAN, R3GAN) on Fashion-MNIST 32x32 at an equal budget of STEPS optimizer updates (D and G
# updates together) per run, batch BATCH, SEEDS seeds each, unconditional and class-conditional,
# BigGAN also with DiffAugment. Scored with classifier-feature FID, KID, precision/recall,
# density/coverage (and intra-FID, class accuracy, CAS for the conditional rows) on NUM_SAMPLES
# samples, at half the budget and at the end. One core per run, JOBS runs at a time.
#   bash experiments/biggan_line/run.sh                          # STEPS=1200, batch 32, 3 seeds
#   ROWS="sngan biggan" SEEDS=0 bash experiments/biggan_line/run.sh
#   STEPS=100000 BATCH=64 JOBS=8 bash experiments/biggan_line/run.sh   # a longer budget
#   PRE21=1 bash experiments/biggan_line/run.sh       # table.md's rows, with the defaults they had
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-1200}
BATCH=${BATCH:-32}
SEEDS=${SEEDS:-"0 1 2"}
JOBS=${JOBS:-2}
NUM_SAMPLES=${NUM_SAMPLES:-5000}
OUT=${OUT:-experiments/biggan_line/runs}
CACHE=${CACHE:-experiments/fashion_mnist_losses/runs/cache}   # the shared feature classifier
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
"$PY" -m gan_lab.classifier data=fashion_mnist "eval.cache_dir=$CACHE"

# name -> "optimizer steps per iteration|overrides". CPU widths, about 32 feature maps at 32 px
# for every model: DCGAN width 32 (as experiments/fashion_mnist_losses), the SNGAN/SAGAN ResNets
# width 32, BigGAN width 8 (its blocks have 4 x width maps), R3GAN width 16 with 2 groups (the
# papers: 128-768). EMA: BigGAN's 0.9999 from 20k iterations and R3GAN's half-life ramp to
# 5,000 kimg are scaled to the budget (decay 0.99 from iteration 100; half-life ramp to a quarter
# of the images shown, over all of them, as R3GAN's 5,000 of 20,000 kimg).
KIMG=$(awk "BEGIN {print $STEPS / 2 * $BATCH / 1000}")   # R3GAN: 2 steps per iteration
DC="model.generator.width=32 model.discriminator.width=32"
RES="model.generator.width=32 model.discriminator.width=32"
BIG="model.generator.width=8 model.ema_decay=0.99 model.ema_start=100"
R3="model.generator.width=16 model.generator.cardinality=2 model.schedule_kimg=$KIMG"
R3="$R3 model.ema_kimg_end=$(awk "BEGIN {print $KIMG / 4}")"
# PRE21=1: the defaults these rows were first run with (table.md), before issue 21 made the
# official loops the defaults: SNGAN at a constant lr with G's batch equal to D's, fake labels
# from the real batch, R3GAN without augmentation on one shared batch. PRE21=0 (the default):
# today's defaults (runs_issue21 in README.md).
PRE21=${PRE21:-0}
if [ "$PRE21" = 1 ]; then
  SN0="optim=adam_sngan model.generator_batch_factor=1 model.fake_labels=batch"
  BIG0="model.fake_labels=batch"
  R3B0="model.fresh_generator_batch=false" R30="augment=none $R3B0"
else
  SN0="" BIG0="" R30="" R3B0=""
fi
declare -A ROW=(
  [dcgan]="2|model=dcgan $DC"
  [wgan_gp]="6|model=dcgan loss=wgan_gp $DC"
  [sngan]="6|model=sngan $RES $SN0"
  [sagan]="2|model=sagan $RES"
  [biggan]="3|model=biggan $BIG $BIG0"
  [biggan_da]="3|model=biggan $BIG $BIG0 augment=diffaugment"
  [r3gan]="2|model=r3gan $R3 $R30"
  [r3gan_da]="2|model=r3gan $R3 $R3B0 augment=diffaugment model.aug_p_end=null"
  [cgan_cond]="2|model=cgan $DC"
  [sngan_cond]="6|model=sngan $RES $SN0 model.num_classes=10"
  [sagan_cond]="2|model=sagan $RES model.num_classes=10"
  [biggan_cond]="3|model=biggan $BIG $BIG0 model.num_classes=10"
  [r3gan_cond]="2|model=r3gan $R3 $R30 model.num_classes=10"
)
ROWS=${ROWS:-"dcgan wgan_gp sngan sagan biggan biggan_da r3gan cgan_cond sngan_cond biggan_cond"}
jobs=()
for seed in $SEEDS; do   # seed-major, so a cut-short study still has whole seeds
  for name in $ROWS; do
    spec=${ROW[$name]}; per=${spec%%|*}; iters=$((STEPS / per))
    jobs+=("${name}_s${seed}|${iters}|${spec#*|} seed=$seed")
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P "$JOBS" -I {} bash -c '
  job="{}"; name=${job%%|*}; rest=${job#*|}; iters=${rest%%|*}; args=${rest#*|}
  [ -f "'"$OUT"'/$name/results.json" ] && { echo "have $name"; exit 0; }
  "'"$PY"'" -m gan_lab data=fashion_mnist data.batch_size='"$BATCH"' iterations=$iters $args \
    eval=classifier eval.every=$((iters / 2)) eval.num_samples='"$NUM_SAMPLES"' \
    eval.cache_dir='"$CACHE"' callbacks.samples.every=$((iters / 2)) \
    callbacks.checkpoint.every_n_iterations=1000000 \
    callbacks.progress=null trainer.enable_progress_bar=false \
    "hydra.run.dir='"$OUT"'/$name" > "'"$OUT"'/$name.log" 2>&1 \
    && echo "done $name" || echo "FAILED $name"'
"$PY" experiments/biggan_line/summarize.py "$OUT"
