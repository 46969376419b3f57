"""The batch's job list and ``manifest.jsonl``: what to do, what was done.

A job is one input file and the output paths it gets under the output folder, mirroring
the input tree. The manifest gets one JSON line per file as it finishes (``ok`` with its
notes and timings, ``error`` with the one-line message, ``skipped`` when its outputs were
already there), so an interrupted batch leaves an exact account and a rerun knows what is
done: a file is done when all its outputs exist (each is written atomically, so an
existing output is a complete one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple, Sequence

from pianotx.errors import AudioError, OutputError

MANIFEST_NAME = "manifest.jsonl"
STATUSES = ("ok", "error", "skipped")


class Job(NamedTuple):
    """One input file, its name in the manifest and its planned outputs (format -> path)."""

    source: str
    name: str
    targets: dict[str, str]


def mirrored_jobs(inputs: Sequence[tuple[Path, Path]], out: Path, *, suffixes: dict[str, str]) -> list[Job]:
    """Jobs for ``(file, path relative to its input folder)`` pairs, outputs under ``out``
    in the same tree: ``DIR/a/b.flac`` -> ``OUT/a/b.mid`` (one output per format).

    Raises
    ------
    OutputError
        If two inputs would write the same output (``x.wav`` and ``x.flac`` side by side).
    """
    jobs, seen = [], {}
    for source, relative in inputs:
        targets = {fmt: str(out / relative.with_suffix(ext)) for fmt, ext in suffixes.items()}
        for path in targets.values():
            if path in seen:
                raise OutputError(f"{seen[path]} and {source} would both write {path}; "
                                  "rename one or transcribe them separately")
            seen[path] = source
        jobs.append(Job(str(source), relative.as_posix(), targets))
    return jobs


def collect_tree(paths: Sequence[Path]) -> list[tuple[Path, Path]]:
    """Audio files under ``paths`` with their path relative to the folder given (a file
    given directly keeps its name), in a stable order.

    Raises
    ------
    AudioError
        If a path is missing or a folder holds no audio.
    """
    from pianotx.audio.load import AUDIO_SUFFIXES

    found = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*")
                           if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not files:
                raise AudioError(f"folder {path} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
            found += [(p, p.relative_to(path)) for p in files]
        elif path.exists():
            found.append((path, Path(path.name)))
        else:
            raise AudioError(f"audio file not found: {path}; check the path")
    return found


def missing_targets(job: Job) -> dict[str, str]:
    """The outputs of ``job`` that do not exist yet (none: the job is done)."""
    return {fmt: path for fmt, path in job.targets.items() if not Path(path).exists()}


def record(job: Job, status: str, **fields: object) -> dict:
    """A manifest line for ``job``: path, status and the given fields."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {STATUSES}")
    return {"path": job.name, "status": status, **fields}


def append(manifest: Path, line: dict) -> None:
    """Append one line to the manifest and make it durable before returning."""
    with open(manifest, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_manifest(manifest: Path) -> dict[str, dict]:
    """The last line of each path in a manifest (empty when there is none yet); a torn last
    line (the writer was killed mid-line) is ignored."""
    if not manifest.is_file():
        return {}
    latest = {}
    for text in manifest.read_text(encoding="utf-8").splitlines():
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(line, dict) and "path" in line:
            latest[line["path"]] = line
    return latest
