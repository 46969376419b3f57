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

from pianotx.model.checkpoint import load_checkpoint
from pianotx.model.networks import count_parameters

ROOT = Path(__file__).resolve().parent.parent
METRICS = [("note/f1", "Note onset F1"), ("note/precision", "Note onset P"),
           ("note/recall", "Note onset R"), ("note_offset/f1", "Onset+offset F1"),
           ("note_velocity/f1", "Onset+velocity F1"), ("frame/f1", "Frame F1"),
           ("frame/precision", "Frame P"), ("frame/recall", "Frame R"),
           ("frame/accuracy", "Frame accuracy"), ("note_frame/f1", "Note-roll F1"),
           ("pedal/f1", "Pedal F1")]


def _data_summary(data: Path, train_hours: float | None) -> str:
    rows = list(csv.DictReader(open(data / "synth.csv")))
    lines = []
    for split in ("train", "validation", "test"):
        chosen = [r for r in rows if r["split"] == split]
        hours = sum(float(r["duration"]) for r in chosen) / 3600
        timbres = Counter(r["timbre"] for r in chosen)
        lines.append(f"- {split}: {len(chosen)} pieces, {hours:.2f} h "
                     f"({', '.join(f'{t} {n}' for t, n in sorted(timbres.items()))})")
    sources: Counter = Counter()
    for r in rows:
        if r["split"] == "train":
            sources[r.get("source", "procedural").split("/")[0]] += float(r["duration"]) / 3600
    lines.append("- training music: " + ", ".join(
        f"{SOURCE_NAMES.get(k, k)} {v:.2f} h" for k, v in sources.most_common()))
    if train_hours:
        lines.append(f"- trained on a fixed {train_hours} h subset of the training split "
                     "(`--train-hours`)")
    return "\n".join(lines)


SOURCE_NAMES = {"midi": "real performance MIDI (MAESTRO v3 train split, ASAP, Batik, Vienna 4x22)",
                "procedural": "procedural", "corpus": "music21 corpus"}
MIDI_LICENCE = (
    "The training audio was rendered from performance MIDI of MAESTRO v3 and ASAP, licensed "
    "CC BY-NC-SA 4.0 (and Batik/Vienna 4x22 research corpora with no stated licence): these "
    "weights are a derived work for **non-commercial use** under those terms. The Salamander "
    "Grand Piano samples are CC BY 3.0 (Alexander Holm).")


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
    parser.add_argument("--caveat", default="Real-piano figures are the maps-dev column(s); "
                        "other pianos and rooms may score lower.")
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
    trunk = "frequency-pooling trunk (pianotx.model.freqnet)" if model["trunk"] == "freq" else \
        "the paper's U-Net trunk"
    rows = list(csv.DictReader(open(ROOT / train["data"] / "synth.csv")))
    uses_midi = any(r.get("source", "").startswith("midi/") for r in rows)
    val_data = train.get("val_data")
    chosen_on = (f"real recordings `{val_data}` (validation only, never trained on)"
                 if val_data else "the held-out timbre of the dataset's validation split")
    optimizer = train.get("optimizer", "adam")
    schedule = train.get("schedule", "constant")
    options = [f"diff input {model.get('diff_input', False)}",
               f"temporal head {model.get('temporal_head', 'plain')}"]
    card = f"""# pianotx model `{args.name}`

{model['arch'].upper()} with {trunk}, heads: {', '.join(loaded.model_config.head_names)}.
{count_parameters(loaded.net):,} parameters, stored in float16 ({path.stat().st_size / 1e6:.2f} MB).
{args.note}

## Data

Synthetic piano audio rendered by `pianotx synth` (no real recordings), dataset
`{train['data']}`:

{_data_summary(ROOT / train['data'], train.get('train_hours'))}

Validation and test are rendered only with the held-out timbre `iowa` (University of Iowa
Steinway B samples), which training never hears. The checkpoint was chosen on {chosen_on}.
{MIDI_LICENCE if uses_midi else ""}

## Training

- steps: {summary.get('steps')} ({summary.get('epochs', 0):.2f} epochs of training crops);
  {_chosen(summary)}
- batch {train['batch_size']} x {train['segment_s']} s segments, {optimizer} lr {train['lr']}
  ({schedule} schedule, planned {train.get('steps')} steps), warm-up {train['warmup_steps']}
  steps, beta {train['beta']}, grad clip {train['grad_clip']}, augmentation
  {_augmentation(train)}, seed {train['seed']}; {', '.join(options)}
- hardware: {platform.machine()} CPU, {args.hardware}; wall time {args.wall_min:.0f} min
- command: `{args.command}`

## Decoding (stored in the checkpoint)

onset threshold {decode.onset_threshold}, frame threshold {decode.frame_threshold},
offset threshold {decode.offset_threshold}, pedal threshold {decode.pedal_threshold},
minimum note {decode.min_note_s} s, onset re-arm {decode.onset_rearm}, onset threshold
{decode.onset_bass_slope} higher per octave below middle C, pedal mode {decode.pedal};
frame-started notes {_frame_notes(decode)}.

## Metrics

`pianotx eval` (mir_eval; onset tolerance 50 ms, offsets 20 % / 50 ms, frames at
100 frames/s, references extended by the sustain pedal, mean over pieces, scores in %;
frame scores are the frame head thresholded, note-roll the decoded notes redrawn; pedal
scores cover every piece whose reference has presses):

{_metrics_table(evals)}

{args.caveat}

## File

`weights/{args.name}.pt` sha256 {digest}
{_onnx_line(args.name)}"""
    (ROOT / "weights" / f"{args.name}.md").write_text(card)
    print(f"wrote weights/{args.name}.md (sha256 {digest})")


def _chosen(summary: dict) -> str:
    """How the shipped weights were picked: the best validation step, or an average."""
    averaged = summary.get("averaged_steps")
    if averaged:
        steps = ", ".join(str(s) for s in averaged)
        return (f"these weights are the mean of the run's snapshots at steps {steps} "
                f"(`scripts/average_checkpoints.py`), BatchNorm statistics re-estimated on "
                f"{summary.get('batchnorm_batches', 0)} batches of training crops; the best "
                f"single step on validation was {summary.get('best_step')} "
                f"({summary.get('best_metric')} {summary.get('best_score', 0):.4f})")
    return (f"best validation {summary.get('best_metric')} {summary.get('best_score', 0):.4f} "
            f"at step {summary.get('best_step')} (this checkpoint)")


def _frame_notes(decode) -> str:  # type: ignore[no-untyped-def]
    if decode.frame_note_min_s <= 0:
        return "off"
    return (f"on (frame runs at {decode.frame_note_level} or more lasting "
            f"{decode.frame_note_min_s} s, onset evidence {decode.frame_note_onset})")


def _onnx_line(name: str) -> str:
    onnx = ROOT / "weights" / f"{name}.onnx"
    if not onnx.is_file():
        return ""
    digest = hashlib.sha256(onnx.read_bytes()).hexdigest()
    return (f"\n`weights/{name}.onnx` sha256 {digest} (its ONNX export: transcription without "
            "torch)\n")


def _augmentation(train: dict) -> str:
    if not train["augment"]:
        return "off"
    if train.get("augment_chain") == "recording":
        return ("on: detune plus the recording chain (rooms, microphone EQ, compressor, codecs, "
                "piano noises, pedal resonance, noise floor)")
    return "on (gain, EQ, reverb, noise, detune)"


if __name__ == "__main__":
    main()
