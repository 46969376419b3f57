#!/usr/bin/env bash
# The shipped note model: freq-trunk FCNN with onset/offset/frame/velocity/pedal heads,
# triangular onset/offset targets, augmentation, on the whole training split.
# Usage: scripts/train_note_model.sh DATA OUT [STEPS]   (rerun to resume)
set -euo pipefail
data=${1:-data/synth-2h}; out=${2:-runs/note-fcnn}; steps=${3:-3000}
resume=(); [ -f "$out/last.pt" ] && resume=(--resume)
pianotx train --data "$data" --model fcnn --trunk freq --heads full --soft-frames 2 \
  --beta 0.2 --lr 1e-3 --warmup-steps 50 --batch-size 8 --segment-seconds 5 --augment \
  --steps "$steps" --val-every 150 --val-pieces 3 --ckpt-every 50 --workers 1 --seed 0 \
  -q -o "$out" "${resume[@]}"
