"""``pianotx eval``: score checkpoints, or another transcriber's MIDI files, on a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, NamedTuple, Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import check_decode, check_device, console, err_console, fail, user_errors

FORMATS = ("table", "markdown", "json", "csv")


@app.command("eval")
def eval_command(
    data: Path = typer.Option(
        ..., "--data", metavar="DIR", help="Dataset folder (MAESTRO or audio/MIDI pairs)."
    ),
    split: str = typer.Option("test", metavar="SPLIT", help="train, validation, test or all."),
    model: Optional[List[str]] = typer.Option(
        None, "--model", metavar="NAME", help="Bundled model name; repeatable."
    ),
    checkpoint: Optional[List[Path]] = typer.Option(
        None, "--checkpoint", metavar="PATH", help="Checkpoint file; repeatable."
    ),
    pred_dir: Optional[List[Path]] = typer.Option(
        None, "--pred-dir", metavar="DIR",
        help="MIDI files from any transcriber, named after the audio files (in the same "
             "subfolders as in --data where names repeat); repeatable.",
    ),
    pred_suffix: str = typer.Option(
        "", metavar="TEXT", help="What that transcriber appends to each output file's stem."
    ),
    missing_as_empty: bool = typer.Option(
        False, "--missing-as-empty", help="Score a missing prediction as empty, not an error."
    ),
    per_piece: bool = typer.Option(False, "--per-piece", help="A row per piece before the mean."),
    fmt: str = typer.Option(
        "table", "--format", metavar="FORMAT", help="table, markdown, json or csv."
    ),
    out: Optional[Path] = typer.Option(
        None, "-o", "--out", metavar="FILE", help="Write the report here instead of stdout."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file."),
    sweep: bool = typer.Option(
        False, "--sweep", help="First choose decode thresholds on the validation split."
    ),
    sweep_data: Optional[Path] = typer.Option(
        None, "--sweep-data", metavar="DIR",
        help="With --sweep: choose on every piece of this dataset folder instead of --data's "
             "validation split (e.g. real recordings)."
    ),
    save_decode: bool = typer.Option(
        False, "--save-decode", help="With --sweep: store the thresholds in the checkpoint."
    ),
    onset_threshold: Optional[float] = typer.Option(
        None, metavar="P", help="Override the model's onset threshold."
    ),
    frame_threshold: Optional[float] = typer.Option(
        None, metavar="P", help="Override the model's frame threshold."
    ),
    onset_bass_slope: Optional[float] = typer.Option(
        None, metavar="S",
        help="Override the model's onset-threshold rise per octave below middle C."
    ),
    pedal: Optional[str] = typer.Option(
        None, "--pedal", metavar="MODE",
        help="Override the model's pedal mode: cc64, extend or none (see transcribe --pedal)."
    ),
    limit: Optional[int] = typer.Option(None, min=1, metavar="N", help="Only the first N pieces."),
    device: str = typer.Option("auto", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps."),
    batch_size: int = typer.Option(8, min=1, metavar="N", help="10 s windows per forward pass."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or notes on stderr."),
    as_json: bool = typer.Option(
        False, "--json", help="Same as --format json --quiet: one JSON document on stdout."
    ),
) -> None:
    """Score models, or another transcriber's MIDI files, against a dataset's references.

    Frame precision/recall/F1/accuracy at 100 frames/s and mir_eval note F1s (onset,
    +offset, +offset+velocity) against pedal-extended references, averaged over pieces.
    """
    if as_json:
        fmt, quiet = "json", True
    overrides = {k: v for k, v in (("onset_threshold", onset_threshold),
                                   ("frame_threshold", frame_threshold),
                                   ("onset_bass_slope", onset_bass_slope),
                                   ("pedal", pedal)) if v is not None}
    _check_usage(fmt=fmt, split=split, sweep=sweep, sweep_data=sweep_data,
                 save_decode=save_decode, checkpoint=checkpoint, model=model, pred_dir=pred_dir,
                 overrides=overrides, device=device)
    with user_errors():
        from pianotx.evaluation.evaluate import load_items

        _check_files(save_decode=save_decode, checkpoint=checkpoint, pred_dir=pred_dir, out=out,
                     overwrite=overwrite)
        sources = [("model", m) for m in model or []]
        sources += [("checkpoint", c) for c in checkpoint or []]
        sources += [("predictions", p) for p in pred_dir or []]
        from pianotx.errors import require

        require("mir_eval", "scoring")
        if model or checkpoint or not pred_dir:
            require("torch", "evaluating a model")
        run = _Run(data, limit, device, batch_size, sweep, save_decode, overrides, quiet,
                   pred_suffix, missing_as_empty, sweep_data)
        items = load_items(data, split=None if split == "all" else split, limit=limit)
        sources = sources or [("model", None)]  # the bundled default model
        reports = [_run_source(kind, value, items, run) for kind, value in sources]
        _emit(_render(reports, fmt=fmt, per_piece=per_piece, split=split),
              fmt=fmt, out=out, overwrite=overwrite, quiet=quiet)


class _Run(NamedTuple):
    """The command's options that shape how each source is evaluated."""

    data: Path
    limit: Optional[int]
    device: str
    batch_size: int
    sweep: bool
    save_decode: bool
    overrides: dict
    quiet: bool
    pred_suffix: str
    missing_as_empty: bool
    sweep_data: Optional[Path] = None


def _check_usage(
    *, fmt, split, sweep, sweep_data, save_decode, checkpoint, model, pred_dir, overrides, device
) -> None:
    """Refuse inconsistent options (a usage error, exit 2) before any file is read."""
    from pianotx.data.readers import SPLITS

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", code=2)
    if split not in (*SPLITS, "all"):
        raise fail(f"unknown split {split!r}; use one of {', '.join(SPLITS)} or all", code=2)
    if save_decode and not (sweep and checkpoint):
        raise fail("--save-decode needs --sweep and a --checkpoint to save into", code=2)
    if sweep and pred_dir and not (model or checkpoint):
        raise fail("--sweep tunes a model's thresholds; give --model or --checkpoint", code=2)
    if sweep_data is not None and not sweep:
        raise fail("--sweep-data needs --sweep", code=2)
    check_decode(**overrides)  # range checks now, not after a model has loaded
    check_device(device)


def _check_files(*, save_decode, checkpoint, pred_dir, out, overwrite) -> None:
    """Refuse unusable inputs and outputs (exit 1) before any slow work starts."""
    from pianotx.evaluation.decode_defaults import check_save_decode
    from pianotx.evaluation.matching import check_pred_dir
    from pianotx.files import check_output

    for path in (checkpoint or []) if save_decode else []:
        check_save_decode(path)  # an export beside it must be made again afterwards
    for path in pred_dir or []:
        check_pred_dir(path)
    if out is not None:
        check_output(out, overwrite=overwrite)


def _emit(text: Any, *, fmt: str, out: Optional[Path], overwrite: bool, quiet: bool) -> None:
    """Print the report, or write it atomically to ``out``."""
    if out is None:
        if fmt == "table":
            _print_wide(text)
        else:
            console.file.write(text)
        return
    from pianotx.files import write_bytes_atomic

    write_bytes_atomic(out, _plain(text).encode(), overwrite=overwrite)
    if not quiet:
        err_console.print(f"wrote {out}", markup=False)


def _run_source(kind: str, value: Any, items: list, run: _Run) -> dict:
    """Evaluate one source; return its report: name, kind, decode, mean and per-piece scores."""
    from pianotx.evaluation.evaluate import coverage, evaluate_model, evaluate_predictions, summarize

    if kind == "predictions":
        name, decode = Path(value).name or str(value), None
        with _progress(f"scoring {name}", quiet=run.quiet) as on_progress:
            results = evaluate_predictions(value, items, suffix=run.pred_suffix,
                                           missing_as_empty=run.missing_as_empty,
                                           root=run.data, on_progress=on_progress)
    else:
        loaded, name = _load(kind, value, device=run.device)
        decode = _decode_for(loaded, kind, value, run)
        with _progress(f"evaluating {name}", quiet=run.quiet) as on_progress:
            results = evaluate_model(loaded, items, decode=decode, batch_size=run.batch_size,
                                     on_progress=on_progress)
    return {
        "name": name,
        "kind": kind,
        "source": None if value is None else str(value),
        "decode": None if decode is None else _asdict(decode),
        "n_pieces": len(results),
        "mean": summarize(results),
        "covered": coverage(results),
        "pieces": [{"piece": r.piece, "title": r.title, "scores": r.scores} for r in results],
    }


def _asdict(config: Any) -> dict:
    from pianotx.config import to_dict

    return to_dict(config)


def _load(kind: str, value: Any, *, device: str) -> tuple[Any, str]:
    from pianotx.api import load_model

    loaded = load_model(value, device=device, engine="torch")
    return loaded, (str(value) if kind == "checkpoint" else loaded.name)


def _decode_for(loaded: Any, kind: str, value: Any, run: _Run) -> Any:
    """The model's decode settings with the command's overrides, then swept when asked."""
    import dataclasses

    from pianotx.evaluation.evaluate import load_items, sweep_thresholds

    decode = dataclasses.replace(loaded.decode_config, **run.overrides)
    if not run.sweep:
        return decode
    loaded = dataclasses.replace(loaded, decode_config=decode)
    if run.sweep_data is not None:
        val_items = load_items(run.sweep_data, split=None, limit=run.limit)
    else:
        val_items = load_items(run.data, split="validation", limit=run.limit)
    with _progress(f"sweeping {loaded.name}", quiet=run.quiet) as on_progress:
        result = sweep_thresholds(loaded, val_items, batch_size=run.batch_size,
                                  on_progress=on_progress)
    if not run.quiet:
        chosen = ", ".join(f"{k}={getattr(result.decode, k)}" for k in result.swept)
        err_console.print(f"sweep on {len(val_items)} piece(s) chose {chosen} "
                          f"({result.metric} {result.score:.4f})", markup=False)
    if run.save_decode and kind == "checkpoint":
        from pianotx.evaluation.decode_defaults import save_decode

        exported = save_decode(value, result.decode)
        if not run.quiet:
            also = f" and exported {exported} again" if exported else ""
            err_console.print(f"saved decode defaults into {value}{also}", markup=False)
    return result.decode


def _progress(label: str, *, quiet: bool):
    """A context giving an ``on_progress(done, total, title)`` callback drawing a bar on stderr."""
    import contextlib

    if quiet or not err_console.is_terminal:
        return contextlib.nullcontext(None)

    @contextlib.contextmanager
    def bar():
        from rich.progress import Progress

        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task(label, total=None)

            def on_progress(done: int, total: int, title: str) -> None:
                progress.update(task, completed=done, total=total, description=f"{label}: {title}")

            yield on_progress

    return bar()


def _render(reports: list[dict], *, fmt: str, per_piece: bool, split: str) -> Any:
    from pianotx.cli import eval_report

    return eval_report.render(reports, fmt=fmt, per_piece=per_piece, split=split)


def _print_wide(renderable: Any) -> None:
    """Print on stdout, widening past the terminal rather than squeezing to ellipses."""
    from rich.console import Console

    needed = _width(renderable)
    if needed <= console.width:
        console.print(renderable)
    else:
        wide = Console(width=needed, file=console.file, highlight=False,
                       force_terminal=console.is_terminal)
        wide.print(renderable)


def _width(renderable: Any) -> int:
    """Columns a renderable needs unwrapped (a wide table beats one squeezed to ellipses)."""
    from rich.measure import Measurement

    options = console.options.update_width(1000)
    return Measurement.get(console, options, renderable).maximum


def _plain(text: Any) -> str:
    """A rich renderable (the table format) as plain text, or a string unchanged."""
    if isinstance(text, str):
        return text
    import io

    from rich.console import Console

    capture = Console(width=_width(text), file=io.StringIO(), highlight=False)
    capture.print(text)
    return capture.file.getvalue()
