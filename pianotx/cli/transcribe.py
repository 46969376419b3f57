"""``pianotx transcribe``: audio files or folders -> MIDI files."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import (INTERRUPTED, KEY_CHANGES, METER_CHANGES, TIME_SIGNATURE, check_decode,
                                check_device, check_engine, check_time_signature, console,
                                err_console, fail, user_errors)
from pianotx.cli.outputs import format_of, parse_formats, plan_outputs, write_outputs
from pianotx.config import PEDAL_MODES


@app.command()
def transcribe(
    audio: List[Path] = typer.Argument(..., help="Audio files (wav, flac, ogg, mp3, aiff) or folders."),
    out: Optional[Path] = typer.Option(
        None, "-o", "--out",
        help="Output file (one input file: .mid, .csv, .json or .musicxml; the other formats take "
             "its stem) or folder (several inputs or a folder: its subfolders are mirrored)."
    ),
    formats: Optional[str] = typer.Option(
        None, "--format",
        help="Comma list of outputs: mid, csv, json, musicxml (e.g. mid,csv,json) "
             "[default: the -o file's kind, else mid]."),
    tempo: Optional[float] = typer.Option(
        None, "--tempo", min=4.0, max=1000.0,
        help="Tempo written into the MIDI, in BPM; note times in seconds stay exact [default: 120]."),
    model: Optional[str] = typer.Option(None, "--model", help="Bundled model name (see info)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="A .pt checkpoint."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N or mps."),
    engine: str = typer.Option(
        "auto", "--engine", metavar="ENGINE",
        help="torch, onnx (ONNX Runtime, CPU, no torch import) or auto (onnx on a CPU when "
             "the model has an .onnx export)."),
    onset_threshold: Optional[float] = typer.Option(None, help="Override the model's default."),
    frame_threshold: Optional[float] = typer.Option(None, help="Override the model's default."),
    onset_bass_slope: Optional[float] = typer.Option(
        None, metavar="S",
        help="Override the model's bass onset threshold: S higher per octave below middle C "
             "(0: the same threshold for every key)."),
    pedal: Optional[str] = typer.Option(
        None, "--pedal", metavar="MODE",
        help="Predicted sustain pedal: cc64 (CC64 events), extend (note lengths held by "
             "the pedal, no CC64) or none [default: the model's, see pianotx info]."),
    batch_size: int = typer.Option(8, min=1, help="10 s windows per forward pass."),
    jobs: int = typer.Option(
        1, "--jobs", "-j", min=1,
        help="Files transcribed at once (each GPU gets its own copy of the model)."),
    ray: Optional[str] = typer.Option(
        None, "--ray", metavar="[ADDRESS]",
        help="Run on Ray (pip install 'pianotx[cluster]'): alone, a local Ray; 'auto' or "
             "ray://host:port joins a cluster. Outputs mirror the input tree under -o OUT, "
             "with OUT/manifest.jsonl; a rerun skips finished files. --jobs sets the workers "
             "[default: one per CPU]."),
    gpus_per_worker: float = typer.Option(
        0.0, "--gpus-per-worker", min=0.0, help="With --ray: GPUs each worker reserves."),
    meter_changes: bool = METER_CHANGES,
    key_changes: bool = KEY_CHANGES,
    time_signature: Optional[str] = TIME_SIGNATURE,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output files."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary lines; errors only."),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object per file (path, outputs, notes, pedals, duration_s, seconds; "
             "path and error for a file that failed)."),
) -> None:
    """Transcribe piano recordings to MIDI, CSV or JSON note lists, or MusicXML scores."""
    wanted = _check_options(formats=formats, out=out, model=model, checkpoint=checkpoint,
                            device=device, engine=engine, pedal=pedal, ray=ray,
                            meter_changes=meter_changes, key_changes=key_changes,
                            time_signature=time_signature)
    changes = _decode_changes(onset_threshold, frame_threshold, onset_bass_slope)
    check_decode(**changes)
    with user_errors():
        if "musicxml" in wanted:  # a missing extra fails before any audio is read
            from pianotx.score.extra import require

            require("partitura")
        if ray is not None:
            from pianotx.cli.batch import transcribe_on_ray
            from pianotx.api import load_model

            name = str(checkpoint) if checkpoint is not None else model
            base = load_model(name, device="cpu", engine=engine).decode_config  # fails here, once
            if not transcribe_on_ray(
                    audio, out, address=ray, formats=wanted, model=name, engine=engine,
                    decode=dataclasses.replace(base, **changes),
                    pedal=pedal,
                    tempo_bpm=tempo or 120.0, batch_size=batch_size, overwrite=overwrite,
                    meter_changes=meter_changes, key_changes=key_changes,
                    time_signature=time_signature, workers=jobs if jobs > 1 else 0, gpus_per_worker=gpus_per_worker,
                    quiet=quiet, as_json=as_json):
                raise typer.Exit(1)
            return
        from pianotx.cluster.manifest import collect_tree

        tree = collect_tree(audio)  # folders expanded (recursively, sorted, hidden files skipped)
        inputs = [path for path, _ in tree]
        targets = plan_outputs(tree, out, formats=wanted, overwrite=overwrite,
                               folder=any(path.is_dir() for path in audio))
        from pianotx.api import load_model

        models = [load_model(checkpoint if checkpoint is not None else model, device=name,
                             engine=engine)
                  for name in _devices(device, jobs)]
        decode = dataclasses.replace(models[0].decode_config, **changes)

    def one(index: int) -> bool:
        try:
            with user_errors(), _failure_record(inputs[index], as_json=as_json):
                report = _transcribe_one(
                    models[index % len(models)], inputs[index], targets[index], decode=decode,
                    overwrite=overwrite, tempo_bpm=tempo or 120.0, batch_size=batch_size,
                    pedal=pedal, progress=not (quiet or as_json or jobs > 1),
                    score_changes={"meter_changes": meter_changes, "key_changes": key_changes,
                                   "time_signature": time_signature})
            _print_report(report, quiet=quiet, as_json=as_json)
            return True
        except typer.Exit as exc:
            if exc.exit_code == 130:  # Ctrl-C stops the batch, not only this file
                raise
            return False

    if jobs == 1 or len(inputs) == 1:
        results = [one(i) for i in range(len(inputs))]
    else:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            results = list(pool.map(one, range(len(inputs))))
        except KeyboardInterrupt:  # the files in flight finish; the others are not started
            pool.shutdown(wait=False, cancel_futures=True)
            raise fail(INTERRUPTED, code=130) from None
        pool.shutdown()
    if not all(results):
        raise typer.Exit(1)


@contextlib.contextmanager
def _failure_record(source: Path, *, as_json: bool) -> Iterator[None]:
    """With ``--json``, a file that fails gets its JSON line too (``path``, ``error``)."""
    from pianotx.errors import PianotxError

    try:
        yield
    except PianotxError as exc:
        if as_json:
            _print_report({"path": str(source), "error": str(exc)}, quiet=False, as_json=True)
        raise


def _devices(device: str, jobs: int) -> list[str]:
    """One device per model copy: every GPU for ``auto`` with several jobs, else ``device``."""
    from pianotx.engine.onnx_engine import nvidia_gpu_visible

    if device == "auto" and jobs > 1 and nvidia_gpu_visible():
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count > 1:
            return [f"cuda:{i}" for i in range(min(count, jobs))]
    return [device]


def _check_options(*, formats: str | None, out: Path | None, model: str | None,
                   checkpoint: Path | None, device: str, engine: str, pedal: str | None,
                   ray: str | None, meter_changes: bool, key_changes: bool,
                   time_signature: str | None) -> list[str]:
    """The output formats asked for; any usage error (exit 2) before a file is read."""
    if model is not None and checkpoint is not None:
        raise fail("--model and --checkpoint exclude each other; give one", code=2)
    from pianotx.errors import ConfigError

    try:
        wanted = parse_formats(formats or format_of(out))
    except ConfigError as exc:
        raise fail(str(exc), code=2) from None
    if pedal is not None and pedal not in PEDAL_MODES:
        raise fail(f"unknown --pedal {pedal!r}; use {', '.join(PEDAL_MODES)}", code=2)
    if (meter_changes or key_changes or time_signature is not None) and "musicxml" not in wanted:
        flag = ("--meter-changes" if meter_changes else "--key-changes" if key_changes
                else "--time-signature")
        raise fail(f"{flag} shapes the MusicXML score; add --format musicxml or "
                   "-o NAME.musicxml", code=2)
    check_time_signature(time_signature, meter_changes=meter_changes)
    check_device(device)
    check_engine(engine, device="cpu" if ray is not None else device)
    if ray is not None and out is None:
        raise fail("--ray needs -o OUT, the folder the outputs (and manifest.jsonl) go to", code=2)
    return wanted


def _decode_changes(onset_threshold: float | None, frame_threshold: float | None,
                    bass_slope: float | None) -> dict[str, float]:
    """The decode settings the options override (range-checked by :func:`check_decode`)."""
    given = {"onset_threshold": onset_threshold, "frame_threshold": frame_threshold,
             "onset_bass_slope": bass_slope}
    return {name: value for name, value in given.items() if value is not None}


def _transcribe_one(  # type: ignore[no-untyped-def]
    loaded, source: Path, targets: dict[str, Path], *, decode, overwrite: bool, tempo_bpm: float,
    batch_size: int, progress: bool, pedal: str | None, score_changes: dict,
) -> dict:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from pianotx.api import transcribe_file

    started = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(
        *columns, console=err_console, transient=True, disable=not (progress and err_console.is_terminal)
    ) as bar:
        task = bar.add_task(source.name, total=None)
        (notes, pedals), duration_s = transcribe_file(
            source, model=loaded, decode=decode, batch_size=batch_size,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    from pianotx.engine.decode import apply_pedal_mode

    notes, pedals = apply_pedal_mode(notes, pedals, mode=pedal or (decode or loaded.decode_config).pedal)
    write_outputs(notes, pedals, targets, tempo_bpm=tempo_bpm, overwrite=overwrite, **score_changes)
    from pianotx.audio.load import audio_seconds

    header_s = audio_seconds(source)
    warning = {}
    if header_s is not None and duration_s < header_s - max(0.5, 0.05 * header_s):
        warning = {"warning": f"decoded {duration_s:.1f} s where the header says {header_s:.1f} s; "
                              "the file may be cut short"}
    return {"path": str(source), **warning, "outputs": {f: str(p) for f, p in targets.items()},
            "notes": len(notes), "pedals": len(pedals), "duration_s": round(duration_s, 3),
            "seconds": round(time.perf_counter() - started, 3)}


def _print_report(report: dict, *, quiet: bool, as_json: bool) -> None:
    if as_json:
        import json

        console.print(json.dumps(report), markup=False)
    elif not quiet:
        if "warning" in report:
            err_console.print(f"warning: {report['path']}: {report['warning']}", markup=False)
        speed = report["duration_s"] / max(report["seconds"], 1e-9)
        console.print(
            f"{report['path']} -> {', '.join(report['outputs'].values())}: {report['notes']} notes, "
            f"{report['duration_s']:.1f} s of audio, {report['seconds']:.1f} s ({speed:.0f}x real time)",
            markup=False,
        )
