"""How far the optimized inference paths move the notes: the default model's notes from the
unoptimized torch path (BatchNorm unfolded, contiguous layout) against the optimized torch
path and the ONNX Runtime engine, as onset F1 of one against the other, per piece.

Usage: python bench/engine_agreement.py DATA [--split test] [--limit N]
Prints the mean and the lowest onset F1 for each optimized path.
"""

from __future__ import annotations

import argparse

import pianotx
from pianotx.data.readers import find_items
from pianotx.evaluation.metrics import note_scores


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    items = find_items(args.data, split=args.split)[: args.limit]
    plain = pianotx.load_model(device="cpu", engine="torch", optimize=False)
    paths = {"torch, optimized": pianotx.load_model(device="cpu", engine="torch"),
             "onnx": pianotx.load_model(device="cpu", engine="onnx")}
    scores: dict[str, list[float]] = {name: [] for name in paths}
    for item in items:
        want = pianotx.transcribe(item.audio_path, model=plain).notes
        for name, model in paths.items():
            got = pianotx.transcribe(item.audio_path, model=model).notes
            scores[name].append(note_scores(want, got, metrics=("note",))["note/f1"])
    print(f"{len(items)} pieces of {args.data} ({args.split}), default model against its "
          "unoptimized torch path:")
    for name, values in scores.items():
        print(f"- {name}: onset F1 mean {sum(values) / len(values):.4f}, lowest {min(values):.4f}")


if __name__ == "__main__":
    main()
