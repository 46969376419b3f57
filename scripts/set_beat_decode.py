"""Store DBN settings chosen on ASAP's held-out tuning folders in an exported beat tracker.

Usage: python scripts/set_beat_decode.py weights/beat-tracker.onnx '{"note_weight": 0.3}'

The settings (names of ``pianotx.score.tracker.DECODE_DEFAULTS``) go into the file's
``decode`` metadata over those it holds; ``track()`` reads them as its defaults. Prints the
metadata written and the file's new sha256 (for its model card).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from pianotx.training.beats import update_decode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("onnx", type=Path)
    parser.add_argument("settings", type=json.loads)
    args = parser.parse_args()
    metadata = update_decode(args.onnx, args.settings)
    print(json.dumps(metadata["decode"]))
    print(f"sha256 {hashlib.sha256(args.onnx.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
