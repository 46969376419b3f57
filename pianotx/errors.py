"""The one exception root of pianotx and its few subclasses.

Every error a user can cause derives from :class:`PianotxError`; the CLI turns it into a
single line on stderr and exit code 1. Messages name the thing that is wrong and the fix.
"""

from __future__ import annotations


class PianotxError(Exception):
    """Root of every error pianotx raises on purpose."""


class AudioError(PianotxError):
    """An audio input is missing, unreadable, empty, silent where it must not be, or not finite."""


class MidiError(PianotxError):
    """A MIDI file cannot be read or written."""


class CheckpointError(PianotxError):
    """A checkpoint is missing, truncated, foreign, or does not match its architecture."""


class ConfigError(PianotxError):
    """A configuration value or dictionary is invalid."""


class DatasetError(PianotxError):
    """A dataset folder or its metadata is malformed or incomplete."""


class OutputError(PianotxError):
    """An output path cannot be written (exists without overwrite, unwritable folder)."""


class TrainingError(PianotxError):
    """Training cannot continue (non-finite loss, diverging run, bad resume state)."""


class SynthError(PianotxError):
    """A timbre is missing or unusable, or a synthetic dataset cannot be built."""


class ScoreError(PianotxError):
    """Notes cannot be turned into a score (too few notes, no pitched notes)."""


class MissingExtraError(PianotxError):
    """An optional dependency is not installed; the message names the extra to install."""


# optional module -> the extra that installs it (``pip install 'pianotx[EXTRA]'``)
EXTRAS = {"torch": "torch", "librosa": "train", "scipy": "train", "mir_eval": "eval",
          "matplotlib": "plot", "onnx": "export", "pedalboard": "augment",
          "pyroomacoustics": "augment", "partitura": "score", "sounddevice": "live",
          "rtmidi": "live", "ray": "cluster"}


def missing_extra(module: str, purpose: str) -> MissingExtraError:
    """The error for ``purpose`` (e.g. "training") needing the absent ``module``."""
    extra = EXTRAS.get(module.split(".")[0])
    fix = f"pip install 'pianotx[{extra}]'" if extra else f"pip install {module}"
    return MissingExtraError(f"{purpose} needs {module}, which is not installed: {fix}")


def require(module: str, purpose: str) -> None:
    """Raise :func:`missing_extra` unless ``module`` can be imported (it is not imported)."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise missing_extra(module, purpose)
