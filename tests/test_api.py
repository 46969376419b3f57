"""The Python API returns what the CLI writes: notes and sustain presses after the pedal mode."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import pianotx
from pianotx import api
from pianotx.config import DecodeConfig
from pianotx.engine.decode import Transcription
from pianotx.errors import ConfigError
from pianotx.music.notes import Note, Pedal

NOTES = [Note(0.1, 0.4, 60, 70), Note(1.0, 1.2, 64, 50)]
PEDALS = [Pedal(0.3, 0.9)]


@pytest.fixture()
def decoded(monkeypatch):
    """The model's decoded output, as transcribe_samples would return it."""
    monkeypatch.setattr(api, "transcribe_samples",
                        lambda samples, **_: Transcription(list(NOTES), list(PEDALS)))
    return SimpleNamespace(decode_config=DecodeConfig(pedal="cc64"),
                           feature_config=SimpleNamespace(sample_rate=16_000))


def _audio() -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal(16_000)).astype(np.float32)


def test_transcribe_returns_the_presses_with_the_notes(decoded) -> None:
    notes, pedals = pianotx.transcribe(_audio(), 16_000, model=decoded)
    assert notes == NOTES and pedals == PEDALS


def test_pedal_modes_match_the_cli(decoded) -> None:
    held = pianotx.transcribe(_audio(), 16_000, model=decoded, pedal="extend")
    assert held.pedals == [] and held.notes[0] == Note(0.1, 0.9, 60, 70)  # held to the release
    assert pianotx.transcribe(_audio(), 16_000, model=decoded, pedal="none") == (NOTES, [])
    stored = pianotx.transcribe(_audio(), 16_000, model=decoded,
                                decode=DecodeConfig(pedal="none"))
    assert stored.pedals == []
    with pytest.raises(ConfigError, match="unknown pedal mode 'sostenuto'"):
        pianotx.transcribe(_audio(), 16_000, model=decoded, pedal="sostenuto")


def test_integer_pcm_is_scaled_from_full_scale() -> None:
    from pianotx.audio.load import validate_audio

    assert validate_audio(np.array([-32768, 0, 16384], np.int16)).tolist() == [-1.0, 0.0, 0.5]
    assert validate_audio(np.array([0, 128, 192], np.uint8)).tolist() == [-1.0, 0.0, 0.5]
    assert validate_audio(np.array([[-2**31, 2**30]], np.int32)).tolist() == [-1.0, 0.5]


@pytest.mark.parametrize("audio,rate,options,error,message", [
    (np.zeros(16_000, np.complex64), 16_000, {}, "AudioError", "holds complex64 values"),
    (np.zeros((2, 0), np.float32), 16_000, {}, "AudioError", "has no samples"),
    (None, float("nan"), {}, "ConfigError", "sample_rate must be a whole number of Hz from 1000 to 384000; got nan"),
    (None, True, {}, "ConfigError", "got True"),
    (None, "16000", {}, "ConfigError", "got '16000'"),
    (None, 16_000, {"batch_size": 0}, "ConfigError", "batch_size must be a whole number of windows, 1 or more"),
])
def test_bad_arrays_rates_and_batches_are_refused(decoded, audio, rate, options, error, message) -> None:
    import pianotx.errors as errors

    with pytest.raises(getattr(errors, error), match=message):
        pianotx.transcribe(_audio() if audio is None else audio, rate, model=decoded, **options)


def test_decode_settings_must_be_finite_numbers() -> None:
    with pytest.raises(ConfigError, match="min_note_s must be a finite number, got nan"):
        DecodeConfig(min_note_s=float("nan"))
    with pytest.raises(ConfigError, match="default_velocity must be a whole number 1-127, got 64.7"):
        DecodeConfig(default_velocity=64.7)
