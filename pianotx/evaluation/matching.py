"""Which prediction MIDI file belongs to which dataset item, and what a report calls an item.

Names are compared literally: a stem such as ``Nocturne [Op9]`` or ``what?`` is a name, never
a pattern. A prediction is looked for first at the item's own place below the prediction
folder (``pred/a/take.mid`` for the item ``a/take.wav`` of the dataset), then, for a stem no
other item shares, anywhere below it. Nothing here reads a MIDI file.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from pianotx.errors import DatasetError


def check_pred_dir(pred_dir: Path) -> Path:
    """Return ``pred_dir`` as a Path when it is a folder.

    Raises
    ------
    DatasetError
        If it is a file or does not exist.
    """
    pred_dir = Path(pred_dir)
    if pred_dir.exists() and not pred_dir.is_dir():
        raise DatasetError(f"prediction folder {pred_dir} is a file; --pred-dir needs the folder "
                           "that holds the MIDI files")
    if not pred_dir.is_dir():
        raise DatasetError(f"prediction folder {pred_dir} does not exist; check --pred-dir")
    return pred_dir


def common_root(items: Sequence) -> Path | None:
    """The deepest folder holding every item's audio, or None without items."""
    if not items:
        return None
    return Path(os.path.commonpath([str(Path(item.audio_path).parent) for item in items]))


def relative_stems(item: Any, root: Path | None) -> list[Path]:
    """The item's audio then MIDI path below ``root``, without extension, without repeats
    (just the file's stem when it is not below ``root``)."""
    found = []
    for path in (Path(item.audio_path), Path(item.midi_path)):
        try:
            relative = path.relative_to(root) if root is not None else Path(path.name)
        except ValueError:
            relative = Path(path.name)
        found.append(relative.with_suffix(""))
    return list(dict.fromkeys(found))


def piece_names(items: Sequence) -> list[str]:
    """Each item's name in reports: its audio stem, or, where several items share that stem,
    its path without extension below :func:`common_root` (``a/take``, ``b/take``)."""
    stems = [Path(item.audio_path).stem for item in items]
    counts, root = Counter(stems), common_root(items)
    return [stem if counts[stem] == 1 else relative_stems(item, root)[0].as_posix()
            for stem, item in zip(stems, items)]


def midi_files(pred_dir: Path) -> dict[str, list[Path]]:
    """Every ``.mid``/``.midi`` file below ``pred_dir`` (any case), sorted, by stem."""
    from pianotx.data.readers import MIDI_SUFFIXES

    found: dict[str, list[Path]] = {}
    for path in sorted(Path(pred_dir).rglob("*")):
        if path.suffix.lower() in MIDI_SUFFIXES and path.is_file():
            found.setdefault(path.stem, []).append(path)
    return found


def find_predictions(
    pred_dir: Path, items: Sequence, *, suffix: str = "", root: Path | None = None
) -> list[Path | None]:
    """The prediction MIDI file of each item, or None where there is none.

    Parameters
    ----------
    pred_dir : Path
        Folder of MIDI files, searched recursively.
    items : sequence of Item
        Dataset pieces; a prediction is named after an item's audio stem (tried first) or
        MIDI stem, followed by ``suffix``, with extension ``.mid`` or ``.midi``.
    suffix : str
        Text the transcriber appends to each stem (e.g. ``"_basic_pitch"``).
    root : Path, optional
        The dataset folder: an item's own place below ``pred_dir`` is its path below
        ``root`` (default: :func:`common_root` of the items). A stem that several items
        share is looked for only there; any other stem also anywhere below ``pred_dir``.

    Raises
    ------
    DatasetError
        If ``pred_dir`` is not a folder, or several files match one item at one place.
    """
    pred_dir = check_pred_dir(pred_dir)
    by_stem = midi_files(pred_dir)
    places, shared = _places(items, root)
    return [_find(pred_dir, item, rels, by_stem, suffix=suffix, shared=shared)
            for item, rels in zip(items, places)]


def find_prediction(pred_dir: Path, item: Any, *, suffix: str = "",
                    root: Path | None = None) -> Path | None:
    """The prediction MIDI file of one item (see :func:`find_predictions`), or None."""
    return find_predictions(pred_dir, [item], suffix=suffix, root=root)[0]


def expected_names(items: Sequence, *, suffix: str = "", root: Path | None = None) -> list[str]:
    """The prediction file each item asks for, as error messages name it: its path below
    the prediction folder where other items share its stem, else its name."""
    places, shared = _places(items, root)
    return [f"{(rels[0] if rels[0].name in shared else Path(rels[0].name)).as_posix()}{suffix}.mid"
            for rels in places]


def _places(items: Sequence, root: Path | None) -> tuple[list[list[Path]], set[str]]:
    """Each item's :func:`relative_stems` below ``root`` (:func:`common_root` by default),
    and the stems that more than one item answers to."""
    root = common_root(items) if root is None else Path(root)
    places = [relative_stems(item, root) for item in items]
    counts = Counter(name for rels in places for name in {rel.name for rel in rels})
    return places, {name for name, n in counts.items() if n > 1}


def _find(pred_dir: Path, item: Any, rels: list[Path], by_stem: dict[str, list[Path]], *,
          suffix: str, shared: set[str]) -> Path | None:
    for rel in rels:  # the item's own place first
        found = [p for p in by_stem.get(rel.name + suffix, []) if p.parent == pred_dir / rel.parent]
        if found:
            return _only(found, item)
    for rel in (rel for rel in rels if rel.name not in shared):  # then a stem of its own anywhere
        found = by_stem.get(rel.name + suffix, [])
        if found:
            return _only(found, item)
    return None


def _only(found: list[Path], item: Any) -> Path:
    if len(found) > 1:
        names = ", ".join(str(p) for p in found)
        raise DatasetError(f"several predictions match {item.title!r}: {names}; keep one")
    return found[0]
