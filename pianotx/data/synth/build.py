"""Render planned items into a dataset folder in MAESTRO's layout, in parallel and resumably.

The folder holds ``YEAR/NAME.flac`` (16-bit, mono) + ``YEAR/NAME.midi`` pairs (the MIDI,
with CC64 pedal, is the label) and ``synth.csv`` with MAESTRO v3's columns first, then
source, timbre, piece_id and seed. Every file is written atomically; a progress log lets
a rerun skip finished items, and the CSV is rewritten at the end of each run. The settings
that shape the items are kept in ``synth.json``, so a rerun with other settings is refused.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import time
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np

from pianotx.files import write_bytes_atomic
from pianotx.data.synth.folder import (  # noqa: F401  (the folder's names, kept importable here)
    CSV_NAME, EXTRA_COLUMNS, LOG_NAME, MAESTRO_COLUMNS, SETTINGS_NAME,
    check_settings, dataset_settings, open_folder, remove_stale_parts,
)
from pianotx.data.synth.plan import Item, SynthConfig, plan
from pianotx.data.synth.timbres import Timbre

# measured x real time per CPU-second of each engine (docs/SYNTH.md); used only to order work
ENGINE_SPEED = {"fluidsynth": 30.0, "sfizz": 80.0, "tinysoundfont": 250.0}
PARSE_GUESS_S = 3.0  # a corpus item may first have to parse its works with music21


class Done(NamedTuple):
    """A finished item: its metadata row and how long rendering took."""

    row: dict
    render_s: float
    skipped: bool


ProgressFn = Callable[[Done, int, int], None]


def make_item(
    item: Item, timbre: Timbre, out_dir: Path, config: SynthConfig, corpus_cache: Path | None = None
) -> Done:
    """Compose, render and write one item (audio first, then MIDI, both atomically)."""
    import soundfile as sf

    from pianotx.music.midi import notes_to_midi, write_midi
    from pianotx.data.synth.plan import compose, dynamics_factor, scale_dynamics
    from pianotx.data.synth.render import peak_normalize, render

    notes, pedals, composer, title, piece_id = compose(item, corpus_cache=corpus_cache)
    factor = dynamics_factor(item, config.dynamics)
    if factor != 1.0:
        notes = scale_dynamics(notes, factor)
    rng = np.random.default_rng([item.seed, 1])
    reverb = float(rng.uniform(0.1, 0.6)) if rng.random() < config.reverb_chance else 0.0
    start = time.perf_counter()
    audio = render(timbre, notes, pedals, sample_rate=config.sample_rate, reverb=reverb, seed=item.seed)
    render_s = time.perf_counter() - start
    audio = peak_normalize(audio, peak_dbfs=float(rng.uniform(*config.peak_dbfs)))
    audio_name, midi_name = f"{config.year}/{item.name}.flac", f"{config.year}/{item.name}.midi"
    (out_dir / str(config.year)).mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    sf.write(buffer, audio, config.sample_rate, format="FLAC", subtype="PCM_16")
    write_bytes_atomic(out_dir / audio_name, buffer.getvalue(), overwrite=True)
    write_midi(notes_to_midi(notes, pedals=pedals), out_dir / midi_name, overwrite=True)
    row = {
        "canonical_composer": composer, "canonical_title": title, "split": item.split,
        "year": config.year, "midi_filename": midi_name, "audio_filename": audio_name,
        "duration": round(len(audio) / config.sample_rate, 3), "source": item.source,
        "timbre": item.timbre, "piece_id": piece_id, "seed": item.seed, "dynamics": round(factor, 3),
    }
    return Done(row, render_s, skipped=False)


def _work(job: tuple) -> Done:
    return make_item(*job)


def cost_s(item: Item, timbre: Timbre) -> float:
    """A rough CPU cost of making ``item``, to start the slowest items first."""
    parse_s = PARSE_GUESS_S if item.source != "procedural" else 0.0
    return item.target_s / ENGINE_SPEED.get(timbre.engine, 30.0) + parse_s


def _finished(out_dir: Path, names: set[str]) -> dict[str, dict]:
    """Rows of items a previous run finished whose files are still there."""
    rows = {}
    log = out_dir / LOG_NAME
    if not log.is_file():
        return rows
    for line in log.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut by an interrupt
            continue
        stem = Path(row.get("audio_filename", "")).stem
        if stem in names and all((out_dir / row[k]).is_file() for k in ("audio_filename", "midi_filename")):
            rows[stem] = row
    return rows


def check_dataset(
    out_dir: Path, config: SynthConfig, timbres: Sequence[Timbre], *, works: Sequence = (),
    recordings: Sequence = (),
) -> None:
    """Raise :class:`~pianotx.errors.SynthError` if :func:`build_dataset` would refuse these
    arguments: a plan that cannot be made (no training timbre), or an ``out_dir`` that is a
    file, a folder of something else, or a dataset made with other settings. Writes nothing."""
    _plan_for(Path(out_dir), config, timbres, works, recordings)


def _plan_for(out_dir: Path, config: SynthConfig, timbres: Sequence[Timbre], works: Sequence,
              recordings: Sequence) -> tuple[list[Item], dict]:
    names = [t.name for t in timbres]  # a timbre named twice is taken twice as often (plan)
    items = plan(config, names, works, recordings)
    settings = dataset_settings(config, names, works, recordings)
    check_settings(out_dir, settings)
    return items, settings


def build_dataset(
    out_dir: Path,
    config: SynthConfig,
    timbres: Sequence[Timbre],
    *,
    works: Sequence = (),
    recordings: Sequence = (),
    workers: int = 1,
    corpus_cache: Path | None = None,
    on_progress: ProgressFn | None = None,
) -> list[dict]:
    """Make (or finish) a dataset in ``out_dir``; return the metadata rows.

    Parameters
    ----------
    out_dir : Path
        Dataset folder, created if needed: new, empty, or a dataset made with the same
        settings (see :func:`pianotx.data.synth.folder.open_folder`); ``config.hours`` may
        differ (more hours extend the dataset).
    config : SynthConfig
    timbres : sequence of Timbre
        Found and prepared timbres (see :func:`pianotx.data.synth.timbres.prepare_timbre`).
    works : sequence of corpus.Work
        Corpus works to draw music from; empty for procedural music only.
    recordings : sequence of midisource.Recording
        Performance MIDI to cut segments from (see :func:`pianotx.data.synth.plan.plan`).
    workers : int >= 1
        Processes rendering in parallel.
    corpus_cache : Path, optional
        Folder of parsed corpus works, filled as works are first parsed (``None``: no cache).
    on_progress : callable(done, n_finished, n_items), optional
        Called in this process after each item, skipped ones included.

    Raises
    ------
    SynthError
        Where :func:`check_dataset` raises; the folder is then left as it was.
    """
    out_dir = Path(out_dir)
    by_name = {t.name: t for t in timbres}
    items, settings = _plan_for(out_dir, config, timbres, works, recordings)
    open_folder(out_dir, settings)
    remove_stale_parts(_planned_files(out_dir, items, config))  # left by a killed worker
    rows = _finished(out_dir, {i.name for i in items})
    todo = [(i, by_name[i.timbre], out_dir, config, corpus_cache) for i in items if i.name not in rows]
    count = 0
    for name in [i.name for i in items if i.name in rows]:
        count += 1
        if on_progress:
            on_progress(Done(rows[name], 0.0, skipped=True), count, len(items))
    with open(out_dir / LOG_NAME, "a") as log:
        for done in _run(todo, workers):
            rows[Path(done.row["audio_filename"]).stem] = done.row
            log.write(json.dumps(done.row) + "\n")
            log.flush()
            count += 1
            if on_progress:
                on_progress(done, count, len(items))
    ordered = [rows[i.name] for i in items]
    write_csv(ordered, out_dir / CSV_NAME)
    return ordered


def _planned_files(out_dir: Path, items: Sequence[Item], config: SynthConfig) -> list[Path]:
    folder = out_dir / str(config.year)
    made = [folder / f"{i.name}{suffix}" for i in items for suffix in (".flac", ".midi")]
    return [out_dir / CSV_NAME, out_dir / SETTINGS_NAME, *made]


def _run(jobs: list[tuple], workers: int):
    if workers <= 1 or len(jobs) <= 1:
        yield from map(_work, jobs)
        return
    # slowest items first, so the last ones are short and no core idles at the end
    jobs = sorted(jobs, key=lambda j: -cost_s(j[0], j[1]))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap_unordered(_work, jobs, chunksize=1)


def write_csv(rows: Sequence[dict], path: Path) -> None:
    """Write metadata rows with MAESTRO's columns first, atomically."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=MAESTRO_COLUMNS + EXTRA_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_bytes_atomic(Path(path), text.getvalue().encode(), overwrite=True)
