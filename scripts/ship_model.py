"""Copy a trained checkpoint into weights/ as NAME.pt: fp16 weights, no optimizer state,
the decode thresholds it carries; print its size, parameter count and sha256 for the card.

Usage: python scripts/ship_model.py RUN/best.pt NAME
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from pianotx.model.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from pianotx.model.networks import count_parameters

source, name = Path(sys.argv[1]), sys.argv[2]
target = Path(__file__).resolve().parent.parent / "weights" / f"{name}.pt"
data = read_checkpoint(source)
data.pop("training", None)
summary = data.get("train_summary") or {}
for key in ("data", "val_data"):  # no path of this machine in a shipped file
    if isinstance(summary.get(key), str) and summary[key].startswith("/"):
        summary[key] = f"DATA/{Path(summary[key]).name}"
data["state_dict"] = {k: v.half() if v.is_floating_point() else v
                      for k, v in data["state_dict"].items()}
save_checkpoint(target, data)
loaded = load_checkpoint(target)  # strict: the fp16 file must load into the model
digest = hashlib.sha256(target.read_bytes()).hexdigest()
print(f"{target}: {target.stat().st_size / 1e6:.2f} MB, "
      f"{count_parameters(loaded.net):,} parameters, sha256 {digest}")
