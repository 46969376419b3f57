"""Play scores with known beats as performances: extra training data for the beat tracker.

Usage: python scripts/render_score_performances.py OUT.pkl [--per-score 2] [--asap-per-score 3]
           [--asap DIR ...] [--jobs 2] [--seed 0] [--overwrite]

Two sources, each score played ``--per-score`` times by ``pianotx.training.scoreplay.play``
(tempo, timing, loudness and, for a melody alone, a left hand drawn at random):

- the scores in music21's corpus (``pip install music21``; its wheel holds them: folk tunes
  from the Essen collection, O'Neill's and Ryan's Mammoth, Bach chorales, string quartets
  by Haydn, Mozart and Beethoven, songs and piano pieces), their beats from each bar's time
  signature (compound metres beat in dotted values, as ASAP annotates them); Renaissance and
  earlier music and the corpus's Chopin, Schubert and Mozart K. 331 and K. 545 are left out;
- ASAP's score MIDIs (``midi_score.mid`` and its annotations) of the tuning part's training
  folders (not the held-out ones, never the test part).

Writes a pickle of ``pianotx.training.beats.Piece`` for ``train_beat_tracker.py --extra``.
Progress lines go to stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
import pickle
import random
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from pianotx.data.asap import asap_rows, held_out, read_annotations
from pianotx.files import write_bytes_atomic
from pianotx.music.midi import read_midi
from pianotx.score.meter import meter_of
from pianotx.training.beats import beat_span
from pianotx.training.scoreplay import ScoreGrid, beat_length, play

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "midi"
SIGNATURES = {"2/2", "2/4", "3/2", "3/4", "3/8", "4/4", "4/8", "6/8", "9/8", "12/8", "6/4", "6/16",
              "12/16", "9/16", "3/16", "2/8", "4/2", "5/4", "5/8", "7/8"}
LEFT_OUT = ("palestrina", "trecento", "josquin", "ciconia", "luca", "lusitano", "monteverdi",
            "schoenberg", "webern", "nottingham", "leadsheet", "demos", "theoryexercises",
            "chopin", "schubert", "k331", "k545")
# corpus folder -> (share of its files read, scores read from each file); others: every file, one score
SAMPLED = {"bach": (0.4, 1), "essenfolksong": (1.0, 25), "ryansmammoth": (0.5, 1),
           "oneills1850": (1.0, 15), "airdsairs": (1.0, 15), "miscfolk": (1.0, 15)}


def corpus_files() -> list[tuple[str, int]]:
    from music21 import corpus
    paths = [str(p) for p in corpus.getPaths()]
    rng, out = random.Random(0), []
    for path in paths:
        relative = path.lower().split("corpus/", 1)[-1]
        folder = relative.split("/")[0]
        if any(word in relative for word in LEFT_OUT):
            continue
        if path.endswith(".krn") and path[:-4] + ".mxl" in paths:
            continue
        share, limit = SAMPLED.get(folder, (1.0, 1))
        if share == 1.0 or rng.random() < share:
            out.append((path, limit))
    return out


def bar_grid(score) -> tuple[list, list, list] | None:
    """Beats, downbeats and signatures (quarter notes) from the first part's bars."""
    from music21 import stream
    part = score.parts[0] if score.hasPartLikeStreams() else score
    bars = list(part.getElementsByClass(stream.Measure))
    if len(bars) < 4:
        return None
    beats, downbeats, signatures, signature = [], [], [], None
    for i, bar in enumerate(bars):
        if bar.timeSignature is not None:
            signature = bar.timeSignature.ratioString
            if signature not in SIGNATURES:
                return None
            if not signatures or signatures[-1][1] != signature:
                signatures.append((float(bar.offset), signature))
        if signature is None:
            return None
        count, length = meter_of(signature)[0], beat_length(signature)
        start, actual = float(bar.offset), float(bar.duration.quarterLength)
        first = start + actual - count * length if i == 0 and actual < count * length - 1e-6 else start
        for k in range(count):
            at = first + k * length
            if start - 1e-6 <= at < start + actual - 1e-6:
                beats.append(at)
                downbeats += [at] if k == 0 else []
    if len(beats) < 8:
        return None
    return beats, downbeats, [(beats[0], signatures[0][1]), *signatures[1:]]


def score_notes(score) -> np.ndarray:
    rows = []
    for note in score.stripTies().flatten().notes:
        if not note.duration.isGrace:
            rows += [(float(note.offset), max(float(note.duration.quarterLength), 0.125), p.midi)
                     for p in note.pitches]
    return np.array(sorted(rows), dtype=float).reshape(-1, 3)


def read_corpus_file(job: tuple[str, int]) -> list[tuple[str, ScoreGrid]]:
    from music21 import converter, stream
    path, limit = job
    try:
        parsed = converter.parse(path)
    except Exception:  # the corpus holds files music21 itself cannot read
        return []
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    random.Random(path.split("corpus/")[-1]).shuffle(scores)
    out = []
    for k, score in enumerate(scores[:limit]):
        try:
            grid, notes = bar_grid(score), score_notes(score)
        except Exception:
            continue
        if grid is not None and len(notes) >= 16:
            beats, downbeats, signatures = grid
            name = f"music21:{path.split('corpus/')[-1]}#{k}"
            out.append((name, ScoreGrid(notes, np.array(beats), np.array(downbeats), tuple(signatures))))
    return out


def asap_scores(roots: list[Path]) -> list[tuple[str, ScoreGrid]]:
    out, seen = [], set()
    for root in roots:
        for row in asap_rows(root, "tuning"):
            folder = row["folder"]
            if held_out(folder) or folder in seen or not row.get("midi_score"):
                continue
            seen.add(folder)
            annotations = read_annotations(root / row["midi_score_annotations"])
            notes = np.array(sorted((n.onset_s, n.offset_s - n.onset_s, n.pitch)
                                    for n in read_midi(root / row["midi_score"]).notes), dtype=float)
            if len(annotations.beats_s) >= 8 and len(notes) >= 16:
                out.append((f"asap:{folder}", ScoreGrid(notes, annotations.beats_s, annotations.downbeats_s,
                                                        annotations.signatures)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-score", type=int, default=2)
    parser.add_argument("--asap-per-score", type=int, default=3)
    parser.add_argument("--asap", type=Path, action="append")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    args = parser.parse_args()
    if args.out.exists() and not args.overwrite:
        sys.exit(f"error: {args.out} exists: give --overwrite to replace it")
    if importlib.util.find_spec("music21") is None:
        sys.exit("error: reading the scores needs music21, which is not installed: pip install music21")
    files = corpus_files()
    print(f"music21 corpus: {len(files)} files", flush=True)
    scores = []
    with Pool(args.jobs) as pool:
        for i, found in enumerate(pool.imap_unordered(read_corpus_file, files)):
            scores += found
            if i % 100 == 0:
                print(f"{i} files read, {len(scores)} scores", flush=True)
    per_score = {name: args.per_score for name, _ in scores}
    asap = asap_scores(args.asap or [SHARED / "asap", SHARED / "asap-maestro"])
    per_score |= {name: args.asap_per_score for name, _ in asap}
    pieces = []
    for index, (name, score) in enumerate(sorted(scores + asap, key=lambda item: item[0])):
        pieces += [play(score, np.random.default_rng([args.seed, index, k])) for k in range(per_score[name])]
    write_bytes_atomic(args.out, pickle.dumps(pieces), overwrite=args.overwrite)
    hours = sum(map(beat_span, pieces)) / 3600
    print(f"{len(scores)} corpus scores, {len(asap)} ASAP scores: {len(pieces)} performances "
          f"({hours:.1f} h) in {args.out}")


if __name__ == "__main__":
    main()
