"""The split of a piece, fixed by a hash of its name: the same for corpus works (``plan``)
and performance MIDI (``midisource``), so no piece is in two splits."""

from __future__ import annotations

import zlib

SPLIT_CYCLE = ("train",) * 8 + ("validation", "test")


def split_of(piece_id: str) -> str:
    """The split of a corpus work or a performed piece, by a hash of its name (80/10/10)."""
    bucket = zlib.crc32(piece_id.encode()) % 10
    return SPLIT_CYCLE[bucket]
