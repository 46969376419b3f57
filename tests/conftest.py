"""Shared fixtures: synthetic piano-like tones with exact notes, a tiny trained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pianotx.music.notes import Note

SR = 16_000


def render_tones(notes: list[Note], *, sample_rate: int = SR, tail_s: float = 0.5) -> np.ndarray:
    """Decaying harmonic tones (4 partials, sharp attack) for ``notes``; float32 mono."""
    length = int((max(n.offset_s for n in notes) + tail_s) * sample_rate)
    audio = np.zeros(length, np.float32)
    for note in notes:
        start, stop = int(note.onset_s * sample_rate), int(note.offset_s * sample_rate)
        t = np.arange(stop - start) / sample_rate
        f0 = 440.0 * 2 ** ((note.pitch - 69) / 12)
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5) if f0 * k < 7900)
        envelope = np.exp(-3.0 * t) * np.minimum(1.0, t / 0.005)
        release = np.minimum(1.0, (stop - start - np.arange(stop - start)) / (0.01 * sample_rate))
        audio[start:stop] += (note.velocity / 127) * 0.3 * tone * envelope * release
    return audio


def tone_notes(seed: int, *, n_notes: int = 12, pitches=(48, 55, 60, 64, 67, 72)) -> list[Note]:
    """Well separated notes (0.25-0.4 s, gaps >= 0.15 s) on a few pitches, two at a time."""
    rng = np.random.default_rng(seed)
    notes, t = [], 0.2
    for _ in range(n_notes):
        length = float(rng.uniform(0.25, 0.4))
        chord = rng.choice(pitches, size=2, replace=False)
        notes += [Note(round(t, 3), round(t + length, 3), int(p), 90) for p in chord]
        t += length + float(rng.uniform(0.15, 0.3))
    return notes


@pytest.fixture(scope="session")
def tone_clip() -> tuple[np.ndarray, list[Note]]:
    """A test recording never used in training: audio and its exact notes."""
    notes = tone_notes(seed=99)
    return render_tones(notes), notes


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Checkpoint of a paper-size FCNN trained for a few seconds on synthetic tones."""
    from tests.tiny_training import train_tiny_model

    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    train_tiny_model(path, render_tones=render_tones, tone_notes=tone_notes)
    return path
