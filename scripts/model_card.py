"""Write weights/NAME.md, the model card of a shipped checkpoint, from what was measured.

Usage:
  python scripts/model_card.py NAME RUN_DIR --wall-min M --command "..." \
      --eval "held-out timbre (iowa), test split=REPORT.json" [--eval "LABEL=REPORT.json" ...]

The card states the data (the run's dataset, its synth.csv hours and timbres), the training
(steps, epochs, batch, segment, learning rate, beta, augmentation, wall minutes, hardware),
the decode thresholds stored in the checkpoint, the metrics of each eval report (mean over
pieces, F1 = 2PR/(P+R)), how to reproduce it, and the sha256 of weights/NAME.pt.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import platform
from collections import Counter
from pathlib import Path

from pianotx.checkpoint import load_checkpoint
from pianotx.models import count_parameters

ROOT = Path(__file__).resolve().parent.parent
METRICS = [("note/f1", "Note onset F1"), ("note/precision", "Note onset P"),
           ("note/recall", "Note onset R"), ("note_offset/f1", "Onset+offset F1"),
           ("note_velocity/f1", "Onset+velocity F1"), ("frame/f1", "Frame F1"),
           ("frame/precision", "Frame P"), ("frame/recall", "Frame R"),
           ("frame/accuracy", "Frame accuracy"), ("pedal/f1", "Pedal F1")]


def _data_summary(data: Path, train_hours: float | None) -> str:
    rows = list(csv.DictReader(open(data / "synth.csv")))
    lines = []
    for split in ("train", "validation", "test"):
        chosen = [r for r in rows if r["split"] == split]
        hours = sum(float(r["duration"]) for r in chosen) / 3600
        timbres = Counter(r["timbre"] for r in chosen)
        lines.append(f"- {split}: {len(chosen)} pieces, {hours:.2f} h "
                     f"({', '.join(f'{t} {n}' for t, n in sorted(timbres.items()))})")
    if train_hours:
        lines.append(f"- trained on a fixed {train_hours} h subset of the training split "
                     "(`--train-hours`)")
    return "\n".join(lines)


def _result(report: dict, name: str) -> dict:
    """The report's entry for model ``name`` (a bundled name or a path ending in NAME.pt)."""
    for result in report["results"]:
        if result["name"] == name or result["name"].endswith(f"/{name}.pt"):
            return result
    raise SystemExit(f"no result for {name} in the eval report")


def _metrics_table(evals: list[tuple[str, dict]]) -> str:
    head = "| metric | " + " | ".join(label for label, _ in evals) + " |"
    lines = [head, "|---|" + "---|" * len(evals)]
    for key, name in METRICS:
        cells = []
        for _, report in evals:
            value = report["mean"].get(key)
            cells.append("-" if value is None else f"{100 * value:.1f}")
        if any(c != "-" for c in cells):
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    pieces = " | ".join(str(r["n_pieces"]) for _, r in evals)
    lines.append(f"| pieces | {pieces} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("run", type=Path)
    parser.add_argument("--wall-min", type=float, required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--eval", action="append", default=[])
    parser.add_argument("--note", default="")
    parser.add_argument("--hardware", default="2 cores, no GPU")
    args = parser.parse_args()

    path = ROOT / "weights" / f"{args.name}.pt"
    loaded = load_checkpoint(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    run = json.loads((args.run / "config.json").read_text())
    train, model = run["train"], run["model"]
    summary = loaded.metadata.get("train_summary", {})
    evals = []
    for spec in args.eval:
        label, report = spec.rsplit("=", 1)
        evals.append((label, _result(json.loads(Path(report).read_text()), args.name)))
    decode = loaded.decode_config
    trunk = "frequency-pooling trunk (pianotx.freqnet)" if model["trunk"] == "freq" else \
        "the paper's U-Net trunk"
    card = f"""# pianotx model `{args.name}`

{model['arch'].upper()} with {trunk}, heads: {', '.join(loaded.model_config.head_names)}.
{count_parameters(loaded.net):,} parameters, stored in float16 ({path.stat().st_size / 1e6:.2f} MB).
{args.note}

## Data

Synthetic piano audio rendered by `pianotx synth` (no real recordings; MIT-licensed music
generator and public-domain music21 corpus works), dataset `{train['data']}`:

{_data_summary(ROOT / train['data'], train.get('train_hours'))}

Validation and test are rendered only with the held-out timbre `iowa` (University of Iowa
Steinway B samples), which training never hears.

## Training

- steps: {summary.get('steps')} ({summary.get('epochs', 0):.2f} epochs of training crops);
  best validation {summary.get('best_metric')} {summary.get('best_score', 0):.4f} at step
  {summary.get('best_step')} (this checkpoint)
- batch {train['batch_size']} x {train['segment_s']} s segments, Adam lr {train['lr']},
  warm-up {train['warmup_steps']} steps, beta {train['beta']}, grad clip {train['grad_clip']},
  augmentation {'on (gain, EQ, reverb, noise)' if train['augment'] else 'off'}, seed {train['seed']}
- hardware: {platform.machine()} CPU, {args.hardware}; wall time {args.wall_min:.0f} min
- command: `{args.command}`

## Decoding (stored in the checkpoint)

onset threshold {decode.onset_threshold}, frame threshold {decode.frame_threshold},
offset threshold {decode.offset_threshold}, pedal threshold {decode.pedal_threshold},
minimum note {decode.min_note_s} s.

## Metrics

`pianotx eval` (mir_eval; onset tolerance 50 ms, offsets 20 % / 50 ms, frames at
100 frames/s, references extended by the sustain pedal, mean over pieces, scores in %):

{_metrics_table(evals)}

These are synthetic-audio figures; accuracy on real piano recordings has not been measured
(no real recordings are available to this project yet).

## File

`weights/{args.name}.pt` sha256 {digest}
"""
    (ROOT / "weights" / f"{args.name}.md").write_text(card)
    print(f"wrote weights/{args.name}.md (sha256 {digest})")


if __name__ == "__main__":
    main()
