"""Train the beat tracker on ASAP's tuning part and export it (issue 23).

Usage: python scripts/train_beat_tracker.py OUT [--asap DIR ...] [--steps N] [--threads N]
           [--export weights/beat-tracker.onnx]

Reads every ASAP folder given (default: ``../shared/data/midi/asap`` and ``asap-maestro``
beside the checkout), keeps the tuning part (``pianotx.data.asap.part_of``; the test part is
never read) and holds out about one piece folder in six of it (by another hash of the
folder) for the held-out loss that picks ``OUT/best.pt``. Progress lines go to stdout.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from pianotx.data.asap import asap_rows, held_out, load_performance
from pianotx.model.beatnet import BeatNetConfig
from pianotx.score.rhythm import TEMPO_BPM
from pianotx.training.beats import BeatTrainConfig, as_piece, export_beatnet, train_beatnet

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi"


def load_tuning(roots: list[Path], cache: Path) -> tuple[list, list]:
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    fit, check = [], []
    for root in roots:
        for row in asap_rows(root, "tuning"):
            piece = as_piece(load_performance(root, row))
            if len(piece.beats_s) >= 8 and len(piece.onset_s):
                (check if held_out(row["folder"]) else fit).append(piece)
    cache.write_bytes(pickle.dumps((fit, check)))
    return fit, check


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--asap", type=Path, action="append")
    parser.add_argument("--steps", type=int, default=BeatTrainConfig.steps)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--export", type=Path)
    parser.add_argument("--plain", action="store_true",
                        help="beat head only (the first shipped tracker); default: tempo and meter heads too")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    roots = args.asap or [SHARED / "asap", SHARED / "asap-maestro"]
    args.out.mkdir(parents=True, exist_ok=True)
    fit, check = load_tuning(roots, args.out / "tuning-v2.pkl")
    hours = sum(p.beats_s[-1] - p.beats_s[0] for p in fit) / 3600
    print(f"fit: {len(fit)} performances ({hours:.1f} h); held out: {len(check)}", flush=True)
    config = replace(BeatTrainConfig(), steps=args.steps)
    started = time.perf_counter()
    net_config = BeatNetConfig() if args.plain else BeatNetConfig(tempo_bins=len(TEMPO_BPM), meter_heads=True)
    best = train_beatnet(fit, check, args.out, config=config, net_config=net_config,
                         on_event=lambda r: print(json.dumps(r), flush=True))
    print(f"trained in {(time.perf_counter() - started) / 60:.1f} min: {best}", flush=True)
    if args.export:
        saved = torch.load(best, map_location="cpu", weights_only=True)
        export_beatnet(best, args.export, metadata={
            "net_config": saved["net_config"], "train_config": saved["train_config"],
            "step": saved["step"], "data": [f"DATA/{root.name} (tuning part)" for root in roots]})
        print(f"exported {args.export}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
