"""Parsed corpus works kept on disk as compact note arrays, so music21 parses each work once.

Parsing a work with music21 takes 0.3-8 s; reading its cached arrays takes milliseconds.
One ``.npz`` file per work holds the notes (float64, so a cached work gives exactly the
notes a fresh parse gives) and a JSON header: composer, title, and for folk tunes the key
and bar length the accompaniment needs. A work music21 cannot parse is cached as its
error, so it is not retried. The key includes music21's version and a format version:
upgrading either re-parses. Files are written atomically; a damaged file is re-parsed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from pianotx.errors import SynthError
from pianotx.files import write_bytes_atomic
from pianotx.music.notes import Note

FORMAT = 1


class Parsed(NamedTuple):
    """A work as notes plus what is needed to accompany it; ``error`` set if it cannot be read."""

    notes: list[Note]
    composer: str
    title: str
    tonic_pc: int = 0  # folk tunes: key and bar, for the accompaniment
    major: bool = True
    meter: int = 4
    bar_s: float = 2.0
    error: str = ""


def default_corpus_cache() -> Path:
    """``$PIANOTX_CORPUS_CACHE``, else ``$XDG_CACHE_HOME/pianotx/corpus`` (``~/.cache``)."""
    if os.environ.get("PIANOTX_CORPUS_CACHE"):
        return Path(os.environ["PIANOTX_CORPUS_CACHE"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "pianotx" / "corpus"


def cache_file(cache_dir: Path, work_id: str) -> Path:
    """Where the parsed ``work_id`` lives in ``cache_dir``."""
    try:
        version = metadata.version("music21")
    except metadata.PackageNotFoundError:
        version = "none"
    digest = hashlib.sha1(f"{FORMAT}|{version}|{work_id}".encode()).hexdigest()[:20]
    return Path(cache_dir) / f"{digest}.npz"


def cached_parse(work_id: str, parse: Callable[[], Parsed], *, cache_dir: Path | None) -> Parsed:
    """``parse()``'s result for ``work_id``, from ``cache_dir`` if there (``None``: no cache).

    Raises
    ------
    SynthError
        If the work cannot be parsed (now or when it was cached).
    """
    path = cache_file(cache_dir, work_id) if cache_dir is not None else None
    parsed = _read(path) if path is not None and path.is_file() else None
    if parsed is None:
        try:
            parsed = parse()
        except SynthError as exc:
            parsed = Parsed([], "", "", error=str(exc))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, _encode(parsed), overwrite=True)
    if parsed.error:
        raise SynthError(parsed.error)
    return parsed


def _encode(parsed: Parsed) -> bytes:
    header = parsed._replace(notes=[])._asdict()
    del header["notes"]
    array = np.array([tuple(n) for n in parsed.notes], np.float64).reshape(-1, 4)
    buffer = io.BytesIO()
    np.savez(buffer, notes=array, header=np.array(json.dumps(header)))
    return buffer.getvalue()


def _read(path: Path) -> Parsed | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            header, array = json.loads(str(data["header"])), data["notes"]
        notes = [Note(float(a), float(b), int(p), int(v)) for a, b, p, v in array]
        return Parsed(notes, **header)
    except (OSError, ValueError, KeyError, TypeError):  # damaged or foreign: parse again
        return None
