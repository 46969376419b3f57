"""The whole chain on real recordings: maps-dev audio -> default model's notes -> MusicXML,
beside the score of each piece's reference MIDI, optionally rendered by MuseScore.

Usage: python bench/score_maps.py OUT_DIR [MAPS_DIR] [--piece NAME ...] [--render]
Runs ``pianotx transcribe X.flac -o OUT/X.musicxml`` and ``pianotx score X.mid -o OUT/X-ref.musicxml``
for each piece and prints a Markdown table: notes, time signature, key signature and tempo
of both scores, and whether each file re-reads (partitura) with the notes it was written with.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from pathlib import Path

from pianotx.score.musicxml import read_musicxml

DEFAULT_MAPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "maps-dev"
PIECES = ("MAPS_MUS-chpn-p4_ENSTDkAm", "MAPS_MUS-chpn-p14_ENSTDkAm", "MAPS_MUS-scn15_6_ENSTDkAm",
          "MAPS_MUS-scn15_9_ENSTDkAm")


def summary(path: Path) -> str:
    """``"3/4, 2 sharps, q=142, 99 notes"`` read back from a MusicXML file."""
    text = path.read_text()
    beats, beat_type = re.search(r"<beats>(\d+)</beats>\s*<beat-type>(\d+)</beat-type>", text).groups()
    fifths = int(re.search(r"<fifths>(-?\d+)</fifths>", text).group(1))
    tempo = re.search(r'<sound tempo="(\d+)"', text)
    key = f"{abs(fifths)} {'sharps' if fifths > 0 else 'flats'}" if fifths else "no accidentals"
    return f"{beats}/{beat_type}, {key}, q={tempo.group(1) if tempo else '?'}, {len(read_musicxml(path))} notes"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("maps", nargs="?", type=Path, default=DEFAULT_MAPS)
    parser.add_argument("--piece", action="append")
    parser.add_argument("--render", action="store_true", help="also render each score with mscore3")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("| piece | from the recording (transcribed) | from the reference MIDI | seconds |")
    print("|---|---|---|---|")
    for name in args.piece or PIECES:
        started = time.perf_counter()
        heard, ref = args.out / f"{name}.musicxml", args.out / f"{name}-ref.musicxml"
        subprocess.run(["pianotx", "transcribe", str(args.maps / f"{name}.flac"), "-o", str(heard),
                        "--format", "mid,musicxml", "--overwrite", "-q"], check=True)
        subprocess.run(["pianotx", "score", str(args.maps / f"{name}.mid"), "-o", str(ref), "--overwrite"],
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        print(f"| {name} | {summary(heard)} | {summary(ref)} | {seconds:.0f} |", flush=True)
        if args.render:
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
            for path in (heard, ref):
                subprocess.run(["mscore3", "-o", str(path.with_suffix(".png")), str(path)], env=env,
                               check=True, capture_output=True)


if __name__ == "__main__":
    main()
