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
