"""A training run's folder: resolved config, metrics log, plot, RNG states.

Layout of ``runs/NAME``::

    config.json     the resolved train, model and feature configs
    metrics.jsonl   one JSON record per logged step or validation
    metrics.csv     the same records as a table (rewritten from the JSONL)
    plot.png        training loss and validation F1 against the step (needs matplotlib)
    last.pt         latest training checkpoint (weights, optimizer, step, RNG states)
    best.pt         weights with the best validation score so far

Every file is replaced atomically, so a run killed at any moment (even ``kill -9``) leaves
a readable folder; records logged after the last checkpoint are dropped on resume.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pianotx.errors import OutputError, TrainingError
from pianotx.files import write_bytes_atomic

CONFIG_FILE = "config.json"
LOG_FILE = "metrics.jsonl"
CSV_FILE = "metrics.csv"
PLOT_FILE = "plot.png"
LAST_FILE = "last.pt"
BEST_FILE = "best.pt"


# What a run writes before its first last.pt: a folder holding only these (and the
# temporary ``.NAME.*.part`` files a kill can leave) may be started again, its files replaced.
BEFORE_FIRST_CHECKPOINT = (CONFIG_FILE, LOG_FILE, CSV_FILE)


def check_folder(out_dir: Path, *, resume: bool) -> None:
    """Refuse to start over an existing run, or to resume a run that is not there; create
    nothing (:func:`create_folder` does, once the inputs are checked).

    A folder without ``last.pt`` that holds only what a run writes before its first
    checkpoint (a run that failed or was stopped early) may be started again.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"run folder {out_dir} is a file; choose another --out")
    last = out_dir / LAST_FILE
    others = _other_files(out_dir)
    if resume and not last.is_file():
        if others:
            fix = f"it holds {_some(others)}: choose another --out"
        elif out_dir.is_dir() and any(out_dir.iterdir()):
            fix = "the run stopped before its first checkpoint; drop --resume to start it again"
        else:
            fix = "drop --resume to start"
        raise TrainingError(f"nothing to resume: {last} does not exist; {fix}")
    if not resume and last.is_file():
        raise OutputError(
            f"run folder {out_dir} holds a run ({LAST_FILE}); pass --resume to continue it or "
            "choose another --out"
        )
    if not resume and others:
        raise OutputError(
            f"run folder {out_dir} is not empty ({_some(others)}) and holds no {LAST_FILE} to "
            "resume; choose another --out or empty it"
        )


def create_folder(out_dir: Path) -> None:
    """Create the run folder (and its parents) if it is not there."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create run folder {out_dir}: {exc.strerror}") from None


def _other_files(out_dir: Path) -> list[str]:
    """Names in ``out_dir`` other than ``last.pt`` and what a run writes before it."""
    if not out_dir.is_dir():
        return []
    return sorted(p.name for p in out_dir.iterdir()
                  if p.name != LAST_FILE and p.name not in BEFORE_FIRST_CHECKPOINT
                  and not (p.name.startswith(".") and p.name.endswith(".part")))


def _some(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def read_last(out_dir: Path) -> dict[str, Any]:
    """The training checkpoint ``last.pt`` of a run, with its ``training`` state."""
    from pianotx.model.checkpoint import read_checkpoint

    path = out_dir / LAST_FILE
    saved = read_checkpoint(path)
    if "training" not in saved:
        raise TrainingError(f"{path} holds no training state; it cannot be resumed")
    return saved


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(path, text.encode(), overwrite=True)


def read_log(out_dir: Path, *, until_step: int | None = None) -> list[dict[str, Any]]:
    """Records of ``metrics.jsonl`` (those with ``step <= until_step``; a torn last line is
    skipped)."""
    path = out_dir / LOG_FILE
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line a kill interrupted
        if until_step is None or record.get("step", 0) <= until_step:
            records.append(record)
    return records


def rewrite_log(out_dir: Path, records: list[dict[str, Any]]) -> None:
    """Replace ``metrics.jsonl`` by ``records`` and rewrite ``metrics.csv`` from them."""
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    write_bytes_atomic(out_dir / LOG_FILE, text.encode(), overwrite=True)
    write_csv(out_dir, records)


def append_log(out_dir: Path, record: dict[str, Any]) -> None:
    """Append one record to ``metrics.jsonl`` and flush it to the file."""
    with open(out_dir / LOG_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def write_csv(out_dir: Path, records: list[dict[str, Any]]) -> None:
    """Write ``records`` as ``metrics.csv`` (columns: the union of their keys)."""
    columns = ["kind", "step", "epoch"]
    for record in records:
        columns += [key for key in record if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    write_bytes_atomic(out_dir / CSV_FILE, buffer.getvalue().encode(), overwrite=True)


def write_plot(out_dir: Path, records: list[dict[str, Any]], *, metric: str) -> str | None:
    """Plot training loss and validation ``metric`` against the step into ``plot.png``.

    Returns
    -------
    str or None
        A note why no plot was written (matplotlib missing), else None.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError:
        return "matplotlib is not installed; no plot.png (pip install matplotlib)"
    train = [r for r in records if r["kind"] == "train"]
    val = [r for r in records if r["kind"] == "val" and metric in r]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    top.plot([r["step"] for r in train], [r["loss"] for r in train], lw=1)
    top.set_ylabel("training loss")
    bottom.plot([r["step"] for r in val], [r[metric] for r in val], "o-")
    bottom.set_ylabel(f"validation {metric}")
    bottom.set_xlabel("step")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    write_bytes_atomic(out_dir / PLOT_FILE, buffer.getvalue(), overwrite=True)
    return None


def rng_state() -> dict[str, Any]:
    """The torch, CUDA, numpy and Python RNG states as tensors and primitives."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": list(random.getstate()[1]),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the RNG states saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    saved = state["numpy"]
    keys = saved["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, saved["pos"], saved["has_gauss"], saved["gauss"]))
    random.setstate((3, tuple(state["python"]), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
