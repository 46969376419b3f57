#!/usr/bin/env bash
# Fill .gpu/ (git-ignored) with what a lent GPU machine needs beyond the repository, for
# scripts/gpu/train_gpu.sh: cp312 wheels the device image lacks, a train-split subset of
# performance MIDI, the Salamander and Iowa samples, and as much of maps-dev (real
# recordings, validation only) as still fits. Run here, in the checkout, with the venv on.
#
# Usage: scripts/gpu/bundle.sh
# Environment:
#   LIMIT_MIB   what may travel in all: repository + .gpu (default 62; the device takes 64)
#   MIDI_MIB    raw size of the MIDI subset before xz (default 10, about 6 MiB packed)
#   LAYERS      Salamander velocity layers kept, soft to loud (default every second one of
#               16: the folder is 40 MiB with all 16, 19.5 MiB with 8)
#   SOUNDFONTS  prepared samples (default ~/.cache/pianotx/soundfonts)
#   SHARED      the shared data folder (default ../shared/data)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
limit_mib=${LIMIT_MIB:-62}
midi_mib=${MIDI_MIB:-10}
layers=${LAYERS:-"2 4 6 8 10 12 14 16"}
fonts=${SOUNDFONTS:-$HOME/.cache/pianotx/soundfonts}
shared=${SHARED:-$here/../shared/data}
gpu=.gpu
# The device image has torch, numpy, scipy, rich, typer, onnx(runtime), Cython and packaging
# but none of these (KINDS.md); versions are the ones the project's venv is tested with.
wheels="mido==1.3.3 soxr==1.1.0 mir_eval==0.8.2 decorator==5.3.1 soundfile==0.14.0 cffi==2.1.1
pycparser==3.12 pysfizz==0.1.3 pedalboard==0.9.26 pyroomacoustics==0.10.1"

grep -qx '.gpu/' .gitignore || { echo "add .gpu/ to .gitignore first" >&2; exit 1; }
mib() { du -sb "$@" | awk '{s += $1} END {printf "%.1f", s / 1048576}'; }

mkdir -p "$gpu/wheels"
for spec in $wheels; do
  name=${spec%%==*}; version=${spec##*==}
  ls "$gpu/wheels/" | grep -qi "^${name//-/_}-${version}-" && continue
  python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$gpu/wheels" "$spec"
done

rm -rf "$gpu/stage" "$gpu/soundfonts" "$gpu/maps-dev" "$gpu/midi.tar.xz"
python scripts/gpu/pick_midi.py "$shared/midi" "$gpu/stage" --raw-mib "$midi_mib"
tar -chJf "$gpu/midi.tar.xz" -C "$gpu/stage" .
rm -rf "$gpu/stage"

# Salamander: the kept layers renumbered 1..n, so pianotx maps velocities 1..127 onto n
# layers (it rewrites the SFZ from the file names it finds: see salamander_files.refresh_sfz).
sal=$gpu/soundfonts/salamander_16000
mkdir -p "$sal"
n=0
for layer in $layers; do
  n=$((n + 1))
  for f in "$fonts"/salamander_16000/*v"$layer".flac; do
    b=$(basename "$f"); cp "$f" "$sal/${b%v*}v$n.flac"
  done
done
cp "$fonts"/salamander_16000/*r.flac "$sal/"
: > "$sal/salamander.sfz"
python -c "import sys; from pianotx.data.synth.salamander_files import refresh_sfz; refresh_sfz(sys.argv[1])" \
  "$sal/salamander.sfz"
# Iowa: the prepared 16 kHz folder and its SFZ; pianotx finds the timbre by the wheel's
# zip, which it does not open once the folder is prepared, so an empty zip stands in.
cp -r "$fonts/iowa16k_16000" "$fonts/iowa16k_16000.sfz" "$gpu/soundfonts/"
python -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1], 'w').close()" \
  "$gpu/soundfonts/piano_samples.zip"

repo_mib() {  # tracked and untracked-not-ignored files: what travels besides carried paths
  git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null \
    | tail -1 | awk '{printf "%.1f", $1 / 1048576}'
}
# maps-dev: smallest pieces first (flac + mid pairs, no manifest) while the total fits.
mkdir -p "$gpu/maps-dev"
used=$(awk -v a="$(repo_mib)" -v b="$(mib "$gpu")" 'BEGIN {print a + b}')
for flac in $(ls -S -r "$shared"/maps-dev/*.flac); do
  size=$(du -cb "$flac" "${flac%.flac}.mid" | tail -1 | awk '{print $1 / 1048576}')
  awk -v u="$used" -v s="$size" -v l="$limit_mib" 'BEGIN {exit !(u + s <= l)}' || break
  cp "$flac" "${flac%.flac}.mid" "$gpu/maps-dev/"
  used=$(awk -v u="$used" -v s="$size" 'BEGIN {print u + s}')
done

echo "travels (MiB): repository $(repo_mib) | wheels $(mib "$gpu/wheels") | midi.tar.xz $(mib "$gpu/midi.tar.xz")" \
  "| salamander $(mib "$sal") ($n layers) | iowa $(mib "$gpu"/soundfonts/iowa16k_16000*)" \
  "| maps-dev $(mib "$gpu/maps-dev") ($(ls "$gpu"/maps-dev/*.flac | wc -l) of $(ls "$shared"/maps-dev/*.flac | wc -l) pieces)"
echo "total: $(awk -v a="$(repo_mib)" -v b="$(mib "$gpu")" 'BEGIN {printf "%.1f", a + b}') MiB of 64"
