"""Fit the beat tracker's level model on ASAP's tuning part and store it (issue 23).

Usage: python scripts/fit_beat_level.py CACHE [--asap DIR ...] [--c C] [--margin M] [--jobs N]
           [--store weights/beat-tracker.onnx]

For every tuning performance (``pianotx.data.asap.part_of``; the test part is never read)
the shipped tracker decodes the beats as it would without a level model; the features of
:func:`pianotx.score.level.level_features` and the beat F-measure (mir_eval, 70 ms, first
5 s trimmed) of every beat, every second and every third (the phase the networks mark most)
against the annotations go to CACHE (a pickle, reused when it exists). The class is the step
with the best F-measure; a level is changed only where its log-odds beat keeping every beat
by ``--margin`` and every feature lies in the range of those fitted on. Prints the beat F-measure, downbeat F-measure and meter accuracy of
the tracked beats and of those the model keeps (``score.level.thin``) in a 5-fold
cross-validation by piece folder, for the held-out folders and the others; ``--store`` writes
the model fitted on all of them into the tracker's decode settings (``level_model``) and
prints the file's new sha256.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from pianotx.data.asap import held_out, load_performance
from pianotx.evaluation.beats import beat_f_measure
from pianotx.score.chain import check_notes
from pianotx.score.level import STEPS, choose_step, level_features, marks_at, strongest_phase, thin
from pianotx.score.meter import beat_division, downbeats, meter_of
from pianotx.score.rhythm import FPS
from pianotx.score.tracker import bar_meter, decode_beats, decode_settings
from pianotx.training.levels import fit_level_model, measured_tuning_part

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi"


def measure(job: tuple[Path, dict]) -> dict:
    """Features, per-step beat F-measures and the scores of each step's thinned beats."""
    root, row = job
    performance = load_performance(root, row)
    notes, truth = check_notes(performance.notes), performance.annotations
    decoded = decode_beats(notes, decode_settings())
    beats_s, positions, length = decoded.beats_s, decoded.positions, decoded.beats_per_bar
    marks = marks_at(decoded.mixed, beats_s, FPS)
    per_step, thinned = [], []
    for step in STEPS:
        per_step.append(beat_f_measure(truth.beats_s, beats_s[strongest_phase(marks, step)::step]))
        kept = thin(beats_s, positions, length, step)
        meter = bar_meter(kept.positions, np.full(len(kept.positions), kept.beats_per_bar), kept.beats_per_bar,
                          beat_division(notes, kept.beats_s))
        thinned.append({"beat": beat_f_measure(truth.beats_s, kept.beats_s),
                        "downbeat": beat_f_measure(truth.downbeats_s, downbeats(kept.beats_s, meter)),
                        "meter": float(meter_of(truth.signature) == (meter.beats_per_bar, meter.division))})
    return {"folder": row["folder"], "held_out": held_out(row["folder"]), "per_step": per_step, "thinned": thinned,
            "features": level_features(notes, beats_s, length, decoded.probabilities(), fps=FPS)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cache", type=Path)
    parser.add_argument("--asap", type=Path, action="append")
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 weight of the logistic model")
    parser.add_argument("--margin", type=float, default=1.0,
                        help="log-odds a changed level needs over keeping every beat")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--store", type=Path, help="the tracker (.onnx) to store the fitted model in")
    args = parser.parse_args()
    rows = measured_tuning_part(args.cache, args.asap or [SHARED / "asap", SHARED / "asap-maestro"], measure,
                                jobs=args.jobs)
    features = np.array([r["features"] for r in rows])
    classes = np.array([int(np.argmax(r["per_step"])) for r in rows])
    fold = np.array([hashlib.sha1(r["folder"].encode()).digest()[1] % 5 for r in rows])
    chosen = np.zeros(len(rows), dtype=int)
    for k in range(5):
        model = fit_level_model(features[fold != k], classes[fold != k], c=args.c, margin=args.margin)
        chosen[fold == k] = [STEPS.index(choose_step(x, model)) for x in features[fold == k]]
    print(f"{len(rows)} performances; best step: " + ", ".join(
        f"{step}: {int(np.sum(classes == i))}" for i, step in enumerate(STEPS)) + "; chosen in cross-validation: "
        + ", ".join(f"{step}: {int(np.sum(chosen == i))}" for i, step in enumerate(STEPS)))
    for name, mask in (("held-out folders", [r["held_out"] for r in rows]), ("other folders", [not r["held_out"] for r in rows])):
        index = np.flatnonzero(mask)
        for label, pick in (("tracked", lambda i: 0), ("level model", lambda i: chosen[i])):
            means = {key: 100 * np.mean([rows[i]["thinned"][pick(i)][key] for i in index]) for key in ("beat", "downbeat", "meter")}
            print(f"{name} ({len(index)}), {label}: beat F1 {means['beat']:.1f}, downbeat F1 {means['downbeat']:.1f}, "
                  f"meter {means['meter']:.1f} %")
    if args.store:
        from pianotx.training.beats import update_decode

        model = fit_level_model(features, classes, c=args.c, margin=args.margin)
        update_decode(args.store, {"level_model": model})
        print(f"stored in {args.store}; sha256 {hashlib.sha256(args.store.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
