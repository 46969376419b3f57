"""Where ``pianotx transcribe`` writes: output formats, planned paths, the writers."""

from __future__ import annotations

from pathlib import Path

from pianotx.music.outputs import FORMATS, write_outputs  # noqa: F401  (the CLI's writers)

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
