"""Print how loud notes of each MIDI velocity sound: real recordings against rendered pianos.

Run: ``python bench/velocity_loudness.py DATA [DATA ...] [--split S] [--limit N]``.
For every reference note struck alone (no other onset from 150 ms before to 100 ms after
it), its loudness is the rise of the broadband power (sum of the 229 mel bands) over the
four frames before the onset to the peak of the five frames from it, in dB. Each piece's
loudnesses are taken relative to that piece's median, so recording gain cancels; what is
left is the velocity-to-loudness curve. Rendered datasets (``pianotx synth`` folders) are
grouped by timbre (the item name's last part), any other folder is one group.

Printed per group: notes used, the least-squares slope in dB per 10 velocity steps, the
spread from velocity 30 to 100 that slope implies, and the median relative loudness in
velocity bins. A rendered piano whose curve is flatter than the real one makes its soft
notes louder than a real piano's, and models trained on it miss soft real notes.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from pianotx.audio.load import load_audio
from pianotx.audio.spectrum import log_mel
from pianotx.config import FeatureConfig
from pianotx.data.readers import find_items, read_midi

BINS = ((1, 32), (32, 48), (48, 64), (64, 80), (80, 96), (96, 128))
BEFORE_S, AFTER_S = 0.15, 0.10  # no other onset this close: the note is struck alone


def broadband_db(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Power per frame (100 frames/s) in dB, from the mel bands."""
    padded = np.pad(audio, config.n_fft // 2)
    mel = log_mel(padded[None], config)[0]
    return 10.0 * np.log10(np.exp(mel).sum(axis=1))


def note_loudness(power_db: np.ndarray, onsets: np.ndarray, frame_rate: float) -> np.ndarray:
    """dB rise at each onset: peak of frames t..t+4 over the mean of frames t-4..t-1
    (as power); NaN where the power does not rise."""
    power = 10.0 ** (power_db / 10.0)
    out = np.full(len(onsets), np.nan)
    for i, onset in enumerate(onsets):
        t = int(round(onset * frame_rate))
        if t < 4 or t + 5 > len(power):
            continue
        rise = power[t:t + 5].max() - power[t - 4:t].mean()
        if rise > 0:
            out[i] = 10.0 * np.log10(rise)
    return out


def alone(onsets: np.ndarray) -> np.ndarray:
    """Mask of onsets with no other onset from BEFORE_S before to AFTER_S after."""
    order = np.sort(onsets)
    keep = np.zeros(len(onsets), bool)
    for i, onset in enumerate(onsets):
        lo, hi = np.searchsorted(order, [onset - BEFORE_S, onset + AFTER_S], side="left")
        keep[i] = hi - lo == 1
    return keep


def group_of(item, synthetic: bool) -> str:
    return item.audio_path.stem.rsplit("-", 1)[-1] if synthetic else item.audio_path.parent.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("--split", default=None)
    parser.add_argument("--limit", type=int, default=None, help="pieces per folder")
    args = parser.parse_args()
    config = FeatureConfig()
    groups: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for root in args.data:
        synthetic = (root / "synth.csv").exists()
        items = find_items(root, split=args.split)[: args.limit]
        for item in items:
            notes = read_midi(item.midi_path).notes
            onsets = np.array([n.onset_s for n in notes])
            velocity = np.array([n.velocity for n in notes], float)
            audio = load_audio(item.audio_path)
            loud = note_loudness(broadband_db(audio, config), onsets, config.frame_rate)
            ok = alone(onsets) & np.isfinite(loud)
            if ok.sum() >= 5:
                groups[group_of(item, synthetic)].append((velocity[ok], loud[ok] - np.median(loud[ok])))
    head = " ".join(f"{f'{lo}-{hi - 1}':>7}" for lo, hi in BINS)
    print("median dB relative to the piece's median, by velocity")
    print(f"{'group':<12} {'pieces':>6} {'notes':>6} {'dB/10 vel':>9} {'30->100':>8} {head}")
    for name, parts in sorted(groups.items()):
        velocity = np.concatenate([v for v, _ in parts])
        loud = np.concatenate([d for _, d in parts])
        slope = np.polyfit(velocity, loud, 1)[0]
        cells = []
        for lo, hi in BINS:
            inside = (velocity >= lo) & (velocity < hi)
            cells.append(f"{np.median(loud[inside]):7.1f}" if inside.sum() >= 5 else f"{'-':>7}")
        print(f"{name:<12} {len(parts):>6} {len(loud):>6} {10 * slope:9.2f} {70 * slope:8.1f} "
              f"{' '.join(cells)}")


if __name__ == "__main__":
    main()
