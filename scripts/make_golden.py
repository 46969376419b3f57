"""Store the default bundled model's notes on the bundled example as the regression
reference (tests/golden/example-notes.json). Rerun only when the default model or its
decoding changes.

Usage: python scripts/make_golden.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pianotx
from pianotx.bundled import default_model_name

root = Path(__file__).resolve().parent.parent
notes = pianotx.transcribe(root / "examples" / "example.flac",
                          model=pianotx.load_model(device="cpu")).notes
out = root / "tests" / "golden" / "example-notes.json"
out.parent.mkdir(exist_ok=True)
out.write_text(json.dumps({
    "model": default_model_name(),
    "notes": [[round(n.onset_s, 5), round(n.offset_s, 5), n.pitch, n.velocity] for n in notes],
}, indent=0) + "\n")
print(f"{out}: {len(notes)} notes from {default_model_name()}")
