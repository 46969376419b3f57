"""Probability rolls for audio of any length: overlapping windows, batched, on a device.

Windows of ``window_frames`` frames overlap; each contributes only its centre, dropping
``margin`` frames on both sides: a quarter window for models whose context is unbounded or
wide (the paper's U-Net, GRUs), twice the receptive field for the frequency-pooling FCNN
(so its windows barely overlap and each frame is computed about once). The log-mel of each
window is computed from its own slice of audio, so memory is bounded by the window batch
rather than by the length of the file (the outputs are ``(n_frames, 88)`` per head).
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from pianotx.checkpoint import LoadedModel
from pianotx.config import ModelConfig
from pianotx.errors import ConfigError
from pianotx.features import LogMel, n_frames

WINDOW_FRAMES = 1000  # 10 s at 100 frames/s, the training segment length


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
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA is not available on this machine; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("MPS is not available on this machine; use --device cpu")
    return device


def window_starts(
    total_frames: int, *, window_frames: int = WINDOW_FRAMES, margin: int | None = None
) -> list[int]:
    """First frame of every window (the first starts ``margin`` frames before frame 0;
    default margin a quarter window)."""
    margin = window_frames // 4 if margin is None else margin
    keep = window_frames - 2 * margin
    return [k * keep - margin for k in range(-(-total_frames // keep))]


def window_margin(config: ModelConfig, window_frames: int) -> int:
    """Frames dropped at each side of a window: twice the receptive field where it is
    known and small, else a quarter window."""
    from pianotx.models import receptive_frames

    field = receptive_frames(config)
    if field is None or 4 * field > window_frames // 4:
        return window_frames // 4
    return 2 * field


def window_audio(
    audio: np.ndarray, start_frame: int, *, window_frames: int, hop_length: int, n_fft: int,
    offset: int = 0,
) -> np.ndarray:
    """Samples needed for frames ``[start_frame, start_frame + window_frames)``, zero-filled.

    Frame ``f`` is centred on sample ``f * hop_length`` (centred STFT with zero padding);
    ``audio[0]`` is sample ``offset`` of the recording.
    """
    length = (window_frames - 1) * hop_length + n_fft
    first = start_frame * hop_length - n_fft // 2 - offset
    out = np.zeros(length, dtype=np.float32)
    lo, hi = max(first, 0), min(first + length, len(audio))
    if hi > lo:
        out[lo - first : hi - first] = audio[lo:hi]
    return out


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
    {head: (n, width) array})`` while only the audio the next windows need is kept.

    ``total_frames`` (when known, e.g. from the file header) only sizes the progress total.
    """
    if window_frames % 4 or window_frames < 8:
        raise ConfigError(f"window_frames must be a multiple of 4 and >= 8, got {window_frames}")
    cfg = model.feature_config
    hop, n_fft = cfg.hop_length, cfg.n_fft
    margin = window_margin(model.model_config, window_frames)
    keep = window_frames - 2 * margin
    planned = None if total_frames is None else -(-total_frames // keep)
    features = LogMel(cfg).to(model.device)
    model.net.eval()
    buffer, offset, seen, k = np.zeros(0, np.float32), 0, 0, 0  # k: next window index

    def needed_end(index: int) -> int:  # one past the last sample window ``index`` reads
        return (index * keep - margin + window_frames - 1) * hop + n_fft - n_fft // 2

    def run(indices: list[int], total: int | None) -> Iterator[tuple[int, dict]]:
        starts = [i * keep - margin for i in indices]
        chunk = np.stack([window_audio(buffer, st, window_frames=window_frames,
                                       hop_length=hop, n_fft=n_fft, offset=offset)
                          for st in starts])
        with torch.inference_mode():
            mel = features(torch.from_numpy(chunk).to(model.device), center=False)
            probs = {name: torch.sigmoid(v.float()).cpu().numpy()
                     for name, v in model.net(mel).items()}
        for j, st in enumerate(starts):
            lo = st + margin
            n = keep if total is None else min(keep, total - lo)
            if n > 0:
                yield lo, {name: p[j, margin : margin + n] for name, p in probs.items()}

    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, np.float32)])
        seen += len(block)
        while needed_end(k + batch_size - 1) <= seen:
            yield from run(list(range(k, k + batch_size)), None)
            k += batch_size
            if on_progress is not None:
                on_progress(k, planned)
            drop = max(0, (k * keep - margin) * hop - n_fft // 2 - offset)
            buffer, offset = buffer[drop:], offset + drop
    total = n_frames(seen, hop_length=hop)
    last = -(-total // keep)  # windows in all
    while k < last:
        indices = list(range(k, min(k + batch_size, last)))
        yield from run(indices, total)
        k = indices[-1] + 1
        if on_progress is not None:
            on_progress(k, last)
