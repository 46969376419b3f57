"""The configuration of a training run, which the rest of :mod:`pianotx.training` imports.

:class:`TrainConfig` (every option that shapes a run, with its learning-rate schedule), the
:class:`TrainEvent` progress reports, :func:`check_resume` and the constants the loop and
the set-up share. It imports nothing else of the training stage, so there is no circle:
``run`` imports ``loop``, which imports ``setup``, and all three import this module.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

from pianotx.config import TRUNKS, from_dict
from pianotx.errors import ConfigError, TrainingError

EXPLODE_RATIO = 100.0  # a loss this many times the mean of the first losses stops the run
REFERENCE_STEPS = 10  # steps whose mean loss is the reference for EXPLODE_RATIO
# Changing these on --resume would make the continued run a different experiment.
RESUME_FIXED = ("data", "arch", "heads", "width", "beta", "batch_size", "segment_s", "seed",
                "augment", "lr", "warmup_steps", "grad_clip", "val_pieces", "train_hours",
                "trunk", "soft_frames", "diff_input", "temporal_head", "optimizer",
                "weight_decay", "schedule", "min_lr_ratio", "val_data", "augment_chain",
                "harmonic", "soft_onset_weight", "bass_weight")
# With a decaying schedule the planned length is part of the schedule: fixed on resume too.
SCHEDULES = ("constant", "cosine")
OPTIMIZERS = ("adam", "adamw")
AUGMENT_CHAINS = ("basic", "recording")
PRECISIONS = ("auto", "fp32", "bf16")  # of the forward pass (see resolve_precision)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes a training run; saved into the run folder and checkpoints.

    ``steps`` or ``epochs`` (one pass over the training clips) sets the length; with
    neither, one epoch. ``batch_size`` is per process. ``val_every`` None validates at
    the end of each epoch; ``val_pieces`` 0 validates on every validation piece.
    ``grad_clip`` 0 disables clipping; ``cache_dir`` None uses ``~/.cache/pianotx``.
    ``precision`` is the forward pass's (:func:`resolve_precision`); it may change
    between invocations of one run, as machines do.
    """

    data: str = ""
    arch: str = "crnn"
    heads: str = "frame"
    width: float = 1.0
    beta: float = 0.2
    steps: int | None = None
    epochs: int | None = None
    batch_size: int = 16
    segment_s: float = 10.0
    lr: float = 3e-4
    warmup_steps: int = 0
    grad_clip: float = 3.0
    seed: int = 0
    val_every: int | None = None
    val_pieces: int = 20
    ckpt_every: int = 200
    log_every: int = 10
    workers: int = 2
    augment: bool = False
    device: str = "auto"
    cache_dir: str | None = None
    train_hours: float | None = None
    keep_epochs: bool = False
    trunk: str = "paper"
    soft_frames: int = 0
    diff_input: bool = False
    temporal_head: str = "plain"
    optimizer: str = "adam"
    weight_decay: float = 0.01
    schedule: str = "constant"
    min_lr_ratio: float = 0.02
    val_data: str | None = None
    augment_chain: str = "basic"
    init_from: str | None = None  # warm start: weights of a checkpoint of the same model
    stop_at: int | None = None  # end this invocation at this step; the schedule keeps --steps
    cpu_hours: float | None = None  # end this invocation once the run has spent this CPU time
    harmonic: bool = False  # the freq trunk's harmonic view (ModelConfig.harmonic)
    snapshot_every: int | None = None  # keep the weights every N steps as step_NNNNN.pt (SWA)
    precision: str = "auto"
    soft_onset_weight: float = 0.0  # onset positives up to 1 + G for soft notes (model.loss)
    bass_weight: float = 0.0  # frame and onset positives up to 1 + G below C3 (model.loss)

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}: use one of {', '.join(SCHEDULES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"unknown precision {self.precision!r}: use one of {', '.join(PRECISIONS)}")
        if self.augment_chain not in AUGMENT_CHAINS:
            raise ConfigError(
                f"unknown augmentation chain {self.augment_chain!r}: use one of {', '.join(AUGMENT_CHAINS)}")
        if self.trunk not in TRUNKS:  # model_config() would build the paper trunk for any other
            raise ConfigError(f"unknown trunk {self.trunk!r}: use one of {', '.join(TRUNKS)}")
        if self.steps is not None and self.epochs is not None:
            raise ConfigError("give --steps or --epochs, not both")
        check_numbers(self)
        self.model_config()  # validates arch, heads and width

    def model_config(self) -> Any:
        """The :class:`~pianotx.config.ModelConfig` this run trains."""
        from pianotx.config import ModelConfig

        if self.trunk == "freq":  # the note models' sizes (see pianotx.model.freqnet)
            return ModelConfig(arch=self.arch, heads=self.heads, width=self.width, trunk="freq",
                               head_kernel=5, gru_hidden=128, soft_frames=self.soft_frames,
                               diff_input=self.diff_input, temporal_head=self.temporal_head,
                               harmonic=self.harmonic)
        # Passed on so that ModelConfig refuses them here rather than ignoring them.
        return ModelConfig(arch=self.arch, heads=self.heads, width=self.width,
                           soft_frames=self.soft_frames, diff_input=self.diff_input,
                           temporal_head=self.temporal_head, harmonic=self.harmonic)

    def learning_rate(self, step: int, total_steps: int) -> float:
        """The learning rate of optimizer step ``step`` (0-based) of ``total_steps``: a
        linear warm-up over ``warmup_steps``, then constant or one cosine decay to
        ``lr * min_lr_ratio`` at ``total_steps``."""
        warm = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        if self.schedule == "constant" or step < self.warmup_steps:
            return self.lr * warm
        span = max(1, total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.lr * (self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine)

    @property
    def best_metric(self) -> str:
        """Validation score that picks ``best.pt``: note F1 with onsets, else frame F1."""
        return "frame/f1" if self.heads == "frame" else "note/f1"


class TrainEvent(NamedTuple):
    """A progress report: ``kind`` is prepare, start, step, validate, checkpoint, note or
    done; ``values`` holds its figures (loss, steps_per_s, scores, message, path...)."""

    kind: str
    step: int
    total_steps: int
    epoch: int
    values: dict[str, Any]


EventCallback = Callable[[TrainEvent], None]


# the option of ``pianotx train`` that sets a field, where it is not ``--FIELD-NAME``
# (log_every has none: errors name the field)
FLAGS = {"arch": "--model", "segment_s": "--segment-seconds", "log_every": "log_every"}
AT_LEAST_ONE = ("steps", "epochs", "batch_size", "val_every", "snapshot_every", "ckpt_every",
                "log_every")
# float field -> (lowest value, whether the lowest value itself is allowed)
FLOAT_BOUNDS = {"width": (0.0, False), "segment_s": (0.0, False), "lr": (0.0, False),
                "grad_clip": (0.0, True), "weight_decay": (0.0, True),
                "soft_onset_weight": (0.0, True), "bass_weight": (0.0, True),
                "cpu_hours": (0.0, False), "train_hours": (0.0, False)}


def flag(name: str) -> str:
    """The ``pianotx train`` option that sets field ``name`` (``segment_s``: ``--segment-seconds``)."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def check_numbers(config: TrainConfig) -> None:
    """Raise :class:`ConfigError` naming the option (and its value) of the first number of
    ``config`` out of range; NaN and infinity are out of every range."""
    for name in AT_LEAST_ONE:
        value = getattr(config, name)
        if value is not None and value < 1:
            raise ConfigError(f"{flag(name)} must be at least 1, got {value}")
    for name in ("workers", "warmup_steps", "seed", "val_pieces"):
        if getattr(config, name) < 0:
            raise ConfigError(f"{flag(name)} must be >= 0, got {getattr(config, name)}")
    for name in (*FLOAT_BOUNDS, "beta", "min_lr_ratio"):
        value = getattr(config, name)
        if value is not None and not math.isfinite(value):
            raise ConfigError(f"{flag(name)} must be a finite number, got {value}")
    for name, (low, inclusive) in FLOAT_BOUNDS.items():
        value = getattr(config, name)
        if value is not None and not (value >= low if inclusive else value > low):
            raise ConfigError(f"{flag(name)} must be {'>=' if inclusive else '>'} {low:g}, got {value:g}")
    if not 0.0 < config.beta < 1.0:
        raise ConfigError(f"--beta must lie strictly between 0 and 1, got {config.beta:g}")
    if not 0.0 <= config.min_lr_ratio <= 1.0:
        raise ConfigError(f"--min-lr-ratio must lie in [0, 1], got {config.min_lr_ratio:g}")


def check_resume(saved: dict[str, Any], config: TrainConfig) -> None:
    """Refuse to resume a run whose saved config differs in a field of RESUME_FIXED."""
    try:
        old = from_dict(TrainConfig, saved)
    except ConfigError as exc:
        raise TrainingError(f"the run's saved config is invalid ({exc}); start a new run") from None
    # With --val-data, val_pieces only sizes the second (logged) column, not what picks best.pt
    free = {"val_pieces"} if old.val_data and config.val_data else set()
    changed = [f"{k} ({getattr(old, k)!r} -> {getattr(config, k)!r})" for k in RESUME_FIXED
               if k not in free and _fixed_value(old, k) != _fixed_value(config, k)]
    if config.schedule != "constant" and old.steps != config.steps:
        changed.append(f"steps ({old.steps!r} -> {config.steps!r}, part of the {config.schedule} schedule)")
    if changed:
        raise TrainingError(
            f"cannot resume: {', '.join(changed)} differ from the run being resumed; use the "
            "original values or start a new run with another --out"
        )


def _fixed_value(config: TrainConfig, name: str) -> Any:
    """A resume-fixed field as compared: folders by where they lead (``a/../x`` is ``x``)."""
    value = getattr(config, name)
    if name in ("data", "val_data") and value:
        return os.path.realpath(value)
    return value


BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # native bf16 matrix instructions


def cpu_bf16_flags(cpuinfo: str) -> list[str]:
    """Which of :data:`BF16_CPU_FLAGS` the ``flags`` line of ``/proc/cpuinfo`` text lists:
    Intel AMX tiles or AVX-512 BF16 (Intel Cooper Lake and later, AMD Zen 4 and later),
    where bf16 autocast trains the note model about 2.3x faster than fp32 (measured with
    bench/train_speed.py, docs/TRAINING.md)."""
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            found = set(line.split())
            return [flag for flag in BF16_CPU_FLAGS if flag in found]
    return []


def resolve_precision(precision: str, device_type: str, cpuinfo: str | None = None) -> str:
    """``fp32`` or ``bf16`` for the forward pass: ``auto`` is bf16 on CUDA and on CPUs with
    native bf16 (:func:`cpu_bf16_flags`; ``cpuinfo``: the text of ``/proc/cpuinfo``, read
    when None), else fp32 (elsewhere bf16 is emulated, and slower)."""
    if precision != "auto":
        return precision
    if device_type == "cuda":
        return "bf16"
    if device_type != "cpu":
        return "fp32"
    return "bf16" if cpu_bf16_flags(read_cpuinfo() if cpuinfo is None else cpuinfo) else "fp32"


def read_cpuinfo() -> str:
    """The text of ``/proc/cpuinfo``, empty where there is none."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/pianotx/segments`` (``~/.cache`` by default)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "pianotx" / "segments"
