"""``pianotx transcribe DIR -o OUT --ray [ADDRESS]``: a collection on a Ray cluster.

Outputs mirror the input tree under OUT; ``OUT/manifest.jsonl`` gets one line per file as
it finishes; a rerun skips the files whose outputs all exist.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import typer

from pianotx.cli.common import console, err_console

LOCAL = "local"  # ``--ray`` given without an address


def bare_ray(argv: Sequence[str]) -> list[str]:
    """``--ray`` with no address -> ``--ray=local`` (Click options cannot take an optional
    value): when it is last, or followed by another option or by an existing file or
    folder that is not an address."""
    out = list(argv)
    for k, arg in enumerate(out):
        if arg != "--ray":
            continue
        following = out[k + 1] if k + 1 < len(out) else None
        if following is None or following.startswith("-") or (
                not _looks_like_address(following) and Path(following).exists()):
            out[k] = f"--ray={LOCAL}"
    return out


def _looks_like_address(text: str) -> bool:
    return text in ("auto", LOCAL) or "://" in text or (
        ":" in text and text.rsplit(":", 1)[1].isdigit())


def transcribe_on_ray(
    inputs: list[Path], out: Path | None, *, address: str, formats: list[str], model: str | None,
    engine: str, decode, pedal: str | None, tempo_bpm: float, batch_size: int,  # type: ignore[no-untyped-def]
    overwrite: bool, workers: int, gpus_per_worker: float, quiet: bool, as_json: bool,
    meter_changes: bool = False, key_changes: bool = False, time_signature: str | None = None,
) -> bool:
    """Run the batch; True when no file failed."""
    from pianotx.audio.load import audio_seconds
    from pianotx.music.outputs import FORMATS
    from pianotx.cluster.jobs import JobOptions
    from pianotx.cluster.manifest import (
        MANIFEST_NAME, append, collect_tree, missing_targets, mirrored_jobs, record,
    )
    from pianotx.cluster.ray_runner import RayOptions, require_ray, run_on_ray
    from pianotx.errors import OutputError

    require_ray()
    if out is None:
        raise OutputError("--ray needs -o OUT, the folder the outputs (and manifest.jsonl) go to")
    if out.exists() and not out.is_dir():
        raise OutputError(f"-o {out} must be a folder with --ray")
    out.mkdir(parents=True, exist_ok=True)
    jobs = mirrored_jobs(collect_tree(inputs), out, suffixes={f: FORMATS[f] for f in formats})
    manifest = out / MANIFEST_NAME
    todo, skipped = [], 0
    for job in jobs:
        if not overwrite and not missing_targets(job):
            append(manifest, record(job, "skipped", outputs=job.targets))
            skipped += 1
        else:
            todo.append(job)
    sizes = [audio_seconds(Path(job.source)) or 0.0 for job in todo]
    options = JobOptions(decode=decode, pedal=pedal, tempo_bpm=tempo_bpm, batch_size=batch_size,
                         overwrite=overwrite, meter_changes=meter_changes, key_changes=key_changes,
                         time_signature=time_signature)
    ray_options = RayOptions(address=None if address == LOCAL else address, workers=workers,
                             gpus_per_worker=gpus_per_worker)
    if not quiet and not as_json:
        err_console.print(f"{len(jobs)} files: {skipped} done before, {len(todo)} to transcribe "
                          f"({_amount(sum(sizes))} of audio); manifest {manifest}", markup=False)
    failed = _run(todo, options, ray_options, model=model, engine=engine, sizes=sizes,
                  manifest=manifest, quiet=quiet, as_json=as_json)
    return failed == 0


def _run(todo, options, ray_options, *, model, engine, sizes, manifest, quiet, as_json) -> int:  # type: ignore[no-untyped-def]
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pianotx.cluster.manifest import append
    from pianotx.cluster.ray_runner import run_on_ray

    total_h = sum(sizes) / 3600
    started = time.perf_counter()
    done = {"h": 0.0, "failed": 0}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[hours]}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True,
                  disable=quiet or as_json or not err_console.is_terminal) as bar:
        task = bar.add_task("starting Ray", total=len(todo), hours="")

        def on_start(count: int) -> None:
            bar.update(task, description=f"{count} workers")

        def on_record(line: dict) -> None:
            append(manifest, line)
            done["h"] += line.get("duration_s", 0.0) / 3600
            rate = done["h"] / max(time.perf_counter() - started, 1e-9)
            bar.update(task, advance=1, hours=f"{_amount(done['h'] * 3600)} of "
                       f"{_amount(total_h * 3600)} audio, {rate:.3f} audio-h/s")
            if line["status"] == "error":
                done["failed"] += 1
                err_console.print(f"error: {line['message']}", markup=False)
            if as_json:
                console.print(json.dumps(line), markup=False)

        records = run_on_ray(todo, options, ray_options, model=model, engine=engine,
                             on_record=on_record, on_start=on_start, sizes=sizes)
    if not quiet and not as_json:
        seconds = time.perf_counter() - started
        ok = sum(r["status"] == "ok" for r in records)
        err_console.print(
            f"{ok} transcribed, {done['failed']} failed; {_amount(done['h'] * 3600)} of audio in "
            f"{seconds:.1f} s ({done['h'] * 3600 / max(seconds, 1e-9):.0f}x real time)", markup=False)
    return done["failed"]


def _amount(seconds: float) -> str:
    """Audio length for people: ``42 s``, ``12.5 min`` or ``3.25 h``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.2f} h"
