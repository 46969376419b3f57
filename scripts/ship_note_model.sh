#!/usr/bin/env bash
# Ship a note model as the bundled default: pedal mode and decode thresholds chosen on the
# real-recording validation set, fp16 copy in weights/, ONNX export, default marker, the
# shipped weights scored on real and synthetic audio, golden notes and README picture.
# Usage: scripts/ship_note_model.sh RUN_DIR NAME SYNTH_DATA [VAL_DATA]
#   e.g. scripts/ship_note_model.sh /work/runs/abl-c fcnn-notes /work/data/perf-20h
set -euo pipefail
run=${1:?run folder}; name=${2:?model name}; synth=${3:?synthetic dataset}
here=$(cd "$(dirname "$0")/.." && pwd)
val=${4:-$here/../shared/data/maps-dev}
ship=runs/ship; mkdir -p "$ship"
cp "$run/best.pt" "$ship/$name.pt"
# The pedal mode that scores best on real recordings (note-roll frame F1: the notes as they
# sound; then onset+offset F1).
for mode in cc64 none; do
  pianotx eval --data "$val" --split all --checkpoint "$ship/$name.pt" --pedal "$mode" --json \
    > "$ship/$name-pedal-$mode.json"
done
pedal=$(python - "$ship/$name" <<'EOF'
import json, sys
score = {}
for mode in ("cc64", "none"):
    mean = json.load(open(f"{sys.argv[1]}-pedal-{mode}.json"))["results"][0]["mean"]
    score[mode] = (round(mean["note_frame/f1"], 4), round(mean["note_offset/f1"], 4))
print(max(score, key=score.get))
EOF
)
echo "pedal mode: $pedal"
pianotx eval --data "$val" --split all --checkpoint "$ship/$name.pt" --pedal "$pedal" \
  --sweep --sweep-data "$val" --save-decode --json > "$ship/$name-sweep.json"
python scripts/ship_model.py "$ship/$name.pt" "$name"
echo "$name" > weights/DEFAULT
pianotx export "$name" --overwrite
pianotx eval --data "$val" --split all --model "$name" --json > "$ship/$name-maps.json"
pianotx eval --data "$synth" --split test --model "$name" --json > "$ship/$name-synth-test.json"
python scripts/make_golden.py "$name"
pianotx plot examples/example.flac --ref examples/example.mid -o docs/images/example-roll.png \
  --overwrite
