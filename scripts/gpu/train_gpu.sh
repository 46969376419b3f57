#!/usr/bin/env bash
# One lease of a GPU machine, start to end: install the carried wheels, unpack the MIDI,
# render HOURS of piano audio on every core, train the note model with train_long.sh's
# recipe on the GPU, and leave best.pt, last.pt, metrics.jsonl and log.txt in $OUT, all
# before TIME_LIMIT seconds have passed. Needs .gpu/ from scripts/gpu/bundle.sh; runs in
# the repository root. See docs/TRAINING.md, "On a lent GPU".
#
# Environment (defaults for the H200: 16 cores):
#   OUT           where the results go (required)
#   HOURS=8       synthetic audio to render (sfizz: ~80-100x real time per core)
#   STEPS=3000    planned steps of the cosine schedule (training stops earlier at the deadline)
#   DEVICE=cuda   BATCH=32  WORKERS=12 (loader processes)  LR=1e-3
#   SYNTH_WORKERS render and decode processes (default: cores - 2, so 14 on the H200)
#   TIME_LIMIT=480  seconds for the whole script; SYNTH_LIMIT=150 of them at most for rendering
#   VAL_MAPS=all  maps-dev pieces (smallest first) that pick best.pt; 0: the synthetic
#                 validation split instead (default 1 on DEVICE=cpu: validation is slow there)
#   VAL_EVERY=500 CKPT_EVERY=50 CHAIN=recording (basic without pedalboard/pyroomacoustics)
#   RESUME_FROM   a last.pt of an earlier lease (same HOURS, STEPS, BATCH, LR, seed) to continue
#   SKIP_WHEELS=1 use the installed packages (a CPU test here); WORK=/tmp/pianotx-gpu scratch
set -euo pipefail
: "${OUT:?set OUT to the folder for the results}"
t0=$(date +%s)
hours=${HOURS:-8}; steps=${STEPS:-3000}; device=${DEVICE:-cuda}; batch=${BATCH:-32}
workers=${WORKERS:-12}; lr=${LR:-1e-3}
synth_workers=${SYNTH_WORKERS:-$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))}
time_limit=${TIME_LIMIT:-480}; synth_limit=${SYNTH_LIMIT:-150}; chain=${CHAIN:-recording}
val_every=${VAL_EVERY:-500}; ckpt_every=${CKPT_EVERY:-50}; work=${WORK:-/tmp/pianotx-gpu}
if [ "$device" = cpu ]; then val_maps=${VAL_MAPS:-1}; else val_maps=${VAL_MAPS:-all}; fi
mkdir -p "$OUT" "$work"
exec > >(tee -a "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${THREADS:-2}
elapsed() { echo $(($(date +%s) - t0)); }
say() { echo "[$(elapsed) s] $*"; }

if [ "${SKIP_WHEELS:-0}" != 1 ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .gpu/wheels/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
python3 -c "import pianotx, soundfile, soxr, mido, mir_eval, pysfizz, torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
if [ "$chain" = recording ] && ! python3 -c "import pedalboard, pyroomacoustics" 2>/dev/null; then
  say "pedalboard/pyroomacoustics missing: recording chain -> basic"; chain=basic
fi
[ "$device" = cpu ] || nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
say "packages ready"

rm -rf "$work/midi" && mkdir -p "$work/midi"
tar -xJf .gpu/midi.tar.xz -C "$work/midi"
export PIANOTX_SOUNDFONTS=$PWD/.gpu/soundfonts
synth() {  # a rerun finishes what an interrupted one started
  timeout "$2" python3 -m pianotx synth --out "$work/synth" --hours "$1" --seed 0 \
    --timbres salamander,iowa --heldout iowa --workers "$synth_workers" --corpus-share 0 \
    --midi "$work/midi/maestro-v3.0.0" --midi "$work/midi/asap"
}
if ! synth "$hours" "$synth_limit"; then
  less=$(awk -v h="$hours" 'BEGIN {print h / 4}')
  say "rendering $hours h did not finish in $synth_limit s: $less h instead"
  synth "$less" 90
fi
rendered() {  # hours and items in the dataset's metadata table
  python3 - "$work/synth" <<'PY'
import csv, pathlib, sys
rows = [r for p in pathlib.Path(sys.argv[1]).glob("*.csv") for r in csv.DictReader(open(p))]
print(f"{sum(float(r['duration']) for r in rows) / 3600:.2f} h in {len(rows)} items")
PY
}
say "rendered $(rendered)"

python3 scripts/gpu/warm_cache.py "$work/synth" "$work/cache" --workers "$synth_workers"
rm -rf "$work/val" && mkdir -p "$work/val"
if [ "$val_maps" != 0 ]; then
  n=0
  for flac in $(ls -S -r .gpu/maps-dev/*.flac); do
    [ "$val_maps" != all ] && [ "$n" -ge "$val_maps" ] && break
    ln -s "$PWD/$flac" "$PWD/${flac%.flac}.mid" "$work/val/"; n=$((n + 1))
  done
  val=(--val-data "$work/val"); say "validation: $n maps-dev pieces"
else
  val=(); say "validation: the synthetic split (held-out Iowa piano)"
fi
say "data ready"

run=$work/run; resume=(); rm -rf "$run"
if [ -n "${RESUME_FROM:-}" ]; then  # best.pt and metrics.jsonl beside it come along
  mkdir -p "$run"; cp "$RESUME_FROM" "$run/last.pt"; resume=(--resume)
  for f in best.pt metrics.jsonl; do [ -f "$(dirname "$RESUME_FROM")/$f" ] && cp "$(dirname "$RESUME_FROM")/$f" "$run/" || true; done
fi
collect() {  # copy the results into $OUT; atomic renames, so a kill leaves whole files
  for f in best.pt last.pt metrics.jsonl config.json; do
    [ -f "$run/$f" ] && cp "$run/$f" "$OUT/.$f.part" && mv "$OUT/.$f.part" "$OUT/$f"
  done
  return 0
}
rm -f "$work/stop"
( n=0  # progress for the log (steps/s, to size STEPS next time) and a safety copy
  while [ ! -f "$work/stop" ]; do
    sleep 1; n=$((n + 1)); [ $((n % 30)) = 0 ] || continue
    last=$(tail -n 1 "$run/metrics.jsonl" 2>/dev/null | grep -o '"step": [0-9]*' || true)
    say "training: ${last:-no step logged yet}"; collect
  done ) &
watcher=$!
left=$((time_limit - $(elapsed) - 25))
say "training for at most $left s (planned $steps steps)"
rc=0
timeout -s INT -k 15 "$left" python3 -m pianotx train --data "$work/synth" "${val[@]}" \
  --model fcnn --trunk freq --heads full --soft-frames 2 --diff-input --temporal-head dilated \
  --beta 0.2 --optimizer adamw --weight-decay 0.01 --lr "$lr" --warmup-steps 300 \
  --schedule cosine --steps "$steps" --batch-size "$batch" --segment-seconds 5 \
  --augment --augment-chain "$chain" --val-every "$val_every" --val-pieces 4 \
  --ckpt-every "$ckpt_every" --workers "$workers" --seed 0 --device "$device" \
  --cache-dir "$work/cache" -q -o "$run" "${resume[@]}" || rc=$?
touch "$work/stop"; wait "$watcher" || true
collect
case $rc in
  0) say "training finished its $steps steps" ;;
  124 | 130 | 137) say "training stopped at the deadline (exit $rc); last.pt is the last checkpoint" ;;
  *) say "training failed (exit $rc)"; exit "$rc" ;;
esac
tail -n 3 "$OUT/metrics.jsonl" || true
ls -l "$OUT"
say "done"
