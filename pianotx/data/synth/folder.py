"""The dataset folder of ``pianotx synth``: what it may be written into, the settings it was
made with, and the temporary files a killed run left in it.

A folder is written into only when it is new, empty, or already a synth dataset. The
settings that decide which items exist and what they hold are stored in ``synth.json``; a
rerun resumes (or, with more ``--hours``, extends) the dataset only with the same settings,
because items are known by seed, index and timbre alone and would otherwise be reused
although they no longer match.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Iterable, Sequence

from pianotx.errors import SynthError
from pianotx.files import write_bytes_atomic

MAESTRO_COLUMNS = ("canonical_composer", "canonical_title", "split", "year",
                   "midi_filename", "audio_filename", "duration")
EXTRA_COLUMNS = ("source", "timbre", "piece_id", "seed", "dynamics")
CSV_NAME = "synth.csv"
LOG_NAME = ".synth-progress.jsonl"
SETTINGS_NAME = "synth.json"
FORMAT = 1
# the names write_files_atomic gives its temporary files: ".NAME." + 8 mkstemp characters + ".part"
_PART = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.part$")
# settings key -> how the user sets it
OPTIONS = {"seed": "--seed", "timbres": "--timbres", "heldout": "--heldout",
           "corpus_share": "--corpus-share", "midi_share": "--midi-share", "dynamics": "--dynamics",
           "midi": "--midi (its MIDI files)", "corpus": "the music21 corpus (music21 added, removed "
           "or updated)"}


def dataset_settings(
    config, timbres: Sequence[str], works: Sequence = (), recordings: Sequence = ()
) -> dict:
    """The settings that shape a dataset's items: all of ``config`` but ``hours`` (more hours
    only add items), the planned timbre names, and a digest of the corpus works and of the
    performance MIDI files (their names, pieces and splits, not where they lie)."""
    from dataclasses import asdict

    from pianotx.data.synth.corpus import work_id

    settings = {"format": FORMAT, **asdict(config), "timbres": list(timbres)}
    del settings["hours"]
    settings["corpus"] = _digest([[w.category, work_id(w)] for w in works], "works")
    settings["midi"] = _digest([[r.collection, r.piece_id, r.split, Path(r.path).name] for r in recordings],
                               "files")
    return json.loads(json.dumps(settings))  # tuples -> lists, as read back


def _digest(entries: list, noun: str) -> str:
    text = json.dumps(entries, sort_keys=True)
    return f"{len(entries)} {noun}, sha256 {hashlib.sha256(text.encode()).hexdigest()[:16]}"


def is_synth_dataset(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds a synth dataset: its settings, its progress log, or a
    ``synth.csv`` with the synth columns (a dataset from before settings were stored)."""
    out_dir = Path(out_dir)
    if (out_dir / SETTINGS_NAME).is_file() or (out_dir / LOG_NAME).is_file():
        return True
    try:
        with open(out_dir / CSV_NAME, encoding="utf-8") as handle:
            header = handle.readline().strip().split(",")
    except (OSError, UnicodeDecodeError):
        return False
    return header[: len(MAESTRO_COLUMNS) + 4] == list(MAESTRO_COLUMNS + EXTRA_COLUMNS[:4])


def check_out_folder(out_dir: Path) -> None:
    """Raise :class:`SynthError` unless ``out_dir`` is new, an empty folder or a synth dataset."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SynthError(f"--out {out_dir} is a file, not a folder; give a new folder name")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_synth_dataset(out_dir):
        raise SynthError(f"--out {out_dir} is not empty and is not a synth dataset (it has no "
                         f"{SETTINGS_NAME} or synth.csv); give a new or empty folder")


def check_settings(out_dir: Path, settings: dict) -> None:
    """Raise :class:`SynthError` unless ``out_dir`` may take a dataset made with ``settings``:
    :func:`check_out_folder`, and a dataset already there was made with the same settings
    (one made before settings were stored is taken as it is). Nothing is written."""
    check_out_folder(out_dir)
    stored = read_settings(out_dir)
    differing = settings_differ(stored, settings) if stored is not None else []
    if differing:
        raise SynthError(f"{out_dir} was made with other settings ({'; '.join(differing)}); "
                         "rerun with the same options to resume or extend it, or give a new --out")


def open_folder(out_dir: Path, settings: dict) -> None:
    """:func:`check_settings`, then create ``out_dir`` if needed and record ``settings`` in it."""
    out_dir = Path(out_dir)
    check_settings(out_dir, settings)
    if read_settings(out_dir) is None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(out_dir / SETTINGS_NAME, (json.dumps(settings, indent=1) + "\n").encode(),
                           overwrite=True)


def read_settings(out_dir: Path) -> dict | None:
    """The settings stored in ``out_dir``, or None when there are none."""
    path = Path(out_dir) / SETTINGS_NAME
    if not path.is_file():
        return None
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        settings = None
    if not isinstance(settings, dict):
        raise SynthError(f"{path} is damaged; give a new --out (or restore the file)")
    return settings


def settings_differ(stored: dict, settings: dict) -> list[str]:
    """One ``OPTION: then X, now Y`` line per setting that differs (empty when none does)."""
    lines = []
    for key in sorted(set(stored) | set(settings), key=lambda k: (k not in OPTIONS, k)):
        then, now = stored.get(key), settings.get(key)
        if then != now:
            lines.append(f"{OPTIONS.get(key, key)}: then {_show(then)}, now {_show(now)}")
    return lines


def _show(value) -> str:
    if isinstance(value, list):
        return ",".join(_show(v) for v in value)
    return "none" if value is None else str(value)


def remove_stale_parts(planned: Iterable[Path]) -> list[Path]:
    """Delete the temporary files a killed run left beside the ``planned`` output files
    (``.NAME.XXXXXXXX.part``, see :mod:`pianotx.files`); nothing else is touched.

    Returns
    -------
    list of Path
        The files removed.
    """
    by_folder: dict[Path, set[str]] = {}
    for path in map(Path, planned):
        by_folder.setdefault(path.parent, set()).add(path.name)
    removed = []
    for folder, names in by_folder.items():
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            match = _PART.match(entry.name)
            if match and match["name"] in names and entry.is_file():
                entry.unlink()
                removed.append(entry)
    return removed
