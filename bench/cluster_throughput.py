"""Print the throughput of ``pianotx transcribe --ray`` against ``--jobs N`` on one folder.

Run: ``python bench/cluster_throughput.py DIR [--jobs 2] [--repeat 1] [--address ADDRESS]``.
Each run is a fresh ``pianotx transcribe DIR -o OUT`` process into an empty OUT, timed from
outside (start-up, Ray start or join, model loads, every file); the two ways alternate.
Printed: audio hours, wall seconds, audio-hours per hour (x real time) and the ratio
``--ray`` / ``--jobs``. Use a folder of at least 30 minutes of audio; nothing else should
run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pianotx.audio.load import AUDIO_SUFFIXES, audio_seconds


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--address", default=None, help="a Ray cluster to join (default: local)")
    args = parser.parse_args()
    files = [p for p in sorted(args.folder.rglob("*")) if p.suffix.lower() in AUDIO_SUFFIXES]
    hours = sum(audio_seconds(p) or 0.0 for p in files) / 3600
    base = [sys.executable, "-m", "pianotx", "transcribe", str(args.folder), "-q"]
    ray = ["--ray", *([args.address] if args.address else []), "--jobs", str(args.jobs)]
    ways = {f"--jobs {args.jobs}": ["--jobs", str(args.jobs)], "--ray": ray}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeat):
        for name, extra in ways.items():
            with tempfile.TemporaryDirectory() as out:
                times[name].append(timed([*base, "-o", str(Path(out) / "midi"), *extra]))
    print(f"{len(files)} files, {hours * 60:.1f} min of audio; best of {args.repeat}\n")
    print("| way | wall s | x real time |")
    print("|---|---|---|")
    for name, seconds in times.items():
        print(f"| {name} | {min(seconds):.1f} | {hours * 3600 / min(seconds):.1f} |")
    ratio = min(times[f"--jobs {args.jobs}"]) / min(times["--ray"])
    print(f"\n--ray throughput / --jobs {args.jobs} throughput: {ratio:.2f}")


if __name__ == "__main__":
    main()
