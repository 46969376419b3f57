#!/usr/bin/env bash
# Retrain the paper's models (fcnn, crnn: U-Net trunk, frame head, Adam 3e-4, beta 0.2) on the
# current training data, choose best.pt and the frame threshold on the real recordings, ship
# them as weights/ARCH.pt (with its ONNX export) and score them on real and synthetic audio. Resumable: rerun it.
# Usage: scripts/paper_retrain.sh DATA RUNS STEPS [CHAIN]
#   e.g. scripts/paper_retrain.sh /work/data/perf-20h /work/runs/paper 1500 recording
# Environment: VAL_DATA (default ../shared/data/maps-dev), THREADS (torch threads, default 1),
#   ARCHS (default "fcnn crnn"), PRECISION (auto, fp32 or bf16; auto is bf16 on CPUs with
#   native bf16), VAL_EVERY (default 250), VAL_PIECES (validation pieces, 0 = all; default 4),
#   STOP_AT (end this invocation after that step: a budget cut; rerun with a larger one or
#   none to go on), CPU_HOURS (end this invocation once the run has spent that many CPU
#   hours in all, as its metrics.jsonl counts them), SHIP (0: train only; ship
#   later from the checkout with SHIP=1 and the same arguments; touch RUNS/ARCH/done first to
#   ship a run that STOP_AT or CPU_HOURS ended without training it further).
set -euo pipefail
data=${1:?dataset folder}; runs=${2:?runs folder}; steps=${3:?steps}; chain=${4:-recording}
here=$(cd "$(dirname "$0")/.." && pwd)
val=${VAL_DATA:-$here/../shared/data/maps-dev}
export OMP_NUM_THREADS=${THREADS:-1}
mkdir -p "$runs"
for arch in ${ARCHS:-fcnn crnn}; do
  out="$runs/$arch"
  if [ ! -f "$out/done" ]; then
    resume=(); [ -f "$out/last.pt" ] && resume=(--resume)
    pianotx train --data "$data" --val-data "$val" --model "$arch" --heads frame --beta 0.2 \
      --steps "$steps" --batch-size 8 --segment-seconds 5 --augment --augment-chain "$chain" \
      --val-every "${VAL_EVERY:-250}" --val-pieces "${VAL_PIECES:-4}" --ckpt-every 50 \
      --workers 1 --seed 0 --precision "${PRECISION:-auto}" ${STOP_AT:+--stop-at "$STOP_AT"} \
      ${CPU_HOURS:+--cpu-hours "$CPU_HOURS"} \
      -q -o "$out" "${resume[@]}"
    [ -n "${STOP_AT:-}${CPU_HOURS:-}" ] || touch "$out/done"
  fi
  [ "${SHIP:-1}" = 1 ] || continue
  cp "$out/best.pt" "$runs/$arch-ship.pt"
  pianotx eval --data "$val" --split all --checkpoint "$runs/$arch-ship.pt" --sweep \
    --sweep-data "$val" --save-decode --json > "$runs/$arch-sweep.json"
  python "$here/scripts/ship_model.py" "$runs/$arch-ship.pt" "$arch"
  pianotx export "$here/weights/$arch.pt" -o "$here/weights/$arch.onnx" --overwrite
  pianotx eval --data "$val" --split all --model "$arch" --json > "$runs/$arch-maps.json"
  pianotx eval --data "$data" --split test --model "$arch" --json > "$runs/$arch-synth-test.json"
  python "$here/scripts/make_golden.py" "$arch"
done
