"""Where live audio comes from: raw PCM on a stream (standard input) or an input device,
as mono float32 blocks at the model's rate, each with the wall-clock time it arrived.

:func:`run_live` drives a :class:`~pianotx.live.session.LiveSession` from such blocks: a
reader thread queues them as they arrive; when ``max_lag_s`` of audio is queued (the
machine is falling behind a real-time source) the oldest block is dropped, reported, and
transcription restarts after the gap instead of drifting further behind.
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

import numpy as np

from pianotx.config import SAMPLE_RATE
from pianotx.errors import AudioError, ConfigError, missing_extra
from pianotx.live.decoder import LiveEvent

FORMATS = {"s16le": ("<i2", 32768.0), "f32le": ("<f4", 1.0)}


class Resampler:
    """Interleaved frames at ``rate`` with ``channels`` -> mono float32 at SAMPLE_RATE."""

    def __init__(self, rate: int, channels: int) -> None:
        if rate < 1 or channels < 1:
            raise ConfigError(f"--rate and --channels must be positive, got {rate} and {channels}")
        self.channels = channels
        self.stream = None
        if rate != SAMPLE_RATE:
            import soxr

            self.stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32")

    def __call__(self, frames: np.ndarray, *, last: bool = False) -> np.ndarray:
        mono = frames.reshape(-1, self.channels).mean(axis=1, dtype=np.float32)
        if not np.all(np.isfinite(mono)):
            raise AudioError("the live audio holds NaN or infinite samples; check the source")
        if self.stream is None:
            return mono
        return self.stream.resample_chunk(mono, last=last)


def pcm_blocks(stream: BinaryIO, *, rate: int, channels: int, fmt: str,
               block_s: float = 0.01) -> Iterator[np.ndarray]:
    """Raw interleaved PCM from ``stream`` -> mono float32 blocks at SAMPLE_RATE.

    The settings are checked here, before anything is read (a :class:`ConfigError`); the
    returned iterator reads ``stream`` until it ends."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    dtype, scale = FORMATS[fmt]
    width = np.dtype(dtype).itemsize * channels
    size = max(1, int(round(rate * block_s))) * width
    return _pcm(stream, Resampler(rate, channels), dtype=dtype, scale=scale, width=width, size=size)


def _pcm(stream: BinaryIO, resample: Resampler, *, dtype: str, scale: float, width: int,
         size: int) -> Iterator[np.ndarray]:
    pending = b""
    while True:
        data = stream.read(size)  # up to ``size`` bytes: what a pipe holds comes at once
        if not data:
            break
        pending += data
        whole = len(pending) // width * width
        if whole:
            frames = np.frombuffer(pending[:whole], dtype=dtype).astype(np.float32) / scale
            pending = pending[whole:]
            yield resample(frames)
    tail = resample(np.zeros(0, np.float32), last=True)
    if len(tail):
        yield tail


def input_devices() -> list[tuple[int, str, int, float]]:
    """The input devices: ``(index, name, input channels, default rate in Hz)`` each."""
    sd = _sounddevice()
    try:
        infos = sd.query_devices()
    except sd.PortAudioError as exc:
        raise AudioError(f"cannot list the input devices ({exc})") from None
    return [(index, str(info["name"]), int(info["max_input_channels"]),
             float(info["default_samplerate"]))
            for index, info in enumerate(infos) if info["max_input_channels"] > 0]


def device_blocks(device: str | int | None, *, block_s: float = 0.01,
                  stop: threading.Event | None = None) -> Iterator[np.ndarray]:
    """Mono blocks from an input device (sounddevice / PortAudio), resampled to SAMPLE_RATE.

    The device is found and opened here, so a wrong name, a busy device or a missing
    PortAudio is an :class:`AudioError` (a missing sounddevice a
    :class:`~pianotx.errors.MissingExtraError`) before anything else starts; the returned
    iterator starts the capture and ends when ``stop`` is set or the device fails."""
    sd = _sounddevice()
    arrived: queue.Queue = queue.Queue()

    def callback(indata, frames, when, status):  # type: ignore[no-untyped-def]
        arrived.put(indata.copy())

    try:
        info = sd.query_devices(device, "input")
        rate = int(info["default_samplerate"])
        channels = min(2, int(info["max_input_channels"])) or 1
        stream = sd.InputStream(device=device, channels=channels, samplerate=rate, dtype="float32",
                                blocksize=max(1, int(rate * block_s)), callback=callback)
    except (ValueError, sd.PortAudioError) as exc:
        raise _device_error(device, exc) from None
    return _capture(sd, stream, arrived, Resampler(rate, channels), device=device, stop=stop)


def _capture(sd, stream, arrived: queue.Queue,  # type: ignore[no-untyped-def]
             resample: Resampler, *, device: str | int | None,
             stop: threading.Event | None) -> Iterator[np.ndarray]:
    try:
        with stream:
            while stop is None or not stop.is_set():
                try:
                    block = arrived.get(timeout=0.5)
                except queue.Empty:
                    continue
                yield resample(block.reshape(-1))
    except sd.PortAudioError as exc:
        raise AudioError(f"input device {device!r} failed ({exc}); check --list-devices") from None


def _sounddevice():  # type: ignore[no-untyped-def]
    """The sounddevice module, or the error saying what to install."""
    try:
        import sounddevice
    except ModuleNotFoundError as exc:
        if exc.name != "sounddevice":
            raise
        raise missing_extra("sounddevice", "listening to an input device") from None
    except OSError as exc:  # the wheel needs the system's PortAudio on Linux
        raise AudioError(f"input devices need the PortAudio library ({exc}); install it "
                         "(Debian, Ubuntu: apt install libportaudio2)") from None
    return sounddevice


def _device_error(device: str | int | None, exc: Exception) -> AudioError:
    name = "the default input device" if device is None else f"input device {device!r}"
    if isinstance(exc, ValueError) and str(exc).startswith("No "):  # No input device matching
        return AudioError(f"{name} not found; see pianotx listen --list-devices")
    return AudioError(f"cannot use {name} ({exc}); see pianotx listen --list-devices")


@dataclass
class LiveStats:
    """What a live run did: audio seconds, compute seconds, blocks dropped, events."""

    audio_s: float = 0.0
    compute_s: float = 0.0
    dropped: int = 0
    dropped_s: float = 0.0
    events: list[tuple[LiveEvent, float, float]] = field(default_factory=list)
    error: BaseException | None = None  # what ended the source early (device lost, bad data)
    interrupted: bool = False  # Ctrl-C

    @property
    def real_time_factor(self) -> float:
        """Audio seconds per compute second (above 1: keeps up)."""
        return self.audio_s / max(self.compute_s, 1e-9)


def run_live(
    blocks: Iterator[np.ndarray], new_session: Callable[[], object], *,
    on_event: Callable[[LiveEvent, float, float], None],
    max_lag_s: float | None = None, on_drop: Callable[[float], None] | None = None,
) -> LiveStats:
    """Transcribe ``blocks`` as they arrive; call ``on_event(event, emitted_s, latency_s)``.

    ``emitted_s`` is the audio time consumed when the event was settled and ``latency_s``
    the time from the event's audio to its emission: ``emitted_s - event.time_s`` plus the
    wall-clock time between the arrival of the block that settled it and the emission. With
    ``max_lag_s`` (a real-time source), a block is dropped whenever more than that much audio
    waits, ``on_drop(seconds)`` is called, and a new session starts after the gap; without
    it, every block is transcribed (a file read faster than real time). Event times count
    from the start of the audio, dropped blocks included. A source that fails, or Ctrl-C,
    ends the run like the end of the audio (open notes end there) and is noted in the
    returned stats, so what was played is never lost.
    """
    stats = LiveStats()
    waiting: queue.Queue = queue.Queue(maxsize=0 if max_lag_s else 64)
    queued = [0]  # samples waiting
    failure: list[BaseException] = []

    def read() -> None:
        try:
            for block in blocks:
                queued[0] += len(block)
                waiting.put((block, time.perf_counter()))
        except BaseException as exc:  # noqa: BLE001  (handed to the main thread)
            failure.append(exc)
        finally:
            waiting.put(None)

    threading.Thread(target=read, daemon=True).start()
    session, base_s = new_session(), 0.0

    def emit(events: list[LiveEvent], arrived: float) -> None:
        now = time.perf_counter()
        consumed = base_s + session.seen / SAMPLE_RATE
        for event in events:
            event = event._replace(time_s=event.time_s + base_s)
            latency = consumed - event.time_s + (now - arrived)
            stats.events.append((event, consumed, latency))
            on_event(event, consumed, latency)

    stop = threading.Event()  # Ctrl-C: finish what was heard, never mid-block
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while not stop.is_set():
            try:
                item = waiting.get(timeout=0.05)
            except queue.Empty:
                continue
            if item is None:
                break
            block, arrived = item
            queued[0] -= len(block)
            if max_lag_s is not None and queued[0] > max_lag_s * SAMPLE_RATE:
                seconds = len(block) / SAMPLE_RATE
                stats.dropped, stats.dropped_s = stats.dropped + 1, stats.dropped_s + seconds
                if on_drop is not None:
                    on_drop(seconds)
                emit(session.finish(), arrived)
                base_s += session.seen / SAMPLE_RATE + seconds
                stats.audio_s += seconds
                session = new_session()
                continue
            started = time.perf_counter()
            events = session.feed(block)
            stats.compute_s += time.perf_counter() - started
            stats.audio_s += len(block) / SAMPLE_RATE
            emit(events, arrived)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    stats.interrupted = stop.is_set()
    started = time.perf_counter()
    events = session.finish()
    stats.compute_s += time.perf_counter() - started
    emit(events, time.perf_counter())
    stats.error = failure[0] if failure else None
    return stats


def stdin_binary() -> BinaryIO:
    """Standard input as bytes, unbuffered: each read is one ``os.read``, which holds no lock.
    (A reader thread still waiting in ``sys.stdin.buffer.read`` when Ctrl-C ends the run would
    hold the buffer's lock, and Python aborts when it cannot take it at exit.)"""
    return open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)  # noqa: SIM115
