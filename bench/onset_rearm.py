"""Print how the onset re-arm rule (DecodeConfig.onset_rearm) changes note scores.

Run: ``python bench/onset_rearm.py DATA [--model NAME|--checkpoint PATH] [--split S]
[--limit N] [--values 0,0.25,0.5,0.75]``. Each piece is predicted once and decoded at every
value with the model's other thresholds; prints mean onset F1, onset+offset F1 and the
share of same-key onsets under 100 ms apart in the output and in the reference.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from pianotx import load_model
from pianotx.audio.load import load_audio
from pianotx.data.readers import load_reference
from pianotx.engine.decode import apply_pedal_mode, decode_rolls
from pianotx.evaluation.evaluate import load_items
from pianotx.engine.torch_engine import predict_rolls
from pianotx.evaluation.metrics import note_scores
from pianotx.music.notes import extend_by_pedal


def close_repeats(notes, gap_s: float = 0.1) -> int:
    """Notes starting under ``gap_s`` after the previous onset of the same key."""
    last: dict[int, float] = {}
    count = 0
    for note in sorted(notes, key=lambda n: n.onset_s):
        if note.pitch in last and note.onset_s - last[note.pitch] < gap_s:
            count += 1
        last[note.pitch] = note.onset_s
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--model", default=None)
    parser.add_argument("--split", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--values", default="0,0.25,0.5,0.75")
    args = parser.parse_args()
    model = load_model(args.model, device="cpu", engine="torch")
    values = [float(v) for v in args.values.split(",")]
    items = load_items(args.data, split=args.split, limit=args.limit)
    totals = np.zeros((len(values), 3))
    ref_repeats = ref_notes_n = 0
    for item in items:
        probs = predict_rolls(model, load_audio(item.audio_path))
        ref, _ = load_reference(item)
        ref_repeats += close_repeats(ref)
        ref_notes_n += len(ref)
        for i, value in enumerate(values):
            decode = dataclasses.replace(model.decode_config, onset_rearm=value)
            notes, pedals = decode_rolls(probs, config=decode, frame_rate=100,
                                         refine=model.model_config.soft_frames > 0)
            notes, pedals = apply_pedal_mode(notes, pedals, mode=decode.pedal)
            heard = extend_by_pedal(notes, pedals) if pedals else notes
            scores = note_scores(ref, heard, metrics=("note", "note_offset"))
            totals[i] += (scores["note/f1"], scores["note_offset/f1"],
                          close_repeats(notes) / max(len(notes), 1))
    means = totals / len(items)
    print(f"{model.name} on {args.data} ({len(items)} pieces); reference: "
          f"{100 * ref_repeats / max(ref_notes_n, 1):.2f} % of notes re-strike a key < 100 ms")
    print("onset_rearm | onset F1 | onset+offset F1 | re-strikes < 100 ms (% of notes)")
    for value, (onset, offset, repeats) in zip(values, means):
        print(f"{value:11.2f} | {100 * onset:8.1f} | {100 * offset:15.1f} | {100 * repeats:.2f}")


if __name__ == "__main__":
    main()
