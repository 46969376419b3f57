"""Datasets on disk -> a list of (audio, MIDI, split) items, validated where they enter.

Two layouts are recognised, by looking at the folder:

* a MAESTRO folder: a metadata table at the root (``maestro-v*.csv`` or ``.json``, the
  newest version wins and CSV beats JSON; or any single ``*.csv`` with the MAESTRO columns,
  as ``pianotx synth`` writes) whose ``audio_filename``/``midi_filename`` are relative to
  the root and whose ``split`` column assigns train/validation/test;
* a folder of pairs: audio files (wav, flac, mp3, ogg, ...) and ``.mid``/``.midi`` files
  with the same stem in the same folder, searched recursively. Each stem is assigned to a
  split by hashing it with the seed, so adding files never moves the old ones.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from pianotx.audio.load import AUDIO_SUFFIXES
from pianotx.errors import ConfigError, DatasetError, MidiError
from pianotx.music.midi import read_midi
from pianotx.music.notes import Note, Pedal, extend_by_pedal

SPLITS = ("train", "validation", "test")
MIDI_SUFFIXES = (".mid", ".midi")
REQUIRED_COLUMNS = ("canonical_title", "split", "midi_filename", "audio_filename", "duration")
MAX_LISTED = 5  # file names quoted in one error message
VAL_FRACTION = TEST_FRACTION = 0.1  # shares of the stems of a folder of pairs (the rest: train)
_MAESTRO_NAME = re.compile(r"maestro-v(\d+)(?:\.(\d+))?(?:\.(\d+))?\.(csv|json)$", re.IGNORECASE)


class Item(NamedTuple):
    """One performance: its audio and MIDI files, split, piece title and length."""

    audio_path: Path
    midi_path: Path
    split: str
    title: str
    duration_s: float


def find_items(
    root: Path,
    *,
    split: str | None = None,
    val_fraction: float = VAL_FRACTION,
    test_fraction: float = TEST_FRACTION,
    seed: int = 0,
) -> list[Item]:
    """List the performances of a MAESTRO-style folder or a folder of audio/MIDI pairs.

    Parameters
    ----------
    root : Path
        The dataset folder; its layout is detected (see the module docstring).
    split : {'train', 'validation', 'test'} or None
        Keep only this split; None keeps all.
    val_fraction, test_fraction : float in [0, 1], sum <= 1
        Share of stems assigned to validation and test in a folder of pairs (ignored when
        the metadata table gives the split).
    seed : int
        Salt of the stem hash that assigns pairs to splits.

    Returns
    -------
    list of Item
        Sorted by audio path.

    Raises
    ------
    DatasetError
        If the folder is missing, holds neither metadata nor pairs, the metadata is
        malformed, listed files are absent, files are unpaired, or ``split`` is unknown.
    """
    if split is not None and split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    fractions_ok = 0 <= val_fraction <= 1 and 0 <= test_fraction <= 1
    if not (fractions_ok and val_fraction + test_fraction <= 1):
        raise ConfigError(
            f"val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must lie in "
            "[0, 1] and sum to at most 1"
        )
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"dataset folder not found: {root}; check the path")
    if not root.is_dir():
        raise DatasetError(f"dataset path {root} is a file; give the folder that holds the data")
    metadata, rejected = _find_metadata(root)
    if metadata is not None:
        items = _items_from_metadata(root, metadata, split)
    else:
        items = _items_from_pairs(root, val_fraction, test_fraction, seed, rejected)
        items = [item for item in items if split is None or item.split == split]
    return sorted(items, key=lambda item: str(item.audio_path))


def load_reference(item: Item) -> tuple[list[Note], list[Pedal]]:
    """Read an item's MIDI as pedal-extended notes (the MAESTRO convention) and pedals.

    Raises
    ------
    MidiError
        If the MIDI file is missing or unreadable.
    """
    performance = read_midi(item.midi_path)
    return extend_by_pedal(performance.notes, performance.pedals), performance.pedals


def check_readable(items: Iterable[Item], *, role: str) -> None:
    """Read each item's MIDI and open its audio file's header: cheap checks that find a
    damaged file now rather than when the item is first used.

    Raises
    ------
    DatasetError
        Naming the ``role`` of the items (e.g. "validation"), the piece and the file.
    """
    for item in items:
        try:
            _duration_s(item.audio_path)
            read_midi(item.midi_path)
        except (DatasetError, MidiError) as exc:
            raise DatasetError(f"{role} piece {item.title!r}: {exc}") from None


def empty_split_error(root: Path, split: str) -> DatasetError:
    """The error for a dataset folder whose ``split`` holds nothing, saying why and the fix."""
    metadata, _ = _find_metadata(Path(root))
    if metadata is not None:
        return DatasetError(f"{metadata.name} in {root} has no row with split {split!r}; "
                            f"mark some rows {split!r}")
    n_pairs = len(find_items(root))
    return DatasetError(
        f"the {split} split of {root} is empty: its {n_pairs} audio/MIDI pair(s) are split by a "
        f"hash of each file stem (about {1 - VAL_FRACTION - TEST_FRACTION:.0%} train, "
        f"{VAL_FRACTION:.0%} validation, {TEST_FRACTION:.0%} test) and none came out {split}; "
        f"add more pairs, or choose the splits in a metadata table "
        f"(a .csv with columns {', '.join(REQUIRED_COLUMNS)}) in the folder"
    )


def maestro_records(root: Path) -> list[dict[str, Any]] | None:
    """The rows of the MAESTRO table (``maestro-v*.csv`` / ``.json``) at ``root``, or None
    when there is none; files are not checked (a MIDI-only copy of MAESTRO reads too).

    Raises
    ------
    DatasetError
        If the table is malformed.
    """
    versioned = [p for p in Path(root).iterdir() if p.is_file() and _MAESTRO_NAME.match(p.name)]
    if not versioned:
        return None
    metadata = max(versioned, key=_version_rank)
    records = _read_json(metadata) if metadata.suffix.lower() == ".json" else _read_csv(metadata)
    return [record for _, record in records]


def _find_metadata(root: Path) -> tuple[Path | None, list[str]]:
    """Return the metadata table to use, and notes on CSV files rejected for lack of columns."""
    versioned = [p for p in root.iterdir() if p.is_file() and _MAESTRO_NAME.match(p.name)]
    if versioned:
        return max(versioned, key=_version_rank), []
    matching, rejected = [], []
    for path in sorted(root.glob("*.csv")):
        missing = [c for c in REQUIRED_COLUMNS if c not in _csv_header(path)]
        if missing:
            rejected.append(f"{path.name} lacks column(s) {', '.join(missing)}")
        else:
            matching.append(path)
    if len(matching) > 1:
        names = ", ".join(p.name for p in matching)
        raise DatasetError(f"several metadata tables in {root} ({names}); keep only one")
    return (matching[0] if matching else None), rejected


def _version_rank(path: Path) -> tuple[int, int, int, int]:
    match = _MAESTRO_NAME.match(path.name)
    assert match is not None
    major, minor, patch, suffix = match.groups()
    return int(major), int(minor or 0), int(patch or 0), int(suffix.lower() == "csv")


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [name.strip() for name in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _items_from_metadata(root: Path, metadata: Path, split: str | None) -> list[Item]:
    records = _read_json(metadata) if metadata.suffix.lower() == ".json" else _read_csv(metadata)
    items, missing = [], []
    for where, record in records:
        item = _item_from_record(root, metadata, where, record)
        if split is not None and item.split != split:
            continue
        for path in (item.audio_path, item.midi_path):
            if not path.is_file():
                missing.append(path.relative_to(root).as_posix())
        items.append(item)
    if missing:
        raise DatasetError(
            f"{len(missing)} file(s) listed in {metadata.name} are missing under {root}: "
            f"{_some(missing)}; download the complete dataset or remove those rows"
        )
    return items


def _read_csv(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, skipinitialspace=True)
            header = [name.strip() for name in reader.fieldnames or []]
            reader.fieldnames = header
            _check_columns(path, header)
            records = []
            for row in reader:
                if None in row or None in row.values():
                    raise DatasetError(
                        f"malformed {path.name} line {reader.line_num}: expected "
                        f"{len(header)} fields; fix or remove that row"
                    )
                records.append((f"line {reader.line_num}", row))
            return records
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(
            f"cannot parse {path} as CSV ({exc}); is it the metadata table?"
        ) from None


def _read_json(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot parse {path} as JSON ({exc}); re-download it") from None
    if isinstance(data, list):  # v1: a list of records
        if not all(isinstance(r, dict) for r in data):
            raise DatasetError(f"malformed {path.name}: expected a list of records")
        _check_columns(path, set().union(*data) if data else set())
        return [(f"record {i}", record) for i, record in enumerate(data)]
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        _check_columns(path, data)  # v2/v3: {column: {row index: value}}
        keys = sorted(set().union(*(column.keys() for column in data.values())), key=_row_key)
        return [(f"record {k}", {c: data[c].get(k) for c in data}) for k in keys]
    raise DatasetError(f"malformed {path.name}: expected MAESTRO records or columns")


def _row_key(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 62, key)


def _check_columns(path: Path, columns: Iterable[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in set(columns)]
    if missing:
        raise DatasetError(
            f"malformed {path.name}: missing column(s) {', '.join(missing)}; "
            f"a MAESTRO table needs {', '.join(REQUIRED_COLUMNS)}"
        )


def _item_from_record(root: Path, metadata: Path, where: str, record: dict[str, Any]) -> Item:
    def bad(reason: str) -> DatasetError:
        return DatasetError(f"malformed {metadata.name} {where}: {reason}; fix or remove that row")

    values = {c: record.get(c) for c in REQUIRED_COLUMNS}
    empty = [c for c, v in values.items() if v is None or str(v).strip() == ""]
    if empty:
        raise bad(f"empty {', '.join(empty)}")
    split = str(values["split"]).strip()
    if split not in SPLITS:
        raise bad(f"split {split!r} is not one of {', '.join(SPLITS)}")
    try:
        duration_s = float(values["duration"])
    except (TypeError, ValueError):
        raise bad(f"duration {values['duration']!r} is not a number") from None
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise bad(f"duration {duration_s} is not a finite positive number of seconds")
    for column in ("audio_filename", "midi_filename"):
        if Path(str(values[column]).strip()).is_absolute():
            raise bad(f"{column} {str(values[column]).strip()!r} is an absolute path; give it "
                      f"relative to the dataset folder")
    audio_path = _existing_audio(root / str(values["audio_filename"]).strip())
    midi_path = root / str(values["midi_filename"]).strip()
    return Item(audio_path, midi_path, split, str(values["canonical_title"]).strip(), duration_s)


def _existing_audio(path: Path) -> Path:
    """Return ``path``, or the same stem with another audio suffix if only that exists.

    Many people store MAESTRO's wav files as flac; the table still says ``.wav``.
    """
    if path.is_file():
        return path
    for suffix in AUDIO_SUFFIXES:
        alternative = path.with_suffix(suffix)
        if alternative.is_file():
            return alternative
    return path


def _items_from_pairs(
    root: Path, val_fraction: float, test_fraction: float, seed: int, rejected: list[str]
) -> list[Item]:
    audio: dict[Path, list[Path]] = {}
    midi: dict[Path, list[Path]] = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        suffix = path.suffix.lower()
        table = audio if suffix in AUDIO_SUFFIXES else midi if suffix in MIDI_SUFFIXES else None
        if table is not None:
            table.setdefault(path.with_suffix(""), []).append(path)
    if not audio and not midi:
        note = f" ({'; '.join(rejected)})" if rejected else ""
        raise DatasetError(
            f"no dataset in {root}: found no MAESTRO metadata table{note} and no audio/MIDI "
            "pairs; give a MAESTRO folder or a folder of same-named audio and .mid files"
        )
    _check_paired(root, audio, midi)
    items = []
    for stem, paths in audio.items():
        audio_path, midi_path = paths[0], midi[stem][0]
        split = _hash_split(stem.name, val_fraction, test_fraction, seed)
        items.append(Item(audio_path, midi_path, split, stem.name, _duration_s(audio_path)))
    return items


def _check_paired(root: Path, audio: dict[Path, list[Path]], midi: dict[Path, list[Path]]) -> None:
    def rel(paths: Iterable[Path]) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in paths)

    doubles = rel(p for table in (audio, midi) for ps in table.values() if len(ps) > 1 for p in ps)
    if doubles:
        raise DatasetError(
            f"{len(doubles)} files in {root} share a stem with another file of the same kind: "
            f"{_some(doubles)}; keep one audio and one MIDI file per stem"
        )
    lonely_audio = rel(audio[s][0] for s in audio if s not in midi)
    lonely_midi = rel(midi[s][0] for s in midi if s not in audio)
    if lonely_audio or lonely_midi:
        parts = []
        if lonely_audio:
            parts.append(f"{len(lonely_audio)} audio file(s) without MIDI: {_some(lonely_audio)}")
        if lonely_midi:
            parts.append(f"{len(lonely_midi)} MIDI file(s) without audio: {_some(lonely_midi)}")
        raise DatasetError(
            f"unpaired files in {root}: {'; '.join(parts)}; give each audio file a .mid "
            "with the same name in the same folder, or move the extra files out"
        )


def _hash_split(stem: str, val_fraction: float, test_fraction: float, seed: int) -> str:
    digest = hashlib.sha256(f"{seed}\0{stem}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "validation"
    return "train"


def _duration_s(path: Path) -> float:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        reason = str(exc).split("': ", 1)[-1].rstrip(".")  # past "Error opening 'PATH'"
        raise DatasetError(f"cannot read audio file {path} ({reason}); re-export it") from None
    if info.frames <= 0:
        raise DatasetError(f"audio file {path} has no samples; remove it or re-export it")
    return info.frames / info.samplerate


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")
