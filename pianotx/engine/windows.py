"""Windows over audio of any length, without torch: where each window starts, how much of
it is kept, and the streaming loop that feeds batches of windows to any engine.

Windows of ``window_frames`` frames overlap; each contributes only its centre, dropping
``margin`` frames on both sides: a quarter window for models whose context is unbounded or
wide (the paper's U-Net, GRUs), twice the receptive field for the frequency-pooling FCNN
(so its windows barely overlap and each frame is computed about once). Each window's audio
is cut from a buffer that only holds what the next windows need, so memory is bounded by
the window batch rather than by the length of the file.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np

from pianotx.config import FeatureConfig, ModelConfig
from pianotx.errors import ConfigError
from pianotx.audio.spectrum import n_frames

WINDOW_FRAMES = 1000  # 10 s at 100 frames/s, the training segment length

# Audio windows (batch, n_samples), padded for an uncentred STFT -> probabilities per head
# (batch, window_frames, width).
BatchRunner = Callable[[np.ndarray], dict[str, np.ndarray]]


def receptive_frames(config: ModelConfig) -> int | None:
    """Frames of context each side of an output frame, or None when unbounded or not
    computed (the paper's U-Net resizes over the whole window; GRUs see everything).

    The freq-trunk FCNN sees 4 frames through its four 3x3 convs, plus its head's context
    (two ``head_kernel`` convs, or 1 + 2 + 4 + 8 for the dilated head); ``diff_input`` adds
    one frame in the past (the difference reads the previous frame), and the larger side
    is returned.
    """
    if config.trunk == "freq" and config.arch == "fcnn":
        head = 15 if config.temporal_head == "dilated" else 2 * (config.head_kernel // 2)
        return 4 + head + int(config.diff_input)
    return None


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


def window_span(start_frame: int, *, window_frames: int, hop_length: int,
                n_fft: int) -> tuple[int, int]:
    """Recording samples ``[first, end)`` that frames ``[start_frame, start_frame +
    window_frames)`` read (centred STFT; ``first`` may be negative, read as zeros)."""
    first = start_frame * hop_length - n_fft // 2
    return first, first + (window_frames - 1) * hop_length + n_fft


def stream_windows(
    run_batch: BatchRunner,
    blocks: Iterable[np.ndarray],
    *,
    model_config: ModelConfig,
    feature_config: FeatureConfig,
    batch_size: int = 8,
    window_frames: int = WINDOW_FRAMES,
    total_frames: int | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Probabilities for audio arriving in blocks, yielded in order as ``(first_frame,
    {head: (n, width) array})`` while only the audio the next windows need is kept.

    ``run_batch`` turns a batch of window audio into probabilities (an engine: torch or
    ONNX Runtime); each window keeps its centre, dropping :func:`window_margin` frames of
    ``model_config``'s model at both sides. ``total_frames`` (when known, e.g. from the file header) only sizes the
    progress total.
    """
    if window_frames % 4 or window_frames < 8:
        raise ConfigError(f"window_frames must be a multiple of 4 and >= 8, got {window_frames}")
    hop, n_fft = feature_config.hop_length, feature_config.n_fft
    margin = window_margin(model_config, window_frames)
    keep = window_frames - 2 * margin
    planned = None if total_frames is None else -(-total_frames // keep)
    buffer, offset, seen, k = np.zeros(0, np.float32), 0, 0, 0  # k: next window index

    def needed_end(index: int) -> int:  # one past the last sample window ``index`` reads
        return window_span(index * keep - margin, window_frames=window_frames,
                           hop_length=hop, n_fft=n_fft)[1]

    def run(indices: list[int], total: int | None) -> Iterator[tuple[int, dict]]:
        starts = [i * keep - margin for i in indices]
        chunk = np.stack([window_audio(buffer, st, window_frames=window_frames,
                                       hop_length=hop, n_fft=n_fft, offset=offset)
                          for st in starts])
        probs = run_batch(chunk)
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
            drop = max(0, window_span(k * keep - margin, window_frames=window_frames,
                                      hop_length=hop, n_fft=n_fft)[0] - offset)
            buffer, offset = buffer[drop:], offset + drop
    total = n_frames(seen, hop_length=hop)
    last = -(-total // keep)  # windows in all
    while k < last:
        indices = list(range(k, min(k + batch_size, last)))
        yield from run(indices, total)
        k = indices[-1] + 1
        if on_progress is not None:
            on_progress(k, last)
