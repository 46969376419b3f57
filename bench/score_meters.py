"""Meter accuracy on pieces outside ASAP with known meters: Vienna 4x22 (22 pianists x 4 excerpts).

Chopin Op. 10/3 is in 2/4, Mozart K. 331 (1st movement) in 6/8, Schubert D. 783 No. 15 in
3/4, Chopin Op. 38 in 6/8. Meter is beats per bar and the beat's division, as in
``bench/score_asap.py`` (6/8 = two compound beats).

Usage: python bench/score_meters.py [VIENNA_DIR] [--tracker learned|dp] [--weights X.onnx] [--note-weights Y.onnx]
Prints a Markdown table: per piece, how many performances got the meter right and the
meters found.
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

from pianotx.music.midi import read_midi
from pianotx.score.chain import TRACKERS, analyse
from pianotx.score.meter import TIME_SIGNATURES, meter_of

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi" / "vienna4x22"
METERS = {"Chopin_op10_no3": (2, 2), "Mozart_K331_1st-mov": (2, 3), "Schubert_D783_no15": (3, 2),
          "Chopin_op38": (2, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--tracker", choices=TRACKERS, default="learned")
    parser.add_argument("--weights", type=Path, help="the learned tracker's ONNX file (default: shipped)")
    parser.add_argument("--note-weights", type=Path, help="the note network's ONNX file (default: shipped)")
    args = parser.parse_args()
    options = {"path": args.weights} if args.weights else {}
    if args.note_weights:
        options["note_path"] = args.note_weights
    print(f"| piece | meter | right ({args.tracker}) | found |")
    print("|---|---|---|---|")
    total = right_total = 0
    started = time.perf_counter()
    for piece, meter in METERS.items():
        found = collections.Counter()
        for path in sorted(args.folder.glob(f"{piece}_p*.mid")):
            analysis = analyse(read_midi(path).notes, tracker=args.tracker, **options)
            found[analysis.meter.time_signature] += 1
        right = sum(n for sig, n in found.items() if meter_of(sig) == meter)
        total += sum(found.values())
        right_total += right
        print(f"| {piece} | {TIME_SIGNATURES[meter]} | {right} / {sum(found.values())} | "
              f"{', '.join(f'{sig} x{n}' for sig, n in found.most_common())} |")
    print(f"| all | | **{right_total} / {total} ({100 * right_total / max(total, 1):.1f} %)** | "
          f"{time.perf_counter() - started:.0f} s |")


if __name__ == "__main__":
    main()
