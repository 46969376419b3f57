"""End-to-end transcription speed and peak memory for 30 s, 5 min and 60 min recordings.

Each run is a fresh ``pianotx transcribe`` process (start, model load, streamed audio
decode, inference, decoding, MIDI write), timed from outside; peak RSS is the child's
``ru_maxrss``. The recordings are the bundled example (examples/example.flac, 44.1 kHz)
tiled to length with a different gain per repeat, written once as FLAC into bench/.cache.

Usage: python bench/transcribe_speed.py [--model NAME | --checkpoint PATH] [--engine auto]
                                         [--lengths 30,300,3600] [--device cpu] [--threads N]
                                         [--repeat 3]
                                         [--peer "NAME=COMMAND {audio} {outdir}"]
Prints a markdown table: machine, length, wall s, real-time factor, peak RSS. Each --peer
(another transcriber, run from its own environment, e.g.
``--peer "basic-pitch=/path/bp/bin/basic-pitch {outdir} {audio}"``) is timed the same way on
the same files in the same run, and the table gains its columns and pianotx's speed-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
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


def pianotx_command(audio: Path, outdir: Path, model_args: list[str], device: str) -> list[str]:
    return [sys.executable, "-m", "pianotx", "transcribe", str(audio), "-o",
            str(outdir / "out.mid"), "--device", device, "-q", *model_args]


def peer_command(template: str, audio: Path, outdir: Path) -> list[str]:
    return [part.format(audio=audio, outdir=outdir) for part in shlex.split(template)]


def measure(make_command, audio: Path, env: dict) -> tuple[float, int]:
    """Wall seconds and peak RSS bytes of one fresh process ``make_command(audio, outdir)``."""
    with tempfile.TemporaryDirectory() as tmp:
        command = make_command(audio, Path(tmp))
        out = subprocess.run([sys.executable, __file__, "--child", *command], env=env,
                             capture_output=True, text=True, check=True).stdout
        out = out.strip().splitlines()[-1].split()  # the last line is the child's report
    if out[0] != "0":
        raise SystemExit(f"transcription failed: {' '.join(command)}")
    return float(out[1]), int(out[2])


def median_run(make_command, audio: Path, env: dict, repeat: int) -> tuple[float, int]:
    """Median wall seconds and the largest peak RSS of ``repeat`` fresh runs."""
    runs = sorted(measure(make_command, audio, env) for _ in range(repeat))
    return runs[len(runs) // 2][0], max(r[1] for r in runs)


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
    parser.add_argument("--peer", action="append", default=[],
                        help="NAME=COMMAND with {audio} and {outdir}: another transcriber to time")
    args = parser.parse_args()
    peers = [tuple(spec.split("=", 1)) for spec in args.peer]
    model_args = (["--model", args.model] if args.model else []) + (
        ["--checkpoint", args.checkpoint] if args.checkpoint else []) + ["--engine", args.engine]
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
          f"device {args.device}; engine {args.engine}; threads {args.threads or 'default'}; "
          f"model {args.model or args.checkpoint or 'default'}; {time.strftime('%Y-%m-%d')}")
    head = f"| audio | wall s (median of {args.repeat}) | real-time factor | peak RSS MB |"
    rule = "|---|---|---|---|"
    for name, _ in peers:
        head += f" {name}: wall s | {name}: real-time factor | {name}: peak RSS MB | pianotx speed-up |"
        rule += "---|---|---|---|"
    print(head)
    print(rule)
    ours = lambda audio, outdir: pianotx_command(audio, outdir, model_args, args.device)  # noqa: E731
    for seconds in (int(x) for x in args.lengths.split(",")):
        audio = recording(seconds)
        wall, rss = median_run(ours, audio, env, args.repeat)
        row = f"| {seconds} s | {wall:.2f} | {seconds / wall:.1f}x | {rss / 1e6:.0f} |"
        for _, template in peers:
            peer_wall, peer_rss = median_run(
                lambda a, o, t=template: peer_command(t, a, o), audio, env, args.repeat)
            row += (f" {peer_wall:.2f} | {seconds / peer_wall:.1f}x | {peer_rss / 1e6:.0f} |"
                    f" {peer_wall / wall:.2f}x |")
        print(row, flush=True)


if __name__ == "__main__":
    main()
