"""Spread transcription jobs over Ray actors, one loaded model each, and survive losing them.

The driver holds the job list (read once) and hands one job at a time to each idle actor,
largest files first. A result is passed to ``on_record`` as it arrives (the CLI appends it
to the manifest). An actor that dies (its process killed, its node lost) is replaced and
its job given to the next idle actor, up to ``max_attempts`` times in all; the outputs of
the lost attempt were never renamed into place, so nothing partial remains.

Workers import the pianotx installed on each node: no ``working_dir`` is shipped, so a
copy of the source tree never shadows the installed package.
"""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass
from typing import Callable, Sequence

from pianotx.cluster.jobs import JobOptions, run_job
from pianotx.cluster.manifest import Job, record
from pianotx.errors import ConfigError, MissingExtraError


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide: ``address`` None starts a local Ray in this process, ``auto`` or
    ``ray://host:port`` joins a running cluster."""

    address: str | None = None
    workers: int = 0  # actors; 0: as many as the cluster's CPUs (or GPUs) allow
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    max_attempts: int = 3
    local_cpus: int | None = None  # CPUs a local Ray may use (None: all)

    def __post_init__(self) -> None:
        if self.workers < 0 or self.cpus_per_worker <= 0 or self.gpus_per_worker < 0:
            raise ConfigError("workers must be >= 0, CPUs per worker > 0, GPUs per worker >= 0")
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts must be >= 1, got {self.max_attempts}")


def require_ray():  # type: ignore[no-untyped-def]
    """The ray module, or one clear line naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise MissingExtraError("--ray needs Ray: pip install 'pianotx[cluster]'") from None
    return ray


def worker_count(resources: dict, options: RayOptions) -> int:
    """Actors to start on a cluster with ``resources`` (``ray.cluster_resources()``)."""
    if options.workers:
        return options.workers
    fits = math.floor(resources.get("CPU", 1.0) / options.cpus_per_worker + 1e-9)
    if options.gpus_per_worker > 0:
        fits = min(fits, math.floor(resources.get("GPU", 0.0) / options.gpus_per_worker + 1e-9))
        if fits < 1:
            raise ConfigError(f"the Ray cluster has {resources.get('GPU', 0):g} GPUs; "
                              f"--gpus-per-worker {options.gpus_per_worker:g} fits no worker")
    return max(1, fits)


class _Transcriber:
    """A Ray actor: one loaded model, one job at a time."""

    def __init__(self, model: str | None, engine: str, threads: int, gpu: bool) -> None:
        from pianotx.api import load_model

        self.model = load_model(model, device="cuda" if gpu else "cpu", engine=engine,
                                threads=threads)  # as many threads as CPUs reserved

    def run(self, job: Job, options: JobOptions) -> dict:
        return run_job(self.model, job, options)

    def pid(self) -> int:
        return os.getpid()


def run_on_ray(
    jobs: Sequence[Job], options: JobOptions, ray_options: RayOptions, *,
    model: str | None, engine: str = "auto", on_record: Callable[[dict], None] = lambda r: None,
    on_start: Callable[[int], None] = lambda n: None, sizes: Sequence[float] | None = None,
) -> list[dict]:
    """Run ``jobs`` on Ray; their records, in the order they finished.

    ``model`` is a bundled name or a checkpoint path every node can read. ``sizes`` (e.g.
    audio seconds) orders the jobs, largest first. ``on_start(n)`` is called with the
    number of actors once they are asked for.
    """
    ray = require_ray()
    from ray.exceptions import RayActorError

    started_here = not ray.is_initialized()
    if started_here:
        init = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if ray_options.address is None:
            ray.init(num_cpus=ray_options.local_cpus, **init)
        else:
            ray.init(address=ray_options.address, **init)
    try:
        count = min(worker_count(ray.cluster_resources(), ray_options), max(len(jobs), 1))
        threads = max(1, int(ray_options.cpus_per_worker))
        actor = ray.remote(num_cpus=ray_options.cpus_per_worker,
                           num_gpus=ray_options.gpus_per_worker, max_restarts=0)(_Transcriber)

        def spawn():  # type: ignore[no-untyped-def]
            return actor.remote(model, engine, threads, ray_options.gpus_per_worker > 0)

        actors = [spawn() for _ in range(count)]
        on_start(count)
        order = sorted(range(len(jobs)), key=lambda k: -(sizes[k] if sizes else 0.0))
        pending = deque((jobs[k], 1) for k in order)
        running: dict = {}
        idle = list(range(count))
        records: list[dict] = []
        while pending or running:
            while idle and pending:
                slot = idle.pop()
                job, attempt = pending.popleft()
                running[actors[slot].run.remote(job, options)] = (slot, job, attempt)
            (ref,), _ = ray.wait(list(running), num_returns=1)
            slot, job, attempt = running.pop(ref)
            try:
                line = ray.get(ref)
            except RayActorError as exc:
                actors[slot] = spawn()
                idle.append(slot)
                if attempt < ray_options.max_attempts:
                    pending.appendleft((job, attempt + 1))
                    continue
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                line = record(job, "error", message=f"the worker died {attempt} times on "
                              f"{job.source} ({reason[:200]})")
            else:
                idle.append(slot)
            line["attempt"] = attempt
            records.append(line)
            on_record(line)
        return records
    finally:
        if started_here:
            ray.shutdown()
