"""Print augmentation cost per 10 s crop and SegmentDataset/DataLoader throughput.

Run: ``python bench/bench_data.py [n_workers]``. Builds a temporary folder of pairs
(10 x 60 s, 44.1 kHz stereo noise with random MIDI notes) and times CPU work only.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from pianotx.data.augment.basic import AugmentConfig, augment
from pianotx.data.readers import find_items
from pianotx.data.crops import SegmentDataset
from pianotx.music.midi import notes_to_midi, write_midi
from pianotx.music.notes import Note

SR = 16_000


def bench_augment(n: int = 100) -> None:
    audio = np.random.default_rng(0).standard_normal(10 * SR).astype(np.float32) * 0.1
    every = AugmentConfig(gain_prob=1, eq_prob=1, reverb_prob=1, noise_prob=1, detune_prob=1)
    for name, config in (("default", AugmentConfig()), ("every effect", every)):
        augment(audio, np.random.default_rng(0), config)
        start = time.process_time()
        for seed in range(n):
            augment(audio, np.random.default_rng(seed), config)
        print(f"augment {name}: {(time.process_time() - start) / n * 1000:.1f} ms CPU per 10 s crop")


def bench_loader(root: Path, workers: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(10):
        sf.write(root / f"p{i}.wav", rng.standard_normal((60 * 44_100, 2)).astype(np.float32) * 0.1, 44_100)
        notes = [Note(t, t + 0.3, int(rng.integers(21, 109)), 80) for t in np.arange(0, 59, 0.05)]
        write_midi(notes_to_midi(notes), root / f"p{i}.mid")
    items = find_items(root, val_fraction=0, test_fraction=0)
    data = SegmentDataset(items, cache_dir=root / ".cache", augment=AugmentConfig(), samples_per_epoch=128)
    start = time.perf_counter()
    data.prepare()
    print(f"cache 10 x 60 s: {time.perf_counter() - start:.2f} s")
    loader = torch.utils.data.DataLoader(data, batch_size=8, num_workers=workers)
    start = time.perf_counter()
    count = sum(len(batch["audio"]) for batch in loader)
    elapsed = time.perf_counter() - start
    print(f"loader ({workers} workers, augmented): {count / elapsed:.0f} crops/s of 10 s")


if __name__ == "__main__":
    bench_augment()
    with tempfile.TemporaryDirectory() as folder:
        bench_loader(Path(folder), int(sys.argv[1]) if len(sys.argv) > 1 else 0)
