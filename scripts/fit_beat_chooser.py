"""Fit the beat tracker's candidate chooser on out-of-fold probabilities and store it (issue 23).

Usage: python scripts/fit_beat_chooser.py CACHE --fold FRAME.onnx NOTES.onnx [--fold ...] [--asap DIR ...]
           [--c C] [--weights BEAT,DOWNBEAT,METER] [--jobs N] [--store weights/beat-tracker.onnx]

Each ``--fold`` gives the frame and note networks trained without fold K of N of ASAP's tuning
part (``scripts/train_beat_tracker.py --fold K/N``, K in the order given, N the number of
``--fold``); the test part is never read. Every tuning performance is heard by the networks
of its own fold (they never heard the piece, as a user's performance will not have been),
the DBN decodes its candidates with the shipped tracker's decode settings
(``pianotx.score.candidates``) and each candidate's features and scores (beat and downbeat
F-measure, mir_eval, 70 ms, first 5 s trimmed; meter right) go to CACHE (a pickle, reused
when it exists). The best candidate of a performance has the highest sum of its scores
weighted by ``--weights``. Prints beat F1, downbeat F1 and meter accuracy of the frame
network's bar length as tracked, of the shipped decode (level model and all) and of the
chooser cross-validated by fold, and of the best candidate; ``--store`` writes the chooser
fitted on all of them into the tracker's decode settings (``chooser``) and prints the
file's new sha256.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
from pathlib import Path

import numpy as np

from pianotx.data.asap import fold_of, load_performance
from pianotx.evaluation.beats import beat_f_measure
from pianotx.score.candidates import CANDIDATES, candidate_features, candidate_scores
from pianotx.score.chain import check_notes
from pianotx.score.level import thin
from pianotx.score.meter import beat_division, downbeats, meter_of
from pianotx.score.rhythm import FPS
from pianotx.score.tracker import candidate_tracks, decode_settings, track, uniform_meter
from pianotx.training.levels import fit_chooser, measured_tuning_part

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi"
SCORES = ("beat", "downbeat", "meter")


def scores(truth, kept, division: int) -> dict:
    """Beat and downbeat F-measure and meter of kept beats, compound bars of four halved."""
    meter = uniform_meter(kept.positions, kept.beats_per_bar, division)
    return {"beat": beat_f_measure(truth.beats_s, kept.beats_s),
            "downbeat": beat_f_measure(truth.downbeats_s, downbeats(kept.beats_s, meter)),
            "meter": float(meter_of(truth.signature) == (meter.beats_per_bar, meter.division))}


def measure(job: tuple[Path, dict], folds: list[tuple[Path, Path]]) -> dict:
    """One performance's candidates (features, scores) and the shipped decode's scores."""
    root, row = job
    performance = load_performance(root, row)
    notes, truth = check_notes(performance.notes), performance.annotations
    fold = fold_of(row["folder"], len(folds))
    frame, note = folds[fold]
    settings = decode_settings()
    probabilities, tracks, frame_log_probs = candidate_tracks(notes, settings, path=frame, note_path=note)
    features, candidate_scores, labels = [], [], []
    for length, step in CANDIDATES:
        kept = thin(tracks[length].beats_s, tracks[length].positions, length, step)
        if len(kept.beats_s) < 4:
            continue
        division = beat_division(notes, kept.beats_s)
        features.append(candidate_features(notes, probabilities, tracks, frame_log_probs, length, step, kept,
                                           division, fps=FPS))
        candidate_scores.append(scores(truth, kept, division))
        labels.append((length, step))
    beats_s, meter = track(notes, path=frame, note_path=note, **{k: v for k, v in settings.items() if k != "chooser"})
    shipped = {"beat": beat_f_measure(truth.beats_s, beats_s),
               "downbeat": beat_f_measure(truth.downbeats_s, downbeats(beats_s, meter)),
               "meter": float(meter_of(truth.signature) == (meter.beats_per_bar, meter.division))}
    default = max(frame_log_probs, key=frame_log_probs.get)
    return {"folder": row["folder"], "fold": fold, "features": np.array(features), "scores": candidate_scores,
            "labels": labels, "shipped": shipped, "tracked": candidate_scores[labels.index((default, 1))]}


def best_candidates(rows: list[dict], weights: np.ndarray) -> np.ndarray:
    """Index of the candidate of each row whose weighted scores sum highest."""
    return np.array([int(np.argmax([sum(w * s[k] for w, k in zip(weights, SCORES)) for s in r["scores"]]))
                     for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cache", type=Path)
    parser.add_argument("--fold", type=Path, nargs=2, action="append", required=True, metavar=("FRAME", "NOTES"))
    parser.add_argument("--asap", type=Path, action="append")
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 weight of the conditional logit")
    parser.add_argument("--weights", default="1,1,1", help="of beat F1, downbeat F1 and meter in the best candidate")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--store", type=Path, help="the tracker (.onnx) to store the fitted chooser in")
    args = parser.parse_args()
    weights = np.array([float(x) for x in args.weights.split(",")])
    if len(weights) != 3:
        parser.error("--weights needs three numbers: beat, downbeat, meter")
    rows = measured_tuning_part(args.cache, args.asap or [SHARED / "asap", SHARED / "asap-maestro"],
                                functools.partial(measure, folds=args.fold), jobs=args.jobs)
    best = best_candidates(rows, weights)
    fold = np.array([r["fold"] for r in rows])
    picked = np.zeros(len(rows), dtype=int)
    for k in sorted(set(fold)):
        inside = np.flatnonzero(fold != k)
        model = fit_chooser([rows[i]["features"] for i in inside], best[inside], c=args.c)
        for i in np.flatnonzero(fold == k):
            picked[i] = int(np.argmax(candidate_scores(rows[i]["features"], model)))
    print(f"{len(rows)} tuning performances in {len(set(fold))} folds; weights {args.weights}, c {args.c}")
    for label, pick in (("frame network's bar length, as tracked", lambda i: rows[i]["tracked"]),
                        ("shipped decode", lambda i: rows[i]["shipped"]),
                        ("chooser, cross-validated by fold", lambda i: rows[i]["scores"][picked[i]]),
                        ("best candidate", lambda i: rows[i]["scores"][best[i]])):
        means = {key: 100 * np.mean([pick(i)[key] for i in range(len(rows))]) for key in SCORES}
        print(f"{label}: beat F1 {means['beat']:.1f}, downbeat F1 {means['downbeat']:.1f}, meter {means['meter']:.1f} %")
    if args.store:
        from pianotx.training.beats import update_decode

        model = fit_chooser([r["features"] for r in rows], best, c=args.c)
        update_decode(args.store, {"chooser": model})
        print(f"stored in {args.store}; sha256 {hashlib.sha256(args.store.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
