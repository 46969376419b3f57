"""Print how the onset decoding options change note-onset F1: the onset threshold, its rise
per octave below middle C (DecodeConfig.onset_bass_slope) and frame-started notes
(DecodeConfig.frame_note_min_s), with leave-one-piece-out estimates of what choosing them
is worth.

Run: ``python bench/decode_options.py DATA [--model NAME|--checkpoint PATH] [--split S]
[--limit N] [--thresholds 0.45,0.5,0.55,0.6,0.65] [--slopes 0,0.05,0.1,0.15,0.2]
[--frame-notes 0,0.1]``. Each piece is predicted once and decoded at every (onset
threshold, bass slope, frame-note length) point with the model's other thresholds. Prints
the mean onset F1 of each point; then, for each family (flat: slope 0 and no frame notes;
raised: any slope, no frame notes; all), the point chosen on the other pieces scored on
each piece left out, averaged: what the options chosen on this data are worth on pieces
they were not chosen on; and onset recall / precision by register at each family's best.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools

import numpy as np

from pianotx import load_model
from pianotx.audio.load import load_audio
from pianotx.data.readers import load_reference
from pianotx.engine.decode import extract_notes
from pianotx.engine.torch_engine import predict_rolls
from pianotx.evaluation.evaluate import load_items
from pianotx.evaluation.metrics import note_arrays

REGISTERS = ((21, 35, "A0-B1"), (36, 47, "C2-B2"), (48, 59, "C3-B3"), (60, 108, "C4-C8"))


def matched_by_key(ref, est) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Onset matches (50 ms, same pitch) per MIDI pitch 0-127, as mir_eval counts them."""
    import mir_eval

    out = np.zeros(128, int)
    (ri, rp, _), (ei, ep, _) = note_arrays(ref), note_arrays(est)
    ref_keys = np.array([n.pitch for n in ref], int)
    est_keys = np.array([n.pitch for n in est], int)
    for pitch in set(ref_keys.tolist()) & set(est_keys.tolist()):
        r, e = ref_keys == pitch, est_keys == pitch
        out[pitch] = len(mir_eval.transcription.match_notes(
            ri[r], rp[r], ei[e], ep[e], onset_tolerance=0.05, offset_ratio=None))
    return out


def f1(correct: np.ndarray, n_est: np.ndarray, n_ref: np.ndarray) -> np.ndarray:
    precision = np.divide(correct, n_est, out=np.zeros(correct.shape), where=n_est > 0)
    recall = np.divide(correct, n_ref, out=np.zeros(correct.shape), where=n_ref > 0)
    total = precision + recall
    return np.divide(2 * precision * recall, total, out=np.zeros(correct.shape), where=total > 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--model", default=None)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--split", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--thresholds", default="0.45,0.5,0.55,0.6,0.65")
    parser.add_argument("--slopes", default="0,0.05,0.1,0.15,0.2")
    parser.add_argument("--frame-notes", default="0,0.1")
    args = parser.parse_args()
    model = load_model(args.checkpoint or args.model, device="cpu", engine="torch")
    pairs = list(itertools.product([float(v) for v in args.thresholds.split(",")],
                                   [float(v) for v in args.slopes.split(",")],
                                   [float(v) for v in args.frame_notes.split(",")]))
    items = load_items(args.data, split=args.split, limit=args.limit)
    # matches, estimates per pair, piece and MIDI pitch; references per piece and pitch
    correct = np.zeros((len(pairs), len(items), 128))
    n_est = np.zeros_like(correct)
    n_ref = np.zeros((len(items), 128))
    for p, item in enumerate(items):
        probs = predict_rolls(model, load_audio(item.audio_path))
        ref, _ = load_reference(item)
        n_ref[p] = np.bincount([n.pitch for n in ref], minlength=128)
        for k, (threshold, slope, frame_notes) in enumerate(pairs):
            decode = dataclasses.replace(model.decode_config, onset_threshold=threshold,
                                         onset_bass_slope=slope, frame_note_min_s=frame_notes)
            est = extract_notes(probs, config=decode, frame_rate=100,
                                refine=model.model_config.soft_frames > 0)
            n_est[k, p] = np.bincount([n.pitch for n in est], minlength=128)
            correct[k, p] = matched_by_key(ref, est)
    piece_f1 = f1(correct.sum(-1), n_est.sum(-1), n_ref.sum(-1))  # (pairs, pieces)
    mean = piece_f1.mean(1)
    print(f"{len(items)} pieces; mean note-onset F1 (%) by onset threshold, its rise per "
          "octave below middle C and frame-started notes (minimum run, s)")
    columns = list(dict.fromkeys((s, f) for _, s, f in pairs))
    print("| threshold | " + " | ".join(f"slope {s}, frame notes {f}" for s, f in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for threshold in dict.fromkeys(t for t, _, _ in pairs):
        row = [f"{100 * mean[k]:.2f}" for k, (t, _, _) in enumerate(pairs) if t == threshold]
        print(f"| {threshold} | " + " | ".join(row) + " |")
    flat = [k for k, (_, s, f) in enumerate(pairs) if s == 0 and f == 0]
    raised = [k for k, (_, s, f) in enumerate(pairs) if f == 0]
    every = list(range(len(pairs)))
    for label, allowed in (("flat", flat), ("raised", raised), ("all", every)):
        held = []
        for p in range(len(items)):
            others = np.delete(piece_f1[allowed], p, axis=1).mean(1)
            held.append(piece_f1[allowed[int(np.argmax(others))], p])
        best = allowed[int(np.argmax(mean[allowed]))]
        print(f"{label}: best point {pairs[best]} {100 * mean[best]:.2f}; chosen on the other "
              f"pieces, scored on each left out: {100 * np.mean(held):.2f}")
        for lo, hi, name in REGISTERS:
            c = correct[best, :, lo:hi + 1].sum()
            e, r = n_est[best, :, lo:hi + 1].sum(), n_ref[:, lo:hi + 1].sum()
            print(f"  {name}: recall {100 * c / max(r, 1):.1f} precision {100 * c / max(e, 1):.1f} "
                  f"({int(r)} reference notes)")


if __name__ == "__main__":
    main()
