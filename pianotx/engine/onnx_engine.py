"""The ONNX Runtime engine: a model exported by ``pianotx export`` runs on the CPU without
importing torch (its imports take about 0.13 s instead of torch's 1.1 s).

The ``.onnx`` file maps a log-mel batch ``mel (batch, frames, n_mels)`` to one probability
roll per head (sigmoid applied), named by head. Its metadata entry ``pianotx`` holds the
model, feature and decode configs and the sha256 of the checkpoint it was exported from,
so a stale export is refused rather than silently used.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from pianotx.config import (DecodeConfig, FeatureConfig, ModelConfig, from_dict,
                            model_config_from_dict)
from pianotx.errors import CheckpointError, ConfigError, missing_extra
from pianotx.files import sha256_file
from pianotx.audio.spectrum import log_mel
from pianotx.engine.windows import WINDOW_FRAMES, BatchRunner, stream_windows

METADATA_KEY = "pianotx"
ENGINES = ("auto", "torch", "onnx")


@dataclass
class OnnxModel:
    """An exported model in an ONNX Runtime session, with the configs it was trained with
    (the same attribute names as :class:`pianotx.model.checkpoint.LoadedModel`)."""

    session: Any
    model_config: ModelConfig
    feature_config: FeatureConfig
    decode_config: DecodeConfig
    name: str
    path: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def onnxruntime_available() -> bool:
    """Whether the onnxruntime package is installed."""
    return importlib.util.find_spec("onnxruntime") is not None


def onnx_path_for(checkpoint: Path) -> Path:
    """Where the export of ``checkpoint`` lives: the same name with ``.onnx``."""
    return Path(checkpoint).with_suffix(".onnx")


def nvidia_gpu_visible() -> bool:
    """Whether an NVIDIA GPU is visible, checked without importing torch."""
    import sys

    if "torch" in sys.modules:
        return bool(sys.modules["torch"].cuda.is_available())
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def torch_available() -> bool:
    """Whether torch is installed (the ``torch`` extra), checked without importing it."""
    return importlib.util.find_spec("torch") is not None


def choose_engine(engine: str, device: str, checkpoint: Path) -> str:
    """``torch`` or ``onnx`` for ``engine`` (auto: ONNX Runtime when the checkpoint has an
    export, onnxruntime is installed, and the device is the CPU, or ``auto`` with no NVIDIA
    GPU visible, or torch is not installed).

    Raises
    ------
    ConfigError
        For an unknown engine, or ``onnx`` where it cannot run.
    MissingExtraError
        When the torch engine is needed (asked for, a GPU device, or no ONNX export) and
        torch is not installed.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; use {', '.join(ENGINES)}")
    exported = onnx_path_for(checkpoint)
    if engine == "onnx":
        if device not in ("auto", "cpu"):
            raise ConfigError(f"the onnx engine runs on the CPU only, not {device!r}; use "
                              "--engine torch for a GPU")
        if not onnxruntime_available():
            raise ConfigError("the onnx engine needs onnxruntime: pip install onnxruntime")
        if not exported.is_file():
            raise ConfigError(f"{exported} does not exist; make it with pianotx export "
                              f"{checkpoint} -o {exported}")
        return "onnx"
    chosen = _auto_engine(engine, device, exported)
    if chosen == "torch" and not torch_available():
        why = ("--engine torch" if engine == "torch" else f"device {device!r}"
               if device not in ("auto", "cpu") else f"{checkpoint.name} without an ONNX export")
        raise missing_extra("torch", f"running {why}")
    return chosen


def _auto_engine(engine: str, device: str, exported: Path) -> str:
    if engine == "torch" or not exported.is_file() or not onnxruntime_available():
        return "torch"
    if device == "cpu" or (device == "auto" and (not torch_available()
                                                  or not nvidia_gpu_visible())):
        return "onnx"
    return "torch"


def load_onnx(path: Path, *, checkpoint: Path | None = None, threads: int = 0) -> OnnxModel:
    """Open an exported model; with ``checkpoint``, check it was exported from that file.

    Raises
    ------
    CheckpointError
        If the file is missing, not an ONNX model of pianotx, or stale.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"ONNX model {path} does not exist")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = json.loads(session.get_modelmeta().custom_metadata_map[METADATA_KEY])
        model_config = model_config_from_dict(meta["model_config"])
        feature_config = from_dict(FeatureConfig, meta["feature_config"])
        decode_config = from_dict(DecodeConfig, meta["decode_config"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise CheckpointError(f"{path} is not an ONNX model exported by pianotx ({type(exc).__name__}); "
                              "export it again with pianotx export") from None
    if checkpoint is not None and meta.get("checkpoint_sha256") != sha256_file(checkpoint):
        raise CheckpointError(f"{path} was exported from another version of {checkpoint}; "
                              f"export it again with pianotx export {checkpoint} -o {path} --overwrite")
    return OnnxModel(session, model_config, feature_config, decode_config,
                     (checkpoint or path).stem, path, meta)


def batch_runner(model: OnnxModel) -> BatchRunner:
    """Window audio ``(batch, n_samples)`` -> probabilities per head, on ONNX Runtime."""
    names = model.model_config.head_names

    def run_batch(chunk: np.ndarray) -> dict[str, np.ndarray]:
        outputs = model.session.run(list(names), {"mel": log_mel(chunk, model.feature_config)})
        return dict(zip(names, outputs))

    return run_batch


def stream_onnx_rolls(
    model: OnnxModel,
    blocks: Iterable[np.ndarray],
    *,
    batch_size: int = 8,
    window_frames: int = WINDOW_FRAMES,
    total_frames: int | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Probabilities for audio arriving in blocks (see :func:`pianotx.engine.windows.stream_windows`)."""
    return stream_windows(batch_runner(model), blocks, model_config=model.model_config,
                          feature_config=model.feature_config, batch_size=batch_size, window_frames=window_frames,
                          total_frames=total_frames, on_progress=on_progress)
