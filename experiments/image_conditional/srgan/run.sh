#!/usr/bin/env bash
# Reproduces experiments/image_conditional/srgan/README.md: SRResNet (MSE) vs SRGAN-MSE (MSE +
# 1e-3 adversarial; Ledig et al. 2017, Table 1) at x4 on the embedded scikit-image photos
# (data=photos_sr: 14 training photos, whole chelsea / coffee / camera for evaluation).
#   1. model=srgan for PRETRAIN iterations: its SRResNet stage (MSE only), stopped at the switch;
#      the checkpoint there is the "SRResNet" row (the paper's SRGAN starts from its SRResNet);
#   2. the same run resumed into the adversarial stage for ADVERSARIAL more iterations (D then
#      G each iteration, lr / 10 for the second half): the "SRGAN-MSE" row;
#   3. model=srresnet for PRETRAIN + ADVERSARIAL iterations: the control, SRResNet trained as
#      long as SRGAN in total (CONTROL=0 skips it);
#   4. python -m gan_lab.evaluate eval=super_resolution on each checkpoint: PSNR / SSIM on Y
#      (4-pixel border cropped), the high-frequency energy ratio, the bicubic baseline;
#   5. summarize.py: table.md and sample_sheet.png.
# CPU-sized: width WIDTH, BLOCKS residual blocks, CROP x CROP HR crops, batch BATCH, Adam at LR
# for G and D (the paper: 64, 16, 96, 16, 1e-4 for 1.2 x 10^6 iterations; 10x the rate lets the
# nets converge in a few thousand), lr / 10 for the second half of the adversarial stage as the
# paper. The default budget takes about 13 minutes on one core.
#   bash experiments/image_conditional/srgan/run.sh
#   PRETRAIN=20 ADVERSARIAL=20 bash experiments/image_conditional/srgan/run.sh   # a smoke run
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PY:-.venv/bin/python}
PRETRAIN=${PRETRAIN:-2500}
ADVERSARIAL=${ADVERSARIAL:-1500}
WIDTH=${WIDTH:-16}
BLOCKS=${BLOCKS:-8}
LR=${LR:-1e-3}
CROP=${CROP:-48}
BATCH=${BATCH:-16}
SEED=${SEED:-0}
CONTROL=${CONTROL:-1}
HERE=experiments/image_conditional/srgan
OUT=${OUT:-$HERE/runs}
REPORT=${REPORT:-$HERE}   # where table.md and sample_sheet.png go
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
TOTAL=$((PRETRAIN + ADVERSARIAL))
rm -rf "$OUT/srgan" "$OUT/srresnet" "$OUT/eval" "$OUT/srresnet_stage.ckpt"   # a fresh study
mkdir -p "$OUT"
COMMON=(net_width="$WIDTH" model.generator.blocks="$BLOCKS" data.crop_size="$CROP"
        data.batch_size="$BATCH" optim.generator.lr="$LR" seed="$SEED" eval=none
        callbacks.progress=null trainer.enable_progress_bar=false
        callbacks.samples.every="$TOTAL" callbacks.checkpoint.every_n_iterations="$TOTAL")

# 1. SRGAN's SRResNet stage; the lr schedule is pinned to the whole run's length
"$PY" -m gan_lab model=srgan "${COMMON[@]}" iterations="$PRETRAIN" \
  model.pretrain_iterations="$PRETRAIN" optim.schedulers.generator.iterations="$TOTAL" \
  optim.discriminator.lr="$LR" \
  hydra.run.dir="$OUT/srgan"
cp "$OUT/srgan/checkpoints/last.ckpt" "$OUT/srresnet_stage.ckpt"
# 2. resumed across the stage switch into the adversarial stage
"$PY" -m gan_lab ckpt_path="$OUT/srgan/checkpoints/last.ckpt" iterations="$TOTAL"
# 3. the control: SRResNet for as many iterations
if [ "$CONTROL" = 1 ]; then
  "$PY" -m gan_lab model=srresnet "${COMMON[@]}" iterations="$TOTAL" hydra.run.dir="$OUT/srresnet"
fi
# 4. the scores, with the SR images saved for the sample sheet
evaluate() {
  "$PY" -m gan_lab.evaluate ckpt="$1" eval=super_resolution \
    eval.metrics.super_resolution.save_images=true hydra.run.dir="$OUT/eval/$2"
}
evaluate "$OUT/srresnet_stage.ckpt" srresnet_stage
evaluate "$OUT/srgan/checkpoints/last.ckpt" srgan_mse
if [ "$CONTROL" = 1 ]; then
  evaluate "$OUT/srresnet/checkpoints/last.ckpt" srresnet
fi
# 5. the table and the sample sheet
"$PY" "$HERE/summarize.py" --runs "$OUT" --out "$REPORT"
