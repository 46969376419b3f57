"""Print where a model's notes go wrong: onset recall and precision by octave, recall by
reference velocity, and what lies near the reference notes it misses below C3.

Run: ``python bench/misses.py DATA [--model NAME|--checkpoint PATH] [--split S] [--limit N]``.
Each piece is transcribed once with the model's stored decoding; notes are matched as
mir_eval's onset-only note metric matches them (50 ms, same pitch within 50 cents).
For each missed reference note under MIDI 48 it reports: an estimate of the same key 50-300
ms away, one 1, 2, 12, 19 or 24 semitones away within 50 ms, or nothing, and the highest
onset and frame probabilities around it (50 ms either side; frame: to 150 ms after).
"""

from __future__ import annotations

import argparse
from collections import Counter

import mir_eval
import numpy as np

from pianotx import load_model
from pianotx.audio.load import load_audio
from pianotx.data.readers import load_reference
from pianotx.engine.decode import apply_pedal_mode, decode_rolls
from pianotx.engine.torch_engine import predict_rolls
from pianotx.evaluation.evaluate import load_items
from pianotx.evaluation.metrics import ONSET_TOLERANCE_S, note_arrays

BASS = 48  # C3: reference notes below it get the detailed look
NEAR_INTERVALS = (1, 2, 12, 19, 24)


def matched(ref, est) -> tuple[np.ndarray, np.ndarray]:
    """Boolean hit masks of reference and estimated notes (onset-only matching)."""
    hit_ref, hit_est = np.zeros(len(ref), bool), np.zeros(len(est), bool)
    if ref and est:
        (ref_iv, ref_hz, _), (est_iv, est_hz, _) = note_arrays(ref), note_arrays(est)
        pairs = mir_eval.transcription.match_notes(
            ref_iv, ref_hz, est_iv, est_hz, onset_tolerance=ONSET_TOLERANCE_S, offset_ratio=None)
        for r, e in pairs:
            hit_ref[r], hit_est[e] = True, True
    return hit_ref, hit_est


def octave(pitch: int) -> int:
    """Scientific octave number: C4 = 60 is 4, A0 = 21 is 0."""
    return pitch // 12 - 1


def miss_kind(note, est) -> str:
    """What the estimate holds near a missed reference note."""
    if any(e.pitch == note.pitch and abs(e.onset_s - note.onset_s) < 0.3 for e in est):
        return "same key 50-300 ms away"
    near = sorted({abs(e.pitch - note.pitch) for e in est
                   if abs(e.onset_s - note.onset_s) < 0.05
                   and abs(e.pitch - note.pitch) in NEAR_INTERVALS})
    return f"{'/'.join(map(str, near))} semitones away" if near else "nothing near"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--model", default=None)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--split", default="all")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--onset-threshold", type=float, default=None,
                        help="decode at this onset threshold instead of the model's")
    args = parser.parse_args()
    model = load_model(args.checkpoint or args.model or "fcnn-notes", engine="torch")
    decode = model.decode_config
    if args.onset_threshold is not None:
        import dataclasses

        decode = dataclasses.replace(decode, onset_threshold=args.onset_threshold)
    items = load_items(args.data, split=None if args.split == "all" else args.split,
                       limit=args.limit)
    octaves: dict[int, np.ndarray] = {}  # octave -> [ref, ref hit, est, est hit]
    velocity = np.zeros((8, 2))
    kinds: Counter = Counter()
    peaks: dict[str, list[float]] = {"missed onset": [], "missed frame": [], "hit onset": []}
    for item in items:
        probs = predict_rolls(model, load_audio(item.audio_path))
        notes, pedals = decode_rolls(probs, config=decode, refine=model.model_config.soft_frames > 0,
                                     frame_rate=model.feature_config.frame_rate)
        est = apply_pedal_mode(notes, pedals, mode=decode.pedal).notes
        ref = list(load_reference(item)[0])
        hit_ref, hit_est = matched(ref, est)
        for n, h in zip(ref, hit_ref):
            row = octaves.setdefault(octave(n.pitch), np.zeros(4))
            row[0] += 1
            row[1] += h
            velocity[min(n.velocity // 16, 7)] += (1, h)
            if n.pitch < BASS and "onset" in probs:
                f, k = int(round(n.onset_s * model.feature_config.frame_rate)), n.pitch - 21
                onset = float(probs["onset"][max(f - 5, 0): f + 6, k].max())
                if h:
                    peaks["hit onset"].append(onset)
                    continue
                peaks["missed onset"].append(onset)
                peaks["missed frame"].append(float(probs["frame"][max(f - 5, 0): f + 16, k].max()))
                kinds[miss_kind(n, est)] += 1
        for n, h in zip(est, hit_est):
            row = octaves.setdefault(octave(n.pitch), np.zeros(4))
            row[2] += 1
            row[3] += h
    print(f"{len(items)} pieces, {model.name}, decoding {decode}")
    print("\n| octave | reference notes | onset recall | onset precision |\n|---|---|---|---|")
    for o in sorted(octaves):
        ref_n, ref_hit, est_n, est_hit = octaves[o]
        print(f"| {o} | {int(ref_n)} | {100 * ref_hit / max(ref_n, 1):.1f} "
              f"| {100 * est_hit / max(est_n, 1):.1f} |")
    print("\n| reference velocity | notes | onset recall |\n|---|---|---|")
    for v, (n, h) in enumerate(velocity):
        if n:
            print(f"| {16 * v}-{16 * v + 15} | {int(n)} | {100 * h / n:.1f} |")
    print(f"\nMissed reference notes below MIDI {BASS}:")
    for kind, count in kinds.most_common():
        print(f"  {kind}: {count}")
    for name, values in peaks.items():
        if values:
            q = np.percentile(values, [25, 50, 75])
            print(f"  {name} probability, quartiles: {q[0]:.2f} {q[1]:.2f} {q[2]:.2f}")


if __name__ == "__main__":
    main()
