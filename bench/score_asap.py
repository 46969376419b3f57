"""The score chain's analysis on ASAP: beat and downbeat F-measure, meter and key accuracy.

ASAP (``../shared/data/midi/asap``) holds human piano performances (MIDI) annotated with beats,
downbeats, time signatures and key signatures. Pieces (folders) are split deterministically by a
hash of the folder name into a tuning part (defaults of the chain chosen on it) and a test part.

Usage: python bench/score_asap.py [ASAP_DIR ...] [--part test|tuning|check] [--every N]
       [--tracker learned|dp] [--set NAME=VALUE] [--weights FILE] [--note-weights FILE]
       [--oracle-beats] [--oracle-activations] [--given-meter] [--diagnose] [--baselines] [--jobs N]
Needs the extras score and eval (``pip install 'pianotx[score,eval]'``: partitura, mir_eval).
Prints a Markdown table row per part. ``--every N`` keeps every N-th performance (sorted by path);
``--jobs N`` scores N performances at a time (processes; the same figures, N times sooner).
``--set`` passes beat-tracker options for tuning: for the learned tracker min_bpm, max_bpm,
transition_lambda, bar_log_prior (three values, comma-separated); for ``--tracker dp``
centre_bpm, tightness, window_s, spread_octaves. The learned tracker was trained on the tuning
part without its ``check`` folders, on which its decoding was tuned.

``--oracle-activations`` decodes the annotated beats themselves (as the network's training targets,
:func:`pianotx.score.rhythm.beat_targets`) with the learned tracker's DBN and its stored settings:
the decoder's ceiling. ``--given-meter`` gives the learned tracker each performance's first
annotated time signature, as a user who knows it would (``pianotx score --time-signature``;
3/8 as 3/4, 2/2 as 2/4, 6/4 as 6/8: the same bars); a signature the score does not write
(5/4, 24/16 ...) is found as usual; meter accuracy is then right by construction wherever
one was given. ``--diagnose`` adds a row of beat precision and recall and the beat F1 at
any metrical level (the best of the annotated beats, twice as many, every second or every third
one, each phase): where a tracker's errors are its metrical level and where they are local; the
share of annotated beats at which the meter in force is the tracker's (time-signature changes
count), the downbeat F1 of the performances whose meter changes, and the share of annotated
beats at which the key signature in force is the one found (key changes count), beside the
same share for the home key held throughout.

Metrics: beat and downbeat F-measure (mir_eval.beat.f_measure, 70 ms window, first 5 s trimmed
as mir_eval does), averaged over performances; meter accuracy (beats per bar and simple/compound
beat, e.g. 6/8 = two compound beats; 2/4 and 2/2 count as the same); key accuracy (the key
signature, sharps or flats, of the first annotated key).
"""

from __future__ import annotations

import argparse
import functools
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from pianotx.data.asap import PARTS, asap_rows, load_performance
from pianotx.evaluation.beats import any_level_f_measure, beat_f_measure, beat_precision_recall
from pianotx.score.chain import TRACKERS, analyse, check_notes
from pianotx.score.key import track_keys
from pianotx.score.dbn import track_bars
from pianotx.score.meter import TIME_SIGNATURES, beat_division, downbeats, estimate_meter, meter_of
from pianotx.score.rhythm import FPS, beat_targets
from pianotx.score.tracker import bar_meter, dbn_arguments, decode_settings

DEFAULT_ASAP = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi" / "asap"


def in_force(starts, times: np.ndarray) -> np.ndarray:
    """Index of the change in force at each time (``starts``: increasing start times; the
    first also stands before its start)."""
    return np.clip(np.searchsorted(starts, times + 1e-6, side="right") - 1, 0, len(starts) - 1)


def meter_at_beats(truth, beats_s: np.ndarray, meter) -> float:
    """The share of annotated beats at which the meter in force (bar length and division, as
    the annotated time signatures change) is the tracker's there (its run of bars at the
    nearest tracked beat)."""
    starts = np.array([time_s for time_s, _ in truth.signatures] or [-np.inf])
    annotated = [meter_of(signature) for _, signature in truth.signatures] or [meter_of(truth.signature)]
    nearest = np.clip(np.searchsorted(beats_s, truth.beats_s), 0, len(beats_s) - 1)
    runs = meter.runs or ((0, meter.beats_per_bar),)
    run_of = np.clip(np.searchsorted([start for start, _ in runs], nearest, side="right") - 1, 0, len(runs) - 1)
    return float(np.mean([annotated[k] == (runs[r][1], meter.division)
                          for k, r in zip(in_force(starts, truth.beats_s), run_of)]))


def key_at_beats(truth, keys) -> float:
    """The share of annotated beats at which the key signature in force (as the annotated
    keys change) is the estimated one there (``keys``: ``[(time_s, Key)]``, the first
    standing from the start)."""
    annotated = truth.keys or ((-np.inf, truth.fifths),)
    found = np.array([key.fifths for _, key in keys])[in_force([t for t, _ in keys], truth.beats_s)]
    right = np.array([fifths for _, fifths in annotated])[in_force([t for t, _ in annotated], truth.beats_s)] == found
    return float(np.mean(right))


def oracle_track(truth, options: dict):
    """Beats and bars (:class:`~pianotx.score.dbn.BarTrack`) decoded by the learned tracker's
    DBN from the annotated beats themselves (as training targets): the decoder's ceiling."""
    settings = decode_settings(options.get("path"), **{k: v for k, v in options.items()
                                                       if k not in ("path", "note_path")})
    n_frames = int(np.ceil(truth.beats_s[-1] * FPS)) + FPS
    targets = beat_targets(truth.beats_s, truth.downbeats_s, n_frames)
    return track_bars(targets[:, 1:], fps=FPS, bar_log_prior=settings["bar_log_prior"],
                      **dbn_arguments(settings))


def evaluate(root: Path, row: dict, options: dict, *, tracker: str = "learned",
             oracle_beats: bool = False, oracle_activations: bool = False, given_meter: bool = False) -> dict:
    """Scores of one performance; with ``oracle_beats`` the meter is found on the annotated
    beats; with ``oracle_activations`` beats and downbeats are the DBN's on the annotations;
    with ``given_meter`` the tracker is given the first annotated time signature where the
    score writes its bars."""
    performance = load_performance(root, row)
    notes, truth = performance.notes, performance.annotations
    if oracle_beats:
        beats_s, meter, keys = truth.beats_s, estimate_meter(notes, truth.beats_s), track_keys(check_notes(notes))
    elif oracle_activations:
        bars = oracle_track(truth, options)
        ordered, beats_s = check_notes(notes), bars.beats_s
        meter = bar_meter(bars.positions, bars.bar_lengths, bars.beats_per_bar, beat_division(ordered, beats_s))
        keys = track_keys(ordered)
    else:
        signature = TIME_SIGNATURES.get(meter_of(truth.signature)) if given_meter else None
        beats_s, meter, key, changes = analyse(notes, tracker=tracker, key_changes=True,
                                               time_signature=signature, **options)
        keys = [(-np.inf, key), *changes]
    key = keys[0][1]
    precision, recall = beat_precision_recall(truth.beats_s, beats_s)
    return {
        "beat_p": precision,
        "beat_r": recall,
        "beat_any": any_level_f_measure(truth.beats_s, beats_s),
        "beat_f": beat_f_measure(truth.beats_s, beats_s),
        "downbeat_f": beat_f_measure(truth.downbeats_s, downbeats(beats_s, meter)),
        "meter": float(meter_of(truth.signature) == (meter.beats_per_bar, meter.division)),
        "meter_beats": meter_at_beats(truth, beats_s, meter),
        "changes": float(len({meter_of(signature) for _, signature in truth.signatures}) > 1),
        "key": float(truth.fifths == key.fifths),
        "key_beats": key_at_beats(truth, keys),
        "key_beats_one": key_at_beats(truth, keys[:1]),
        "baseline_meter": float(meter_of(truth.signature) == (4, 2)),
        "baseline_key": float(truth.fifths == 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("asap", nargs="*", type=Path, default=[DEFAULT_ASAP],
                        help="ASAP folders (default: ASAP itself; asap-maestro may be added)")
    parser.add_argument("--part", choices=PARTS, action="append",
                        help="tuning, test, or check (the tuning folders the tracker held out)")
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--tracker", choices=TRACKERS, default="learned")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--weights", type=Path, help="the learned tracker's ONNX file (default: shipped)")
    parser.add_argument("--note-weights", type=Path, help="the note network's ONNX file (default: shipped)")
    parser.add_argument("--oracle-beats", action="store_true",
                        help="find meter and downbeats on the annotated beats (the meter stage alone)")
    parser.add_argument("--oracle-activations", action="store_true",
                        help="decode the annotated beats with the learned tracker's DBN (the decoder's ceiling)")
    parser.add_argument("--diagnose", action="store_true",
                        help="also print beat precision, recall and F1 at any metrical level")
    parser.add_argument("--baselines", action="store_true",
                        help="also print the accuracy of always answering 4/4 and no accidentals")
    parser.add_argument("--given-meter", action="store_true",
                        help="give the tracker each performance's first annotated time signature")
    parser.add_argument("--jobs", type=int, default=1, help="performances scored at a time (processes)")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    options = {name: _value(value) for name, value in (item.split("=") for item in args.set)}
    if args.weights:
        options["path"] = args.weights
    if args.note_weights:
        options["note_path"] = args.note_weights
    print("| part | tracker | pieces | performances | beat F1 | downbeat F1 | meter acc. | key acc. | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for part in args.part or ["tuning", "test"]:
        chosen = [(root, row) for root in args.asap for row in asap_rows(root, part)][:: args.every]
        started = time.perf_counter()
        score = functools.partial(_evaluate_job, options=options, tracker=args.tracker,
                                  oracle_beats=args.oracle_beats, oracle_activations=args.oracle_activations,
                                  given_meter=args.given_meter)
        if args.jobs > 1:
            with Pool(args.jobs) as pool:
                results = pool.map(score, chosen, chunksize=1)
        else:
            results = [score(job) for job in chosen]
        means = {k: 100 * np.mean([r[k] for r in results]) for k in results[0]}
        label = part + (" (annotated beats)" if args.oracle_beats else "") + (
            " (DBN on the annotations)" if args.oracle_activations else "") + (
            " (time signature given)" if args.given_meter else "")
        print(f"| {label} | {args.tracker} | {len({row['folder'] for _, row in chosen})} | {len(chosen)} | "
              f"{means['beat_f']:.1f} | {means['downbeat_f']:.1f} | {means['meter']:.1f} | "
              f"{means['key']:.1f} | {time.perf_counter() - started:.0f} |", flush=True)
        if args.diagnose:
            changing = [r["downbeat_f"] for r in results if r["changes"]]
            print(f"| {part}: beat precision {means['beat_p']:.1f}, recall {means['beat_r']:.1f}, "
                  f"F1 at any metrical level {means['beat_any']:.1f}; meter right at "
                  f"{means['meter_beats']:.1f} % of the annotated beats; downbeat F1 "
                  f"{100 * np.mean(changing) if changing else float('nan'):.1f} on the {len(changing)} "
                  "performances whose meter changes; key signature right at "
                  f"{means['key_beats']:.1f} % of the annotated beats (one key throughout: "
                  f"{means['key_beats_one']:.1f} %) | | | | | | | | |", flush=True)
        if args.baselines:
            print(f"| {part}: always 4/4, no accidentals | | | | | | {means['baseline_meter']:.1f} | "
                  f"{means['baseline_key']:.1f} | |", flush=True)


def _evaluate_job(job: tuple[Path, dict], **keywords) -> dict:
    """:func:`evaluate` of one ``(root, row)``, for a process pool."""
    return evaluate(*job, **keywords)


def _value(text: str) -> float | tuple[float, ...]:
    """``--set`` values: a number, or comma-separated numbers (``bar_log_prior=0,0,0.5``)."""
    return tuple(float(x) for x in text.split(",")) if "," in text else float(text)


if __name__ == "__main__":
    main()
