"""Print the cost of the recording chain (pianotx.data.augment.recording) per 10 s crop at 16 kHz.

Run: ``python bench/augment_speed.py [n_crops]``. One thread; CPU time (robust to other
jobs on the machine). Prints the room-bank warm-up (every room computed once), the mean
over ``n_crops`` crops with the default config after the warm-up, and each effect alone.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import fields, replace  # noqa: E402

import numpy as np  # noqa: E402

from pianotx.data.augment import rooms  # noqa: E402
from pianotx.data.augment.recording import RecordingConfig, record  # noqa: E402

SR = 16_000


def crop() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """10 s of decaying tones: 100 onsets, three pedal presses."""
    rng = np.random.default_rng(0)
    t = np.arange(10 * SR) / SR
    onsets = np.sort(rng.uniform(0, 10, 100))
    audio = np.zeros_like(t)
    for onset, hz in zip(onsets, rng.uniform(50, 2000, 100)):
        s = t[t >= onset] - onset
        audio[t >= onset] += 0.05 * np.sin(2 * np.pi * hz * s) * np.exp(-3 * s)
    pedals = np.array([[0.5, 2.5], [3.0, 6.0], [7.0, 9.5]])
    return audio.astype(np.float32), onsets, pedals


def cpu_ms(config: RecordingConfig, n: int) -> float:
    audio, onsets, pedals = crop()
    start = time.process_time()
    for seed in range(n):
        record(audio, np.random.default_rng(seed), sample_rate=SR, onsets_s=onsets,
               pedals_s=pedals, config=config)
    return (time.process_time() - start) / n * 1000


def main(n: int) -> None:
    config = RecordingConfig()
    start = time.process_time()
    for slot in range(config.room_bank_size):
        rooms.room_response(config, SR, slot)
    warm_s = time.process_time() - start
    print(f"room bank warm-up: {warm_s:.1f} s CPU for {config.room_bank_size} rooms "
          f"({warm_s / config.room_bank_size * 1000:.0f} ms each)")
    print(f"default chain: {cpu_ms(config, n):.1f} ms CPU per 10 s crop (mean of {n})")
    probs = [f.name for f in fields(config) if f.name.endswith("_prob")]
    off = replace(config, **{name: 0.0 for name in probs})
    print(f"nothing drawn: {cpu_ms(off, 10):.1f} ms")
    for name in probs:
        extra = {"noise_prob": 1.0} if name in ("hum_prob", "brown_prob") else {}
        print(f"{name[:-5]} alone: {cpu_ms(replace(off, **{name: 1.0}, **extra), 10):.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
