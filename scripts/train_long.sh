#!/usr/bin/env bash
# The long, resumable training run of the default note model (issue 13), and the data
# ablation runs that share its recipe (issue 12): rerun the same command to resume.
#
# Usage: scripts/train_long.sh DATA OUT [CHAIN] [STEPS]
#   DATA   a dataset folder (pianotx synth output, or MAESTRO)
#   OUT    the run folder; keep it outside the checkout
#   CHAIN  recording (default: rooms, microphones, codecs, piano noises) or basic
#   STEPS  planned length of the cosine schedule (default 20000; fixed once started)
# Environment: VAL_DATA (default ../shared/data/maps-dev; picks best.pt, never trained on),
#   THREADS (torch threads, default 2), EXTRA (more pianotx train options),
#   MODEL (the architecture options; default the frequency-pooling FCNN's
#   "--trunk freq --diff-input --temporal-head dilated"; "--trunk paper" is the paper's U-Net),
#   LR (peak learning rate, default 1e-3), WARMUP (warm-up steps, default 300), SEED (default 0),
#   INIT (a checkpoint of the same model, or of it without --harmonic, to start from:
#   --init-from), PRECISION (auto, fp32 or bf16; auto is bf16 on CPUs with native bf16),
#   SNAPSHOT (keep the weights every N steps for averaging, default 250).
set -euo pipefail
data=${1:?dataset folder}; out=${2:?run folder}; chain=${3:-recording}; steps=${4:-20000}
here=$(cd "$(dirname "$0")/.." && pwd)
val=${VAL_DATA:-$here/../shared/data/maps-dev}
resume=(); [ -f "$out/last.pt" ] && resume=(--resume)
init=(); [ -n "${INIT:-}" ] && init=(--init-from "$INIT")
export OMP_NUM_THREADS=${THREADS:-2}
# shellcheck disable=SC2086
exec pianotx train --data "$data" --val-data "$val" \
  --model fcnn ${MODEL:---trunk freq --diff-input --temporal-head dilated} --heads full --soft-frames 2 \
  --beta 0.2 --optimizer adamw --weight-decay 0.01 --lr "${LR:-1e-3}" --warmup-steps "${WARMUP:-300}" \
  --schedule cosine --steps "$steps" --batch-size 8 --segment-seconds 5 \
  --augment --augment-chain "$chain" \
  --val-every 500 --val-pieces 4 --ckpt-every 50 --workers 1 --seed "${SEED:-0}" \
  --precision "${PRECISION:-auto}" --snapshot-every "${SNAPSHOT:-250}" \
  "${init[@]}" ${EXTRA:-} -q -o "$out" "${resume[@]}"
