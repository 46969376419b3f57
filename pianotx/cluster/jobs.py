"""One job run where the model lives: transcribe, write the missing outputs, report.

:func:`run_job` never raises for a bad input: a :class:`PianotxError` (unreadable, silent,
corrupt audio; an unwritable output) becomes an ``error`` record with its one-line message,
so one bad file never stops a batch. Outputs are written atomically, so a worker killed
mid-file leaves none half-written (its hidden ``.part`` file is removed when the job is
run again).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from pianotx.cluster.manifest import Job, missing_targets, record
from pianotx.config import DecodeConfig
from pianotx.errors import PianotxError


@dataclass(frozen=True)
class JobOptions:
    """What every job of a batch shares (the single-machine options of ``transcribe``)."""

    decode: DecodeConfig
    pedal: str | None = None
    tempo_bpm: float = 120.0
    batch_size: int = 8
    overwrite: bool = False
    meter_changes: bool = False  # of the MusicXML score (pianotx.score.chain.analyse)
    key_changes: bool = False
    time_signature: str | None = None  # the user's, e.g. "3/4" (None: found)


def run_job(model, job: Job, options: JobOptions) -> dict:  # type: ignore[no-untyped-def]
    """Transcribe ``job.source`` with ``model`` and write its outputs; its manifest line.

    Outputs that already exist are kept (the job is resumed) unless ``options.overwrite``.
    """
    from pianotx.api import transcribe_file
    from pianotx.music.outputs import write_outputs
    from pianotx.engine.decode import apply_pedal_mode

    started = time.perf_counter()
    targets = dict(job.targets) if options.overwrite else missing_targets(job)
    where = {"host": os.uname().nodename, "pid": os.getpid()}
    if not targets:
        return record(job, "skipped", outputs=job.targets, **where)
    try:
        for path in map(Path, targets.values()):
            path.parent.mkdir(parents=True, exist_ok=True)
            for stale in path.parent.glob(f".{path.name}.*.part"):  # a killed attempt's
                stale.unlink(missing_ok=True)
        (notes, pedals), duration_s = transcribe_file(
            Path(job.source), model=model, decode=options.decode, batch_size=options.batch_size)
        notes, pedals = apply_pedal_mode(notes, pedals, mode=options.pedal or options.decode.pedal)
        write_outputs(notes, pedals, {k: Path(v) for k, v in targets.items()},
                      tempo_bpm=options.tempo_bpm, overwrite=options.overwrite,
                      meter_changes=options.meter_changes, key_changes=options.key_changes,
                      time_signature=options.time_signature)
    except (PianotxError, OSError) as exc:
        message = str(exc) if isinstance(exc, PianotxError) else f"{job.source}: {exc}"
        return record(job, "error", message=message.splitlines()[0] if message else repr(exc),
                      seconds=round(time.perf_counter() - started, 3), **where)
    return record(job, "ok", outputs=job.targets, notes=len(notes), pedals=len(pedals),
                  duration_s=round(duration_s, 3),
                  seconds=round(time.perf_counter() - started, 3), **where)
