"""Time a training run has spent, across resumes: CPU seconds (its threads, its data
loader workers, running or ended) and wall seconds."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

try:
    import resource
except ImportError:  # Windows
    resource = None

if TYPE_CHECKING:
    from pianotx.training.loop import Run


def process_cpu_s() -> float:
    """CPU seconds of this process (all its threads) and of its child processes: the data
    loader workers, running (Linux's /proc) or ended."""
    if resource is None:  # Windows: this process only
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime + _live_children_cpu_s()


def _live_children_cpu_s() -> float:
    """CPU seconds of this process's running children, from /proc (0 where there is none)."""
    me, ticks, total = os.getpid(), os.sysconf("SC_CLK_TCK"), 0
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == me:  # ppid; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def spent_s(run: Run) -> tuple[float, float]:
    """CPU and wall seconds the run has spent so far, across resumes (validation included)."""
    cpu0, wall0 = run.clock0
    if not wall0:  # this invocation has not started training
        return run.cpu_s, run.wall_s
    return run.cpu_s + process_cpu_s() - cpu0, run.wall_s + time.perf_counter() - wall0


def spent_hours(run: Run) -> dict[str, float]:
    """:func:`spent_s` in hours, as logged (``cpu_h``, ``wall_h``)."""
    cpu, wall = spent_s(run)
    return {"cpu_h": round(cpu / 3600, 6), "wall_h": round(wall / 3600, 6)}


def over_budget(run: Run) -> bool:
    """Whether the run has spent its ``cpu_hours`` (this invocation then ends: validated,
    saved, resumable)."""
    budget = run.config.cpu_hours
    return budget is not None and spent_s(run)[0] >= budget * 3600
