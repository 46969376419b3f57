"""Train the beat tracker on ASAP's tuning part and export it (issue 23).

Usage: python scripts/train_beat_tracker.py OUT [--asap DIR ...] [--steps N] [--threads N] [--channels N]
           [--gru N] [--plain | --no-tempo] [--seed N] [--tempo-range LOW HIGH] [--cache FILE] [--decode JSON]
           [--extra FILE.pkl [--extra-share 0.5]] [--export-only] [--resume] [--ensemble RUN/best.pt ...]
           [--fold K/N] [--export weights/beat-tracker.onnx [--export-from best|last]]
       python scripts/train_beat_tracker.py OUT --notes [--steps N] [--seed N] [--crop-notes N] [--tempo-range LOW HIGH] [--resume]
           [--ensemble RUN/best.pt ...]
           [--export weights/beat-notes.onnx]

Reads every ASAP folder given (default: ``../shared/data/midi/asap`` and ``asap-maestro``
beside the checkout), keeps the tuning part (``pianotx.data.asap.part_of``; the test part is
never read) and holds out about one piece folder in six of it (by another hash of the
folder) for the held-out loss that picks ``OUT/best.pt`` (``--fold K/N``: fold K of N of the
whole tuning part instead, for out-of-fold networks, ``pianotx.data.asap.fold_of``). Progress lines go to stdout.
``--notes`` trains the note network (:mod:`pianotx.training.notebeats`) instead of the frame
network. ``--extra`` adds performances played from scores (``scripts/render_score_performances.py``),
drawn for ``--extra-share`` of the crops.
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

from pianotx.data.asap import asap_rows, fold_of, held_out, load_performance
from pianotx.model.beatnet import BeatNetConfig, NoteBeatNetConfig
from pianotx.score.rhythm import TEMPO_BPM
from pianotx.training.beats import BeatTrainConfig, as_piece, beat_span, export_beatnet, train_beatnet
from pianotx.training.notebeats import export_note_beatnet, train_note_beatnet

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi"


def load_tuning(roots: list[Path], cache: Path, fold: tuple[int, int] | None = None) -> tuple[list, list]:
    """The tuning part's pieces to train on and to hold out: the ``held_out`` folders, or
    with ``fold`` (k, n) the folders of fold k of n (``pianotx.data.asap.fold_of``)."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    fit, check = [], []
    for root in roots:
        for row in asap_rows(root, "tuning"):
            piece = as_piece(load_performance(root, row))
            if len(piece.beats_s) >= 8 and len(piece.onset_s):
                out = fold_of(row["folder"], fold[1]) == fold[0] if fold else held_out(row["folder"])
                (check if out else fit).append(piece)
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
    parser.add_argument("--no-tempo", action="store_true", help="meter heads without the tempo head")
    parser.add_argument("--channels", type=int, default=BeatNetConfig.channels)
    parser.add_argument("--gru", type=int, default=0, help="units of a bidirectional GRU on top (0: none)")
    parser.add_argument("--seed", type=int, default=BeatTrainConfig.seed)
    parser.add_argument("--cache", type=Path, help="the parsed tuning part (default OUT/tuning-v2.pkl)")
    parser.add_argument("--decode", type=json.loads, default={},
                        help='DBN settings chosen on the held-out folders, stored with the export '
                             '(JSON, e.g. \'{"transition_lambda": 15}\'; see score.tracker.decode_settings)')
    parser.add_argument("--notes", action="store_true",
                        help="train the note network (warm-up 200 steps, held-out loss every 500)")
    parser.add_argument("--crop-notes", type=int, default=BeatTrainConfig.crop_notes,
                        help="with --notes: notes per training window")
    parser.add_argument("--tempo-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        default=BeatTrainConfig.tempo_range,
                        help="time scales a training crop is played at, drawn log-uniformly (default 0.8 1.25)")
    parser.add_argument("--extra", type=Path,
                        help="a pickle of more pieces (training.beats.Piece lists: performances "
                             "rendered from scores)")
    parser.add_argument("--extra-share", type=float, default=0.5,
                        help="with --extra: the share of training crops drawn from it (default 0.5)")
    parser.add_argument("--export-only", action="store_true", help="export OUT/best.pt without training")
    parser.add_argument("--export-from", choices=("best", "last"), default="best",
                        help="the checkpoint --export writes: OUT/best.pt (lowest held-out loss) or OUT/last.pt")
    parser.add_argument("--fold", type=str, metavar="K/N",
                        help="hold out fold K of N of the whole tuning part (pianotx.data.asap.fold_of) "
                             "instead of the held-out folders: out-of-fold networks for scripts/fit_beat_chooser.py")
    parser.add_argument("--resume", action="store_true",
                        help="go on from OUT/last.pt (same settings) where a run stopped")
    parser.add_argument("--ensemble", type=Path, nargs="+", default=[],
                        help="other runs' checkpoints exported with OUT/best.pt as one ensemble")
    args = parser.parse_args()
    if args.crop_notes < 2:
        parser.error("--crop-notes must be at least 2")
    if not 0 <= args.extra_share <= 1:
        parser.error("--extra-share must be between 0 and 1")
    if not 0 < args.tempo_range[0] <= args.tempo_range[1]:
        parser.error("--tempo-range needs 0 < LOW <= HIGH")
    fold = None
    if args.fold:
        try:
            fold = tuple(int(x) for x in args.fold.split("/"))
        except ValueError:
            fold = ()
        if len(fold) != 2 or not 0 <= fold[0] < fold[1]:
            parser.error(f"--fold needs K/N with 0 <= K < N, got {args.fold!r}")
    torch.set_num_threads(args.threads)
    roots = args.asap or [SHARED / "asap", SHARED / "asap-maestro"]
    args.out.mkdir(parents=True, exist_ok=True)
    fit, check = load_tuning(roots, args.cache or args.out / (f"tuning-v2-fold-{fold[0]}-{fold[1]}.pkl" if fold else "tuning-v2.pkl"), fold)
    hours = sum(map(beat_span, fit)) / 3600
    print(f"fit: {len(fit)} performances ({hours:.1f} h); held out: {len(check)}", flush=True)
    extra = pickle.loads(args.extra.read_bytes()) if args.extra else []
    if extra:
        hours = sum(map(beat_span, extra)) / 3600
        print(f"extra: {len(extra)} pieces ({hours:.1f} h), drawn for {args.extra_share:.0%} of the crops",
              flush=True)
    config = replace(BeatTrainConfig(), steps=args.steps, seed=args.seed, crop_notes=args.crop_notes,
                     tempo_range=tuple(args.tempo_range), extra_share=args.extra_share if extra else 0.0)
    started = time.perf_counter()
    if args.notes:
        return train_notes(args, fit, check, replace(config, warmup_steps=200, val_every=500), roots, extra)
    net_config = BeatNetConfig(channels=args.channels, gru=args.gru, meter_heads=not args.plain,
                               tempo_bins=0 if args.plain or args.no_tempo else len(TEMPO_BPM))
    if args.export_only:
        best = args.out / f"{args.export_from}.pt"
    else:
        best = train_beatnet(fit, check, args.out, extra=extra, config=config, net_config=net_config,
                             resume=args.resume, on_event=lambda r: print(json.dumps(r), flush=True))
        print(f"trained in {(time.perf_counter() - started) / 60:.1f} min: {best}", flush=True)
        best = args.out / f"{args.export_from}.pt"
    if args.export:
        members = [best, *args.ensemble]
        metadata = export_metadata(members, roots, args.extra) | {"decode": args.decode}
        export_beatnet(members, args.export, metadata=metadata)
        print(f"exported {args.export}", flush=True)


def export_metadata(members: list[Path], roots: list[Path], extra: Path | None = None) -> dict:
    """What an exported network records of its members' checkpoints and its data."""
    saved = [torch.load(path, map_location="cpu", weights_only=True) for path in members]
    data = [f"DATA/{root.name} (tuning part)" for root in roots]
    if extra is not None:
        data.append(f"RUNS/{extra.name} (scripts/render_score_performances.py)")
    return {"net_config": [s["net_config"] for s in saved],
            "train_config": [s["train_config"] for s in saved], "step": [s["step"] for s in saved],
            "data": data}


def train_notes(args: argparse.Namespace, fit: list, check: list, config: BeatTrainConfig,
                roots: list[Path], extra: list) -> None:
    started = time.perf_counter()
    if not args.export_only:
        best = train_note_beatnet(fit, check, args.out, extra=extra, config=config,
                                  net_config=NoteBeatNetConfig(), resume=args.resume,
                                  on_event=lambda r: print(json.dumps(r), flush=True))
        print(f"trained in {(time.perf_counter() - started) / 60:.1f} min: {best}", flush=True)
    best = args.out / f"{args.export_from}.pt"
    if args.export:
        members = [best, *args.ensemble]
        export_note_beatnet(members, args.export, metadata=export_metadata(members, roots, args.extra))
        print(f"exported {args.export}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
