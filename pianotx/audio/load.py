"""Audio files in, mono float32 at the model's sample rate out, validated.

Decoding streams the file in blocks (down-mixed and resampled as it goes), so a long
stereo 48 kHz file never sits in memory at its original rate and width.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from pianotx.config import SAMPLE_RATE
from pianotx.errors import AudioError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".oga", ".aif", ".aiff")
BLOCK_S = 20.0
SILENCE_PEAK = 1e-4  # -80 dBFS: below this there is nothing to transcribe


def load_audio(path: Path, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode an audio file to mono float32 at ``sample_rate``.

    Parameters
    ----------
    path : Path
        A file soundfile can read (wav, flac, ogg, mp3, aiff), any rate and channel count.
    sample_rate : int > 0
        Output rate in Hz.

    Returns
    -------
    np.ndarray, shape=(n_samples,), float32
        Channel mean, resampled with soxr.

    Raises
    ------
    AudioError
        If the file is missing, empty, not decodable, has no samples, or holds NaN/inf.
    """
    audio = np.concatenate(list(stream_audio(path, sample_rate=sample_rate)))
    if audio.size == 0:
        raise AudioError(f"audio file {path} has no samples; give a recording")
    return audio.astype(np.float32, copy=False)


def stream_audio(
    path: Path, *, sample_rate: int = SAMPLE_RATE, block_s: float = BLOCK_S
) -> Iterator[np.ndarray]:
    """Yield an audio file as consecutive mono float32 blocks at ``sample_rate``.

    The file is read ``block_s`` seconds at a time, so memory does not grow with its length.
    Raises :class:`AudioError` as :func:`load_audio` does (a decoding error can come after
    some blocks were yielded).
    """
    import soundfile as sf
    import soxr

    path = Path(path)
    _check_file(path)
    try:
        with sf.SoundFile(path) as source:
            if source.frames == 0:
                raise AudioError(f"audio file {path} has no samples; give a recording")
            resampler = None
            if source.samplerate != sample_rate:
                resampler = soxr.ResampleStream(source.samplerate, sample_rate, 1, dtype="float32")
            block = max(1, int(block_s * source.samplerate))
            while True:
                data = source.read(block, dtype="float32", always_2d=True)
                last = len(data) < block
                mono = _finite_mono(data, path)
                if resampler is not None:
                    mono = resampler.resample_chunk(mono, last=last)
                yield np.ascontiguousarray(mono, dtype=np.float32)
                if last:
                    break
    except (sf.LibsndfileError, RuntimeError, EOFError) as exc:
        raise AudioError(
            f"cannot decode {path} as audio ({_reason(exc)}); {_convert_hint(path)}"
        ) from None


def prefetch(blocks: Iterator[np.ndarray], *, depth: int = 2) -> Iterator[np.ndarray]:
    """Run ``blocks`` in a background thread, ``depth`` blocks ahead, so decoding the file
    overlaps inference (soundfile and soxr release the GIL). Exceptions are re-raised here."""
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def hand_over(item: tuple) -> bool:
        """Queue ``item`` unless the consumer has stopped; whether it was queued."""
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for block in blocks:
                if not hand_over(("block", block)):
                    return
            hand_over(("end", end))
        except BaseException as exc:  # handed to the consumer
            hand_over(("error", exc))
        finally:  # the file and the resampler are released here, not left to the exit
            close = getattr(blocks, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "block":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join(timeout=5.0)


def audio_seconds(path: Path) -> float | None:
    """Duration from the file header, or None when the header does not say."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError):
        return None
    return info.frames / info.samplerate if info.frames > 0 else None


def check_not_silent(audio: np.ndarray, *, name: str) -> None:
    """Raise :class:`AudioError` if ``audio`` peaks below -80 dBFS."""
    if audio.size == 0 or float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise AudioError(f"audio {name} is silent (peak below -80 dBFS); nothing to transcribe")


def validate_audio(audio: np.ndarray, *, name: str = "array") -> np.ndarray:
    """Return ``audio`` as a 1-D float32 array after checking it is non-empty and finite.

    Floating-point samples are taken as they are (full scale is 1.0); integer PCM is scaled
    from its type's full scale (int16 by 32768, uint8 centred on 128), as soundfile reads files.
    """
    try:
        raw = np.asarray(audio)
    except (TypeError, ValueError) as exc:
        raise AudioError(f"audio {name} is not an array of samples ({exc})") from None
    if raw.dtype.kind in "iu":
        info = np.iinfo(raw.dtype)
        scale = (float(info.max) + 1.0) if raw.dtype.kind == "i" else (float(info.max) + 1.0) / 2.0
        centre = 0.0 if raw.dtype.kind == "i" else scale
        raw = (raw.astype(np.float64) - centre) / scale
    elif raw.dtype.kind != "f":
        raise AudioError(f"audio {name} holds {raw.dtype} values; give float samples in [-1, 1] "
                         "or integer PCM")
    array = raw.astype(np.float32)
    if array.size == 0:
        raise AudioError(f"audio {name} has no samples; give a recording")
    if array.ndim == 2:
        array = array.mean(axis=0 if array.shape[0] < array.shape[1] else 1)
    if array.ndim != 1:
        raise AudioError(f"audio {name} must be 1-D (samples) or 2-D (channels), got {array.ndim}-D")
    if not np.isfinite(array).all():
        raise AudioError(f"audio {name} contains NaN or infinite samples; re-export it")
    return array


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"audio file not found: {path}; check the path")
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"audio file {path} is empty (0 bytes); give a recording")


def _finite_mono(data: np.ndarray, path: Path) -> np.ndarray:
    if not np.isfinite(data).all():
        raise AudioError(f"audio file {path} contains NaN or infinite samples; re-export it")
    return data.mean(axis=1, dtype=np.float32)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.split(": ", 1)[-1] if "Error opening" in text else text
    # libsndfile's words for a file it found but could not parse (a damaged mp3) mislead
    misleading = ("does not exist or is not a regular file", "unspecified internal error")
    return "the file is damaged or not audio" if any(m in text.lower() for m in misleading) else text


def _convert_hint(path: Path) -> str:
    others = [name for name in ("wav", "flac", "ogg", "mp3") if f".{name}" != path.suffix.lower()]
    return f"convert it to {', '.join(others[:-1])} or {others[-1]}" + (
        " (or export it again)" if len(others) == 3 else "")
