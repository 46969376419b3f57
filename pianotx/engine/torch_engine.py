"""Probability rolls for audio of any length with a torch model: overlapping windows
(:mod:`pianotx.engine.windows`), batched, on a device. The outputs are ``(n_frames, 88)`` per head.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from pianotx.model.checkpoint import LoadedModel
from pianotx.errors import ConfigError
from pianotx.audio.features import LogMel, n_frames
from pianotx.engine.windows import (WINDOW_FRAMES, BatchRunner, stream_windows, window_audio, window_margin,
                             window_starts)

__all__ = ["pick_device", "predict_rolls", "stream_rolls", "window_audio", "window_margin",
           "window_starts", "WINDOW_FRAMES"]


def pick_device(name: str = "auto") -> torch.device:
    """Return ``cuda``, ``mps`` or ``cpu`` for ``auto``; validate an explicit device name."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):  # xpu, meta: not run here
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA is not available on this machine; use the cpu device (--device cpu)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("MPS is not available on this machine; use the cpu device (--device cpu)")
    return device


def predict_rolls(
    model: LoadedModel,
    audio: np.ndarray,
    *,
    batch_size: int = 8,
    window_frames: int = WINDOW_FRAMES,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Run ``model`` over mono audio at the model's sample rate.

    Parameters
    ----------
    model : LoadedModel
    audio : np.ndarray, shape=(n_samples,), float32
    batch_size : int > 0
        Windows per forward pass.
    window_frames : int, multiple of 4
    on_progress : callable(done_windows, total_windows), optional

    Returns
    -------
    dict of str -> np.ndarray, shape=(n_frames, 88), float32
        Probabilities per head, ``n_frames = 1 + n_samples // hop_length`` (the pedal head's
        are ``(n_frames, 1)``).
    """
    total = n_frames(len(audio), hop_length=model.feature_config.hop_length)
    chunks = list(stream_rolls(model, [audio], batch_size=batch_size, window_frames=window_frames,
                               total_frames=total, on_progress=on_progress))
    mc = model.model_config
    if not chunks:
        return {name: np.zeros((0, mc.head_width(name)), np.float32) for name in mc.head_names}
    return {name: np.concatenate([c[name] for _, c in chunks]) for name in mc.head_names}


def batch_runner(model: LoadedModel) -> BatchRunner:
    """Window audio ``(batch, n_samples)`` -> probabilities per head, on the model's device."""
    features = LogMel(model.feature_config).to(model.device)
    model.net.eval()

    def run_batch(chunk: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            mel = features(torch.from_numpy(chunk).to(model.device), center=False)
            return {name: torch.sigmoid(v.float()).cpu().numpy()
                    for name, v in model.net(mel).items()}

    return run_batch


def stream_rolls(
    model: LoadedModel,
    blocks: Iterable[np.ndarray],
    *,
    batch_size: int = 8,
    window_frames: int = WINDOW_FRAMES,
    total_frames: int | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Probabilities for audio arriving in blocks, yielded in order as ``(first_frame,
    {head: (n, width) array})`` (see :func:`pianotx.engine.windows.stream_windows`)."""
    return stream_windows(batch_runner(model), blocks, model_config=model.model_config,
                          feature_config=model.feature_config, batch_size=batch_size, window_frames=window_frames,
                          total_frames=total_frames, on_progress=on_progress)
