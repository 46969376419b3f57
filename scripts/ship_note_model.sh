#!/usr/bin/env bash
# Ship the note model: thresholds swept on validation and stored, fp16 copy in weights/,
# ONNX export, default marker, then the shipped weights scored on the test splits.
# Usage: scripts/ship_note_model.sh RUN_DIR NAME   (e.g. runs/note-fcnn fcnn-notes)
set -euo pipefail
run=${1:-runs/note-fcnn}; name=${2:-fcnn-notes}
mkdir -p runs/ship
cp "$run/best.pt" "runs/ship/$name.pt"
pianotx eval --data data/synth-8h --split test --checkpoint "runs/ship/$name.pt" --sweep \
  --save-decode --json > "runs/ship/$name-sweep-test.json"
python scripts/ship_model.py "runs/ship/$name.pt" "$name"
echo "$name" > weights/DEFAULT
pianotx export "$name" --overwrite
pianotx eval --data data/synth-8h --split test --model "$name" --json > "runs/ship/$name-test.json"
pianotx eval --data data/synth-seen --split all --model "$name" --json > "runs/ship/$name-seen.json"
pianotx eval --data data/synth-2h --split test --model "$name" --model fcnn --model crnn \
  --json > runs/ship/shipped-2h-test.json
