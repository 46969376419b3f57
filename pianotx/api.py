"""The public Python API: load a model once, transcribe arrays or files with it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from pianotx.engine.onnx_engine import OnnxModel
from pianotx.config import PEDAL_MODES, DecodeConfig
from pianotx.engine.decode import Transcription
from pianotx.errors import AudioError, ConfigError
from pianotx.music.notes import Note

if TYPE_CHECKING:
    from pianotx.model.checkpoint import LoadedModel


def load_model(
    name_or_path: str | Path | None = None, *, device: str = "auto", optimize: bool = True,
    engine: str = "auto", threads: int = 0,
) -> LoadedModel | OnnxModel:
    """Load a bundled model by name, or a checkpoint file by path, ready for inference.

    Parameters
    ----------
    name_or_path : str or Path, optional
        A bundled model name (see ``pianotx info``) or a ``.pt`` path; None for the default.
    device : str
        ``auto`` (cuda, then mps, then cpu), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    optimize : bool
        Fold BatchNorm into the convolutions and use channels-last (note models; see
        :func:`pianotx.model.freqnet.for_inference`).
    engine : str
        ``torch``, ``onnx`` (ONNX Runtime on the CPU, from the ``.onnx`` export beside the
        checkpoint; no torch import) or ``auto``: onnx when the export exists, onnxruntime
        is installed and the device is the CPU (``auto`` with no NVIDIA GPU visible).
    threads : int
        Inference threads on the CPU (0: the engine's default, one per core): ONNX Runtime's
        for this session; for torch, ``torch.set_num_threads`` (process-wide).
    """
    import dataclasses

    from pianotx.bundled import bundled_models, resolve_model
    from pianotx.engine.onnx_engine import choose_engine, load_onnx, onnx_path_for

    if name_or_path is None or _is_model_name(name_or_path, bundled_models()):
        path = resolve_model(name_or_path)
    else:
        path = Path(name_or_path)
    if choose_engine(engine, device, path) == "onnx":
        if not path.is_file():
            from pianotx.errors import CheckpointError

            raise CheckpointError(f"checkpoint {path} does not exist; check the path")
        return load_onnx(onnx_path_for(path), checkpoint=path, threads=threads)

    from pianotx.model.checkpoint import load_checkpoint
    from pianotx.engine.torch_engine import pick_device

    if threads:
        import torch

        torch.set_num_threads(threads)
    loaded = load_checkpoint(path, device=pick_device(device))
    if optimize:
        from pianotx.model.freqnet import for_inference

        loaded = dataclasses.replace(loaded, net=for_inference(loaded.net))
    return loaded


def _is_model_name(value: str | Path, bundled: dict[str, Path]) -> bool:
    """A bare word that is bundled, or that names no file, is a model name, not a path."""
    if not isinstance(value, str) or value in bundled:
        return isinstance(value, str)
    return "/" not in value and "." not in value and not Path(value).exists()


def transcribe(
    audio: str | Path | np.ndarray,
    sample_rate: int | None = None,
    *,
    model: LoadedModel | OnnxModel | None = None,
    decode: DecodeConfig | None = None,
    pedal: str | None = None,
    batch_size: int = 8,
    on_progress: Callable[[int, int], None] | None = None,
) -> Transcription:
    """Transcribe a recording to notes and sustain-pedal presses, as ``pianotx transcribe``
    writes them to MIDI.

    Parameters
    ----------
    audio : path or np.ndarray
        An audio file, or samples ``(n_samples,)`` / ``(n_channels, n_samples)``.
    sample_rate : int, optional
        Rate of an array input in Hz, 1,000 to 384,000 (required for arrays, which are
        resampled to the model's rate with soxr; ignored for files). Float arrays are
        samples with full scale 1.0; integer PCM (int16, int32, uint8) is scaled from its
        type's full scale.
    model : LoadedModel, optional
        From :func:`load_model`; loaded (the default model) when omitted. Load it once and
        pass it in when transcribing many recordings.
    decode : DecodeConfig, optional
        Thresholds; the model's stored defaults when omitted. A config given replaces all of
        them (pedal mode included): to change one, pass
        ``dataclasses.replace(model.decode_config, onset_threshold=0.5)``.
    pedal : str, optional
        ``cc64`` (the presses beside the notes as played), ``extend`` (notes held as the
        pedal holds them, no presses) or ``none`` (no presses); default the decode's mode
        (see ``pianotx info``), like the CLI's ``--pedal``.
    batch_size : int
        10 s windows per forward pass (1 or more).
    on_progress : callable, optional
        Called as ``on_progress(windows_done, windows_total)``; the total is None for a
        file whose header does not give its length.

    Returns
    -------
    Transcription
        ``notes`` (onset/offset in seconds, MIDI pitch, velocity) and ``pedals`` (sustain
        presses; empty for models without a pedal head and for ``extend``/``none``).
        It unpacks as ``notes, pedals = pianotx.transcribe(...)``.

    Raises
    ------
    AudioError
        For unreadable, empty, non-finite or silent audio.
    ConfigError
        For an unknown ``pedal`` mode, a ``sample_rate`` out of range, a ``batch_size`` under 1.
    """
    from pianotx.audio.load import check_not_silent, validate_audio
    from pianotx.engine.decode import apply_pedal_mode

    if pedal is not None and pedal not in PEDAL_MODES:
        raise ConfigError(f"unknown pedal mode {pedal!r}; use one of {', '.join(PEDAL_MODES)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be a whole number of windows, 1 or more; got {batch_size!r}")
    model = model if model is not None else load_model()
    rate = model.feature_config.sample_rate
    options = {"model": model, "decode": decode, "batch_size": batch_size,
               "on_progress": on_progress}
    if isinstance(audio, (str, Path)):
        result = transcribe_file(Path(audio), **options)[0]
    else:
        if sample_rate is None:
            raise AudioError("sample_rate is required when transcribing an array")
        check_sample_rate(sample_rate)
        samples = _resample(validate_audio(audio), sample_rate, rate)
        check_not_silent(samples, name="array")
        result = transcribe_samples(samples, **options)
    mode = pedal or (decode if decode is not None else model.decode_config).pedal
    return apply_pedal_mode(result.notes, result.pedals, mode=mode)


def check_sample_rate(sample_rate: object) -> None:
    """A :class:`ConfigError` unless ``sample_rate`` is a whole number of Hz, 1,000 to 384,000."""
    ok = (not isinstance(sample_rate, bool) and isinstance(sample_rate, (int, float, np.integer, np.floating))
          and math.isfinite(sample_rate) and float(sample_rate).is_integer() and 1_000 <= sample_rate <= 384_000)
    if not ok:
        raise ConfigError(f"sample_rate must be a whole number of Hz from 1000 to 384000; got {sample_rate!r}")


def transcribe_file(
    path: Path,
    *,
    model: LoadedModel | OnnxModel,
    decode: DecodeConfig | None = None,
    batch_size: int = 8,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> tuple[Transcription, float]:
    """Transcribe an audio file streamed in blocks: memory stays flat however long it is.

    Returns the notes and pedal presses and the recording's length in seconds.

    Raises
    ------
    AudioError
        For missing, unreadable, empty, non-finite or silent audio (silence is known, and
        reported, only once the whole file was read).
    """
    from pianotx.audio.load import SILENCE_PEAK, audio_seconds, prefetch, stream_audio
    from pianotx.audio.spectrum import n_frames

    rate = model.feature_config.sample_rate
    seconds = audio_seconds(path)
    total = None if seconds is None else n_frames(int(seconds * rate),
                                                  hop_length=model.feature_config.hop_length)
    meter = {"samples": 0, "peak": 0.0}

    def measured():  # type: ignore[no-untyped-def]
        for block in prefetch(stream_audio(path, sample_rate=rate)):
            meter["samples"] += len(block)
            if len(block):
                meter["peak"] = max(meter["peak"], float(np.max(np.abs(block))))
            yield block

    result = _transcribe_blocks(measured(), model=model, decode=decode, batch_size=batch_size,
                                on_progress=on_progress, total_frames=total)
    if meter["samples"] == 0:
        raise AudioError(f"audio file {path} has no samples; give a recording")
    if meter["peak"] < SILENCE_PEAK:
        raise AudioError(f"audio {path} is silent (peak below -80 dBFS); nothing to transcribe")
    return result, meter["samples"] / rate


def transcribe_samples(
    samples: np.ndarray,
    *,
    model: LoadedModel | OnnxModel,
    decode: DecodeConfig | None = None,
    batch_size: int = 8,
    on_progress: Callable[[int, int], None] | None = None,
) -> Transcription:
    """Transcribe mono float32 samples already at the model's rate and already validated.

    :func:`transcribe` is this plus loading, resampling, the input checks and the pedal mode
    (:func:`~pianotx.engine.decode.apply_pedal_mode`). Returns the notes and the presses the
    pedal head found, before the mode (empty for models without a pedal head).
    """
    from pianotx.audio.spectrum import n_frames

    total = n_frames(len(samples), hop_length=model.feature_config.hop_length)
    return _transcribe_blocks([samples], model=model, decode=decode, batch_size=batch_size,
                              on_progress=on_progress, total_frames=total)


def _transcribe_blocks(blocks, *, model, decode, batch_size, on_progress, total_frames):  # type: ignore[no-untyped-def]
    """Audio blocks -> streamed rolls -> streamed decoding (see :func:`stream_decode`)."""
    from pianotx.engine.decode import stream_decode

    if isinstance(model, OnnxModel):
        from pianotx.engine.onnx_engine import stream_onnx_rolls as stream_rolls
    else:
        from pianotx.engine.torch_engine import stream_rolls
    chunks = stream_rolls(model, blocks, batch_size=batch_size, total_frames=total_frames,
                          on_progress=on_progress)
    config = decode if decode is not None else model.decode_config
    return stream_decode(chunks, config=config, frame_rate=model.feature_config.frame_rate,
                         refine=model.model_config.soft_frames > 0)


def _resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    if source_rate == target_rate:
        return samples
    import soxr

    return soxr.resample(samples, source_rate, target_rate).astype(np.float32)
