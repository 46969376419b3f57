"""Print what ``pianotx listen --stdin`` delivers on recordings streamed at real-time pace.

Run: ``python bench/listen_realtime.py DATA [--limit N] [--parallel K] [--block-ms 10]``.
Each piece's audio is written to a ``pianotx listen --stdin --realtime --json -o take.mid``
process as 16-bit PCM, one block every ``block-ms`` of wall time (as a sound card delivers
it), while the JSON lines are read as they come. Measured per piece and overall:

* note_on latency, end to end: the wall time a note_on line arrives minus the wall time the
  audio of its onset was written to the pipe (look-ahead, compute, pipes, process
  scheduling: everything a user waits for), median and 95th percentile; also the
  ``latency_s`` the command reports itself;
* the blocks dropped (the command falling behind) and the real-time factor it prints;
* onset F1 of the MIDI file it wrote against offline transcription of the same audio, and
  the note metrics of both against the reference (``pianotx eval``'s conventions).

``--parallel K`` streams K pieces at once (each at real-time pace, so K times the load);
the machine's other load counts too, so say what else ran when quoting the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from pianotx import load_model
from pianotx.api import transcribe_samples
from pianotx.audio.load import load_audio
from pianotx.config import SAMPLE_RATE
from pianotx.data.readers import load_reference
from pianotx.evaluation.evaluate import load_items
from pianotx.evaluation.metrics import note_scores
from pianotx.music.midi import read_midi


def stream(audio: np.ndarray, out: Path, block_ms: float, args: list[str]) -> dict:
    """Run ``pianotx listen`` on ``audio`` paced at real time; its lines, timings and file."""
    command = [sys.executable, "-m", "pianotx", "listen", "--stdin", "--realtime", "--json",
               "-o", str(out), "--overwrite", *args]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    if b"listening" not in proc.stderr.readline():
        raise SystemExit(f"pianotx listen did not start: {proc.stderr.read().decode()}")
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    block = int(SAMPLE_RATE * block_ms / 1000) * 2
    start = [0.0]

    def write() -> None:
        start[0] = time.perf_counter()
        for k, i in enumerate(range(0, len(pcm), block)):
            delay = start[0] + k * block_ms / 1000 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            proc.stdin.write(pcm[i:i + block])
            proc.stdin.flush()
        proc.stdin.close()

    errors: list[bytes] = []  # drained as it comes: a full pipe would stall the command
    threads = [threading.Thread(target=write), threading.Thread(target=lambda: errors.extend(proc.stderr))]
    for thread in threads:
        thread.start()
    lines = []
    for raw in proc.stdout:
        lines.append((time.perf_counter(), json.loads(raw)))
    for thread in threads:
        thread.join()
    err = b"".join(errors).decode()
    proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"pianotx listen failed: {err}")
    ons = [(t, e) for t, e in lines if e["type"] == "note_on"]
    # the onset's audio was written at start + time_s (within one block)
    wall = [t - (start[0] + e["time_s"]) for t, e in ons]
    return {"wall": wall, "own": [e["latency_s"] for _, e in ons], "summary": err.strip().splitlines()[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--block-ms", type=float, default=10.0)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=1, help="pianotx listen --threads")
    args = parser.parse_args()
    items = load_items(args.data, limit=args.limit)
    extra = ["--threads", str(args.threads), *(["--model", args.model] if args.model else [])]
    folder = Path(tempfile.mkdtemp(prefix="listen-rt-"))

    def one(k_item):
        k, item = k_item
        audio = load_audio(item.audio_path)
        return item, audio, stream(audio, folder / f"{k}.mid", args.block_ms, extra)

    model = load_model(args.model, device="cpu")
    walls, owns, agree, live_m, off_m = [], [], [], [], []
    print("| piece | notes | wall latency median / p95 (ms) | reported median (ms) | dropped / RTF | "
          "F1 vs offline | onset F1 live / offline |")
    print("|---|---|---|---|---|---|---|")
    with ThreadPoolExecutor(args.parallel) as pool:  # stream everything first, then score
        streamed = list(pool.map(one, enumerate(items)))
    for k, (item, audio, got) in enumerate(streamed):
        live = read_midi(folder / f"{k}.mid").notes
        offline = transcribe_samples(audio, model=model).notes
        ref = load_reference(item)[0]
        metrics = ("note", "note_offset")
        lm, om = note_scores(ref, live, metrics=metrics), note_scores(ref, offline, metrics=metrics)
        walls += got["wall"]
        owns += got["own"]
        agree.append(note_scores(offline, live, metrics=("note",))["note/f1"])
        live_m.append(lm)
        off_m.append(om)
        wall = np.asarray(got["wall"]) * 1000
        print(f"| {item.title[:40]} | {len(live)} | {np.median(wall):.0f} / "
              f"{np.percentile(wall, 95):.0f} | {np.median(got['own']) * 1000:.0f} | "
              f"{got['summary'].split('; ', 1)[-1]} | {agree[-1]:.3f} | "
              f"{lm['note/f1']:.3f} / {om['note/f1']:.3f} |", flush=True)
    wall = np.asarray(walls) * 1000
    print(f"\n{len(items)} pieces, {len(walls)} note_on lines, {args.parallel} streamed at once")
    print(f"note_on latency, wall clock: median {np.median(wall):.0f} ms, p95 "
          f"{np.percentile(wall, 95):.0f} ms, max {wall.max():.0f} ms; reported by the command: "
          f"median {np.median(owns) * 1000:.0f} ms")
    print(f"onset F1 of live against offline notes: mean {np.mean(agree):.3f}, min {np.min(agree):.3f}")
    for key, name in (("note/f1", "onset F1"), ("note_offset/f1", "onset+offset F1")):
        print(f"{name} against the reference (mean over pieces, %): live "
              f"{100 * np.mean([m[key] for m in live_m]):.1f}, offline "
              f"{100 * np.mean([m[key] for m in off_m]):.1f}")


if __name__ == "__main__":
    main()
