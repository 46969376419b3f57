"""Where ``pianotx transcribe`` writes: output formats, planned paths, the writers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from pianotx.music.notes import Note, Pedal

FORMATS = {"mid": ".mid", "csv": ".csv", "json": ".json", "musicxml": ".musicxml"}
KNOWN_SUFFIXES = (".mid", ".midi", ".csv", ".json", ".musicxml")


def parse_formats(text: str) -> list[str]:
    """``"mid,csv"`` -> ``["mid", "csv"]`` (``midi`` means ``mid``); unknown names are an error."""
    from pianotx.errors import ConfigError

    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    names = ["mid" if name == "midi" else name for name in names]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise ConfigError(f"unknown --format {', '.join(unknown) or repr(text)}; "
                          f"choose a comma list of {', '.join(FORMATS)}")
    return list(dict.fromkeys(names))


def format_of(out: Path | None) -> str:
    """The format an ``-o`` name asks for when ``--format`` is not given (``mid`` by default)."""
    suffix = out.suffix.lower() if out is not None else ""
    return {ext: name for name, ext in FORMATS.items()}.get(suffix, "mid")


def plan_outputs(
    inputs: list[Path], out: Path | None, *, formats: list[str], overwrite: bool
) -> list[dict[str, Path]]:
    """Output path of every format for every input; checks them all before any transcription."""
    from pianotx.errors import OutputError
    from pianotx.files import check_output

    if len(inputs) == 1 and out is not None and not out.is_dir():
        targets = [_single_outputs(out, formats)]
    elif out is None:
        targets = [{f: path.with_suffix(FORMATS[f]) for f in formats} for path in inputs]
    else:
        if out.exists() and not out.is_dir():
            raise OutputError(f"-o {out} must be a folder when transcribing several files")
        if not out.exists():
            if not out.parent.is_dir():
                raise OutputError(f"output folder {out.parent} does not exist; create it first")
            try:
                out.mkdir()
            except OSError as exc:
                raise OutputError(f"cannot create output folder {out}: {exc.strerror}") from None
        targets = [{f: out / f"{path.stem}{FORMATS[f]}" for f in formats} for path in inputs]
    paths = [path for target in targets for path in target.values()]
    if len(set(paths)) != len(paths):
        raise OutputError("two inputs share a file name stem; transcribe them separately")
    for path in paths:
        check_output(path, overwrite=overwrite)
    return targets


def _single_outputs(out: Path, formats: list[str]) -> dict[str, Path]:
    """``-o song.mid`` with ``--format mid,csv`` -> song.mid and song.csv."""
    from pianotx.errors import OutputError

    suffix = out.suffix.lower()
    given = format_of(out)  # any other name holds the MIDI
    if suffix in KNOWN_SUFFIXES and given not in formats:
        raise OutputError(f"-o {out} does not match --format {','.join(formats)}; "
                          f"name the file {out.with_suffix(FORMATS[formats[0]]).name}")
    return {f: out if f == given else out.with_suffix(FORMATS[f]) for f in formats}


def write_outputs(
    notes: Sequence[Note], pedals: Sequence[Pedal], targets: dict[str, Path], *,
    tempo_bpm: float, overwrite: bool,
) -> None:
    """Write the notes and pedal presses in every planned format, each file atomically."""
    from pianotx.files import write_bytes_atomic
    from pianotx.music.midi import notes_to_midi, write_midi
    from pianotx.music.notelist import as_written, to_csv, to_json

    if "mid" in targets:
        write_midi(notes_to_midi(notes, pedals=pedals, tempo_bpm=tempo_bpm), targets["mid"], overwrite=overwrite)
    written = as_written(notes, pedals=pedals, tempo_bpm=tempo_bpm)
    for name, render in (("csv", to_csv), ("json", to_json)):
        if name in targets:
            text = render(written.notes, pedals=written.pedals)
            write_bytes_atomic(targets[name], text.encode(), overwrite=overwrite)
    if "musicxml" in targets:
        from pianotx.score.chain import make_score
        from pianotx.score.musicxml import write_musicxml

        write_musicxml(make_score(notes, pedals), targets["musicxml"], overwrite=overwrite)
