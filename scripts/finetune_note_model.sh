#!/usr/bin/env bash
# Fine-tune a shipped note model on performance audio with the recording chain (issue 13):
# the recipe of the fcnn-notes 0.4.0 weights. Rerun the same command to resume.
#
# Usage: scripts/finetune_note_model.sh INIT DATA OUT [STEPS]
#   INIT   the checkpoint to start from (a copy of weights/fcnn-notes.pt kept outside the
#          checkout: shipping overwrites the original)
#   DATA   the training folder (pianotx synth output or MAESTRO)
#   OUT    the run folder; keep it outside the checkout
#   STEPS  planned length of the cosine schedule (default 4500; fixed once started)
# Environment: VAL_DATA (default ../shared/data/maps-dev; picks best.pt, never trained on),
#   THREADS (torch threads, default 2), SEED (default 7), EXTRA (more pianotx train options).
set -euo pipefail
init=${1:?checkpoint to start from}; data=${2:?dataset folder}; out=${3:?run folder}
steps=${4:-4500}
here=$(cd "$(dirname "$0")/.." && pwd)
val=${VAL_DATA:-$here/../shared/data/maps-dev}
resume=(); [ -f "$out/last.pt" ] && resume=(--resume)
export OMP_NUM_THREADS=${THREADS:-2}
# shellcheck disable=SC2086
exec pianotx train --data "$data" --val-data "$val" \
  --model fcnn --trunk freq --heads full --soft-frames 2 \
  --beta 0.2 --optimizer adamw --weight-decay 0.01 --lr 3e-4 --warmup-steps 100 \
  --schedule cosine --steps "$steps" --batch-size 8 --segment-seconds 5 \
  --augment --augment-chain recording --init-from "$init" \
  --val-every 500 --val-pieces 4 --ckpt-every 50 --workers 1 --seed "${SEED:-7}" \
  ${EXTRA:-} -q -o "$out" "${resume[@]}"
