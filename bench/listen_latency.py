"""Print what live transcription costs against offline: look-ahead, compute, and accuracy.

Run: ``python bench/listen_latency.py DATA [--limit N] [--block-ms 10] [--keep-frames 4]``.
Each piece's audio is fed to a :class:`pianotx.live.session.LiveSession` in blocks of
``block-ms`` (as ``pianotx listen`` reads them), as fast as it goes. Printed per piece and
overall: the note_on look-ahead (audio time consumed when a note_on is sent minus its onset
time: what a real-time stream waits for the audio), the compute time per block (median and
95th percentile: what a real-time stream adds to that), the real-time factor, onset F1 of
the live notes against offline transcription of the same audio, and both against the
reference. At real-time pace the latency of a note_on is its look-ahead plus the compute
of the block that settles it (plus the audio driver's buffer).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pianotx import load_model
from pianotx.api import transcribe_samples
from pianotx.audio.load import load_audio
from pianotx.data.readers import load_reference
from pianotx.evaluation.evaluate import load_items
from pianotx.evaluation.metrics import note_scores
from pianotx.live.session import LiveSession, events_to_notes


def onset_f1(ref, est) -> float:
    return note_scores(ref, est, metrics=("note",))["note/f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--block-ms", type=float, default=10.0)
    parser.add_argument("--keep-frames", type=int, default=4)
    parser.add_argument("--engine", default="auto")
    args = parser.parse_args()
    model = load_model(engine=args.engine, device="cpu")
    block = int(16 * args.block_ms)
    looks, costs, rows = [], [], []
    for item in load_items(args.data, limit=args.limit):
        audio = load_audio(item.audio_path)
        session, events, seen_at = LiveSession(model, keep_frames=args.keep_frames), [], []
        started = time.perf_counter()
        for i in range(0, len(audio), block):
            tic = time.perf_counter()
            new = session.feed(audio[i:i + block])
            costs.append(time.perf_counter() - tic)
            events += new
            seen_at += [session.seen / 16000] * len(new)
        events += session.finish()
        seen_at += [session.seen / 16000] * (len(events) - len(seen_at))
        compute = time.perf_counter() - started
        look = [s - e.time_s for e, s in zip(events, seen_at) if e.kind == "note_on"]
        looks += look
        live = events_to_notes(events).notes
        offline = transcribe_samples(audio, model=model).notes
        ref = load_reference(item)[0]
        rows.append((item.title[:28], np.median(look), len(audio) / 16000 / compute,
                     onset_f1(offline, live), onset_f1(ref, live), onset_f1(ref, offline)))
    print(f"{'piece':<28} {'look-ahead ms':>13} {'x real time':>11} {'F1 vs offline':>13} "
          f"{'F1 live':>7} {'F1 offline':>10}")
    for title, look, rtf, vs, f_live, f_off in rows:
        print(f"{title:<28} {1000 * look:13.0f} {rtf:11.1f} {vs:13.4f} {f_live:7.3f} {f_off:10.3f}")
    mean = np.mean([r[3:] for r in rows], axis=0)
    print(f"{'mean / all notes':<28} {1000 * np.median(looks):13.0f} {np.mean([r[2] for r in rows]):11.1f} "
          f"{mean[0]:13.4f} {mean[1]:7.3f} {mean[2]:10.3f}")
    print(f"note_on look-ahead: median {1000 * np.median(looks):.0f} ms, 95th percentile "
          f"{1000 * np.percentile(looks, 95):.0f} ms; compute per {args.block_ms:g} ms block: "
          f"median {1000 * np.median(costs):.2f} ms, 95th percentile {1000 * np.percentile(costs, 95):.2f} ms")


if __name__ == "__main__":
    main()
