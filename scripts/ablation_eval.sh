#!/usr/bin/env bash
# Score data-ablation checkpoints the same way: decode thresholds swept on the real
# recordings (each checkpoint gets its best onset/frame/offset thresholds, pedal ignored),
# then the synthetic held-out piano (the test split of SYNTH_DATA, iowa) with those thresholds.
# Usage: scripts/ablation_eval.sh OUT_DIR SYNTH_DATA CKPT...   (writes OUT_DIR/NAME-*.json)
set -euo pipefail
out=${1:?output folder}; synth=${2:?synthetic dataset}; shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
val=${VAL_DATA:-$here/../shared/data/maps-dev}
mkdir -p "$out"
for ckpt in "$@"; do
  name=$(basename "$ckpt" .pt)
  cp "$ckpt" "$out/$name.pt"  # --save-decode writes the swept thresholds into this copy
  pianotx eval --data "$val" --split all --checkpoint "$out/$name.pt" --pedal none --sweep \
    --sweep-data "$val" --save-decode --json > "$out/$name-maps.json"
  pianotx eval --data "$synth" --split test --checkpoint "$out/$name.pt" --json \
    > "$out/$name-synth.json"
done
