#!/usr/bin/env bash
# The paper's grid (FCNN and CRNN, frame heads, beta 0.05 / 0.5 / 0.2, two epochs) at the
# size that fits a 2-core CPU, then the test-split tables. Resumable: finished runs are skipped.
# Usage: scripts/paper_grid.sh DATA RUNS [TRAIN_HOURS]
set -euo pipefail
data=${1:-data/synth-2h}; runs=${2:-runs/grid}; hours=${3:-0.5}
mkdir -p "$runs"
for arch in fcnn crnn; do
  for beta in 0.05 0.5 0.2; do
    out="$runs/$arch-b$beta"
    [ -f "$out/epoch2.pt" ] && continue
    resume=(); [ -f "$out/last.pt" ] && resume=(--resume)
    pianotx train --data "$data" --model "$arch" --heads frame --beta "$beta" --epochs 2 \
      --train-hours "$hours" --batch-size 8 --segment-seconds 5 --augment --keep-epochs \
      --val-pieces 3 --workers 1 --seed 0 --ckpt-every 20 -q -o "$out" "${resume[@]}"
  done
done
for epoch in 1 2; do
  ckpts=()
  for arch in crnn fcnn; do for beta in 0.05 0.5 0.2; do
    ckpts+=(--checkpoint "$runs/$arch-b$beta/epoch$epoch.pt"); done; done
  pianotx eval --data "$data" --split test "${ckpts[@]}" --format json -o "$runs/test-epoch$epoch.json" --overwrite
done
