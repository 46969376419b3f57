"""Where ``pianotx transcribe`` writes: output formats, planned paths, the writers."""

from __future__ import annotations

from pathlib import Path

from pianotx.music.outputs import FORMATS, write_outputs  # noqa: F401  (the CLI's writers)

# the name endings ``-o`` may have for one input, and the format each asks for
SUFFIX_FORMATS = {".mid": "mid", ".midi": "mid", ".csv": "csv", ".json": "json",
                  ".musicxml": "musicxml", ".xml": "musicxml"}


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
    """The format an ``-o`` name asks for when ``--format`` is not given (``mid`` by default,
    and for a folder)."""
    suffix = out.suffix.lower() if out is not None else ""
    return SUFFIX_FORMATS.get(suffix, "mid")


def plan_outputs(
    tree: list[tuple[Path, Path]], out: Path | None, *, formats: list[str], overwrite: bool,
    folder: bool = False,
) -> list[dict[str, Path]]:
    """Output path of every format for every input; checks them all before any transcription.

    ``tree`` holds each input with its path relative to the folder it was found in
    (:func:`pianotx.cluster.manifest.collect_tree`); ``folder`` says a folder was given, so
    ``-o`` is a folder even for one file. Outputs go beside the inputs without ``-o``, to
    the ``-o`` file for one input file, else under the ``-o`` folder mirroring the inputs'
    subfolders. No output may be an input or be planned twice.
    """
    from pianotx.errors import OutputError
    from pianotx.files import check_output

    inputs = [path for path, _ in tree]
    into_folder = False
    if len(tree) == 1 and not folder and out is not None and not out.is_dir():
        targets = [_single_outputs(out, formats)]
    elif out is None:
        targets = [{f: path.with_suffix(FORMATS[f]) for f in formats} for path in inputs]
    else:
        if out.exists() and not out.is_dir():
            raise OutputError(f"-o {out} must be a folder when transcribing a folder or several files")
        if not out.exists() and not out.parent.is_dir():
            raise OutputError(f"output folder {out.parent} does not exist; create it first")
        targets = [{f: out / relative.with_suffix(FORMATS[f]) for f in formats} for _, relative in tree]
        into_folder = True
    owner: dict[Path, Path] = {}
    for source, target in zip(inputs, targets):
        for path in target.values():
            if path in owner:
                raise OutputError(f"{owner[path]} and {source} would both write {path}; "
                                  "transcribe them separately or rename one")
            owner[path] = source
    for path in owner:  # under -o, outputs in folders still to be made cannot exist yet
        if not into_folder or path.parent.is_dir():
            check_output(path, overwrite=overwrite, inputs=tuple(inputs))
    for folder_path in sorted({path.parent for path in owner} if into_folder else ()):
        try:
            folder_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output folder {folder_path}: {exc.strerror}") from None
    return targets


def _single_outputs(out: Path, formats: list[str]) -> dict[str, Path]:
    """``-o song.mid`` with ``--format mid,csv`` -> song.mid and song.csv."""
    from pianotx.errors import OutputError

    suffix = out.suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        hint = f"name the file {out.stem}{FORMATS[formats[0]]}" if suffix else \
            f"name the file {out.name}{FORMATS[formats[0]]}, or create the folder {out} first"
        raise OutputError(f"-o {out} is not a .mid, .csv, .json or .musicxml name; {hint}")
    given = SUFFIX_FORMATS[suffix]
    if given not in formats:
        raise OutputError(f"-o {out} does not match --format {','.join(formats)}; "
                          f"name the file {out.with_suffix(FORMATS[formats[0]]).name}")
    return {f: out if f == given else out.with_suffix(FORMATS[f]) for f in formats}
