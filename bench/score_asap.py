"""The score chain's analysis on ASAP: beat and downbeat F-measure, meter and key accuracy.

ASAP (``../shared/data/midi/asap``) holds human piano performances (MIDI) annotated with beats,
downbeats, time signatures and key signatures. Pieces (folders) are split deterministically by a
hash of the folder name into a tuning part (defaults of the chain chosen on it) and a test part.

Usage: python bench/score_asap.py [ASAP_DIR] [--part test|tuning] [--every N] [--set NAME=VALUE]
       [--oracle-beats] [--baselines]
Needs the extras score and eval (``pip install 'pianotx[score,eval]'``: partitura, mir_eval).
Prints a Markdown table row per part. ``--every N`` keeps every N-th performance (sorted by path).
``--set`` passes beat-tracker options (centre_bpm, tightness, window_s, spread_octaves) for tuning.

Metrics: beat and downbeat F-measure (mir_eval.beat.f_measure, 70 ms window, first 5 s trimmed
as mir_eval does), averaged over performances; meter accuracy (beats per bar and simple/compound
beat, e.g. 6/8 = two compound beats; 2/4 and 2/2 count as the same); key accuracy (the key
signature, sharps or flats, of the first annotated key).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import time
import warnings
from pathlib import Path

import mir_eval
import numpy as np

from pianotx.music.midi import read_midi
from pianotx.score.chain import analyse
from pianotx.score.key import estimate_key
from pianotx.score.meter import estimate_meter

DEFAULT_ASAP = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi" / "asap"


def part_of(folder: str) -> str:
    """``"tuning"`` or ``"test"``, from the first byte of the folder's sha1 (about half each)."""
    return "tuning" if hashlib.sha1(folder.encode()).digest()[0] < 128 else "test"


def meter_class(signature: str) -> tuple[int, int]:
    """``"6/8"`` -> (2, 3): beats per bar and beat division (3: compound)."""
    numerator, _ = (int(x) for x in signature.split("/"))
    if numerator in (6, 9, 12):
        return numerator // 3, 3
    return numerator, 2


def read_annotations(path: Path) -> dict:
    """Beats, downbeats, first time signature and first key signature (fifths) of a performance."""
    beats, downbeats, signature, fifths = [], [], None, None
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        time_s, _, label = line.split("\t")[:3]
        fields = label.split(",")
        beats.append(float(time_s))
        if fields[0] == "db":
            downbeats.append(float(time_s))
        if len(fields) > 1 and fields[1] and signature is None:
            signature = fields[1]
        if len(fields) > 2 and fields[2] and fifths is None:
            fifths = int(fields[2])
    return {"beats": np.array(beats), "downbeats": np.array(downbeats), "signature": signature, "fifths": fifths}


def f_measure(reference: np.ndarray, estimate: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(mir_eval.beat.f_measure(mir_eval.beat.trim_beats(reference), mir_eval.beat.trim_beats(estimate)))


def evaluate(root: Path, row: dict, options: dict, *, oracle_beats: bool = False) -> dict:
    """Scores of one performance; with ``oracle_beats`` the meter is found on the annotated beats."""
    notes = read_midi(root / row["midi_performance"]).notes
    truth = read_annotations(root / row["performance_annotations"])
    if oracle_beats:
        beats_s, meter, key = truth["beats"], estimate_meter(notes, truth["beats"]), estimate_key(notes)
    else:
        beats_s, meter, key = analyse(notes, **options)
    return {
        "beat_f": f_measure(truth["beats"], beats_s),
        "downbeat_f": f_measure(truth["downbeats"], beats_s[meter.first_downbeat :: meter.beats_per_bar]),
        "meter": float(meter_class(truth["signature"]) == (meter.beats_per_bar, meter.division)),
        "key": float(truth["fifths"] == key.fifths),
        "baseline_meter": float(meter_class(truth["signature"]) == (4, 2)),
        "baseline_key": float(truth["fifths"] == 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("asap", nargs="?", type=Path, default=DEFAULT_ASAP)
    parser.add_argument("--part", choices=("tuning", "test"), action="append")
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--oracle-beats", action="store_true",
                        help="find meter and downbeats on the annotated beats (the meter stage alone)")
    parser.add_argument("--baselines", action="store_true",
                        help="also print the accuracy of always answering 4/4 and no accidentals")
    args = parser.parse_args()
    options = {name: float(value) for name, value in (item.split("=") for item in args.set)}
    rows = sorted(csv.DictReader(open(args.asap / "metadata.csv")), key=lambda r: r["midi_performance"])
    print("| part | pieces | performances | beat F1 | downbeat F1 | meter acc. | key acc. | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for part in args.part or ["tuning", "test"]:
        chosen = [r for r in rows if part_of(r["folder"]) == part][:: args.every]
        started = time.perf_counter()
        results = [evaluate(args.asap, row, options, oracle_beats=args.oracle_beats) for row in chosen]
        means = {k: 100 * np.mean([r[k] for r in results]) for k in results[0]}
        label = f"{part}{' (annotated beats)' if args.oracle_beats else ''}"
        print(f"| {label} | {len({r['folder'] for r in chosen})} | {len(chosen)} | {means['beat_f']:.1f} | "
              f"{means['downbeat_f']:.1f} | {means['meter']:.1f} | {means['key']:.1f} | "
              f"{time.perf_counter() - started:.0f} |", flush=True)
        if args.baselines:
            print(f"| {part}: always 4/4, no accidentals | | | | | {means['baseline_meter']:.1f} | "
                  f"{means['baseline_key']:.1f} | |", flush=True)


if __name__ == "__main__":
    main()
