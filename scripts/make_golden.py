"""Store each bundled model's notes on the bundled example as its regression reference
(tests/golden/example-NAME.json). Rerun for a model only when its weights or decoding change.

Usage: python scripts/make_golden.py [NAME ...]     (default: every bundled model)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pianotx
from pianotx.bundled import bundled_models

root = Path(__file__).resolve().parent.parent
for name in sys.argv[1:] or sorted(bundled_models()):
    notes = pianotx.transcribe(root / "examples" / "example.flac",
                              model=pianotx.load_model(name, device="cpu")).notes
    out = root / "tests" / "golden" / f"example-{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "model": name,
        "notes": [[round(n.onset_s, 5), round(n.offset_s, 5), n.pitch, n.velocity] for n in notes],
    }, indent=0) + "\n")
    print(f"{out}: {len(notes)} notes from {name}")
