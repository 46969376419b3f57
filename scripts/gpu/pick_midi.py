"""Stage a training-split subset of performance MIDI for a lent GPU (used by bundle.sh).

Usage: python scripts/gpu/pick_midi.py MIDI_ROOT STAGE --raw-mib X [--seed N]

MIDI_ROOT holds ``maestro-v3.0.0/`` and ``asap/`` (../shared/data/midi). Splits are read
exactly as ``pianotx synth`` reads them (MAESTRO's own table, ASAP by a hash of the piece
folder); only train performances are kept, drawn in a seeded order until their raw size
reaches ``--raw-mib``. STAGE receives the same layout as symbolic links (so the split and
piece ids stay the same once unpacked) plus a MAESTRO table holding the chosen rows only.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from pianotx.data.synth.midisource import SCORE_NAME, scan_midi_folder

MAESTRO = "maestro-v3.0.0"
ASAP = "asap"


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        dst.symlink_to(src.resolve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("midi_root", type=Path)
    parser.add_argument("stage", type=Path)
    parser.add_argument("--raw-mib", type=float, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train = [r for name in (MAESTRO, ASAP)
             for r in scan_midi_folder(args.midi_root / name) if r.split == "train"]
    random.Random(args.seed).shuffle(train)
    budget, chosen, used = args.raw_mib * 2**20, [], 0
    for recording in train:
        size = Path(recording.path).stat().st_size
        if used + size <= budget:
            chosen.append(recording)
            used += size

    maestro_root = args.midi_root / MAESTRO
    kept = {str(Path(r.path).relative_to(maestro_root)) for r in chosen if r.collection == MAESTRO}
    with open(maestro_root / f"{MAESTRO}.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [row for row in reader if row["midi_filename"].strip() in kept]
        fields = reader.fieldnames
    (args.stage / MAESTRO).mkdir(parents=True, exist_ok=True)
    with open(args.stage / MAESTRO / f"{MAESTRO}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    _link(maestro_root / "LICENSE", args.stage / MAESTRO / "LICENSE")
    _link(args.midi_root / ASAP / "LICENSE.md", args.stage / ASAP / "LICENSE.md")
    for recording in chosen:
        path = Path(recording.path)
        root = args.midi_root / recording.collection
        _link(path, args.stage / recording.collection / path.relative_to(root))
        score = path.parent / SCORE_NAME  # keeps ASAP's piece folder, hence its split
        if score.is_file():
            _link(score, args.stage / recording.collection / score.relative_to(root))

    hours = sum(float(row["duration"]) for row in rows) / 3600
    n_asap = sum(r.collection == ASAP for r in chosen)
    print(f"midi: {len(rows)} MAESTRO train performances ({hours:.1f} h) and {n_asap} ASAP "
          f"train performances, {used / 2**20:.1f} MiB raw")


if __name__ == "__main__":
    main()
