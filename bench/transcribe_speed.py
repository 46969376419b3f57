"""End-to-end transcription speed and peak memory for 30 s, 5 min and 60 min recordings.

Each run is a fresh ``pianotx transcribe`` process (start, model load, streamed audio
decode, inference, decoding, MIDI write), timed from outside; peak RSS is the child's
``ru_maxrss``. The recordings are the bundled example (examples/example.flac, 44.1 kHz)
tiled to length with a different gain per repeat, written once as FLAC into bench/.cache.

Usage: python bench/transcribe_speed.py [--model NAME | --checkpoint PATH] [--engine auto]
                                         [--lengths 30,300,3600] [--device cpu] [--threads N]
                                         [--repeat 3]
Prints a markdown table: machine, length, wall s, real-time factor, peak RSS.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"


def recording(seconds: int) -> Path:
    """The example tiled to ``seconds`` (44.1 kHz mono FLAC), made once."""
    path = CACHE / f"example-{seconds}s.flac"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    piece, rate = sf.read(ROOT / "examples" / "example.flac", dtype="float32")
    need = seconds * rate
    tmp = path.with_suffix(".part.flac")
    with sf.SoundFile(tmp, "w", rate, 1, subtype="PCM_16") as out:
        written, k = 0, 0
        while written < need:
            part = piece[: need - written] * (0.6 + 0.4 * ((k * 7) % 5) / 4)
            out.write(part)
            written, k = written + len(part), k + 1
    tmp.rename(path)
    return path


def run_one(args: list[str]) -> None:
    """Child mode: run the command, then print its wall time and peak RSS (bytes)."""
    start = time.perf_counter()
    code = subprocess.call(args)
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"{code} {wall:.3f} {rss}")


def measure(audio: Path, model_args: list[str], device: str, env: dict) -> tuple[float, int]:
    """Wall seconds and peak RSS bytes of one fresh ``pianotx transcribe`` process."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pianotx", "transcribe", str(audio), "-o",
                   str(Path(tmp) / "out.mid"), "--device", device, "-q", *model_args]
        out = subprocess.run([sys.executable, __file__, "--child", *command], env=env,
                             capture_output=True, text=True, check=True).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"transcription failed: {' '.join(command)}")
    return float(out[1]), int(out[2])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        run_one(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--checkpoint")
    parser.add_argument("--lengths", default="30,300,3600")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--engine", default="auto", help="auto, torch or onnx")
    parser.add_argument("--repeat", type=int, default=3, help="runs per length; the median is shown")
    args = parser.parse_args()
    model_args = (["--model", args.model] if args.model else []) + (
        ["--checkpoint", args.checkpoint] if args.checkpoint else []) + ["--engine", args.engine]
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
          f"device {args.device}; engine {args.engine}; threads {args.threads or 'default'}; "
          f"model {args.model or args.checkpoint or 'default'}; {time.strftime('%Y-%m-%d')}")
    print(f"| audio | wall s (median of {args.repeat}) | real-time factor | peak RSS MB |")
    print("|---|---|---|---|")
    for seconds in (int(x) for x in args.lengths.split(",")):
        runs = sorted(measure(recording(seconds), model_args, args.device, env)
                      for _ in range(args.repeat))
        wall, rss = runs[len(runs) // 2][0], max(r[1] for r in runs)
        print(f"| {seconds} s | {wall:.2f} | {seconds / wall:.1f}x | {rss / 1e6:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
