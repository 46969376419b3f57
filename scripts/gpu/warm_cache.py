"""Decode a dataset's training audio into pianotx train's cache with many processes.

Usage: python scripts/gpu/warm_cache.py DATA CACHE_DIR [--workers N]

``pianotx train`` decodes every training item into its cache on the main process before
the first step (hours of audio: minutes of a lent GPU's time). The cache files are keyed
by the audio file alone, so preparing disjoint subsets in parallel fills the same cache.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _prepare(items: list, cache_dir: str) -> int:
    from pianotx.data.crops import SegmentDataset

    SegmentDataset(items, cache_dir=Path(cache_dir)).prepare()
    return len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("cache_dir", type=Path)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    from pianotx.data.readers import find_items

    items = find_items(args.data, split="train")
    n = max(1, min(args.workers, len(items)))
    with ProcessPoolExecutor(n) as pool:
        done = sum(pool.map(_prepare, [items[i::n] for i in range(n)], [str(args.cache_dir)] * n))
    print(f"cache: {done} training items decoded into {args.cache_dir} by {n} processes")


if __name__ == "__main__":
    main()
