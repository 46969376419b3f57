"""Recording chain: each effect alone, label alignment, determinism, silence, the dataset."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

pytest.importorskip("pedalboard")
pytest.importorskip("pyroomacoustics")

from pianotx.data.readers import Item  # noqa: E402
from pianotx.data.crops import SegmentDataset  # noqa: E402
from pianotx.errors import ConfigError  # noqa: E402
from pianotx.music.midi import notes_to_midi, write_midi  # noqa: E402
from pianotx.music.notes import Note, Pedal  # noqa: E402
from pianotx.data.augment.recording import RecordingConfig, record  # noqa: E402

SR = 16_000
CLICK = 8_000  # sample of the test click
TOLERANCE = 16  # 1 ms
PROBS = ("key_noise_prob", "pedal_noise_prob", "resonance_prob", "room_prob", "reverb_prob",
         "noise_prob", "hum_prob", "gain_prob", "eq_prob", "cheap_mic_prob", "compressor_prob",
         "distortion_prob", "mp3_prob", "gsm_prob")
OFF = RecordingConfig(**{name: 0.0 for name in PROBS}, room_bank_size=4)
ONSETS = np.array([0.1, 0.5, 1.2])
PEDALS = np.array([[0.2, 0.9], [1.1, 1.4]])


def _only(*names: str, **ranges: float) -> RecordingConfig:
    return replace(OFF, **{name: 1.0 for name in names}, **ranges)


def _piano(seconds: float = 1.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    audio = np.zeros_like(t)
    for onset in ONSETS:
        s = t[t >= onset] - onset
        audio[t >= onset] += 0.3 * np.sin(2 * np.pi * 262 * s) * np.exp(-4 * s)
    return audio.astype(np.float32)


def _click() -> np.ndarray:
    audio = np.zeros(SR, np.float32)
    audio[CLICK] = 0.9
    return audio


def _run(config: RecordingConfig, audio: np.ndarray, seed: int = 0) -> np.ndarray:
    return record(audio, np.random.default_rng(seed), sample_rate=SR, onsets_s=ONSETS,
                  pedals_s=PEDALS, config=config)


@pytest.mark.parametrize("effect", [
    ("key_noise_prob",), ("pedal_noise_prob",), ("resonance_prob",), ("room_prob",),
    ("reverb_prob",), ("noise_prob",), ("noise_prob", "hum_prob"), ("gain_prob",), ("eq_prob",),
    ("cheap_mic_prob",), ("compressor_prob",), ("distortion_prob",), ("mp3_prob",), ("gsm_prob",),
])
def test_each_effect_alone_keeps_shape_and_limits(effect: tuple[str, ...]) -> None:
    audio = _piano()
    copy = audio.copy()
    out = _run(_only(*effect, gain_db_min=12.0), audio)
    assert out.shape == audio.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 0.99
    assert not np.array_equal(out, audio) and np.array_equal(audio, copy)


def test_no_effect_is_identity() -> None:
    assert np.array_equal(_run(OFF, _piano()), _piano())


@pytest.mark.parametrize("config", [
    _only("room_prob", mic_distance_m_min=5.0, wet_min=1.0, room_length_m_min=20.0,
          room_width_m_min=15.0),
    RecordingConfig(room_prob=1.0, room_bank_size=4, mp3_prob=1.0, gain_prob=0.0),
])
def test_click_keeps_its_sample(config: RecordingConfig) -> None:
    for seed in range(4):
        out = np.abs(_run(config, _click(), seed))
        first = int(np.argmax(out > 0.2 * out.max()))
        assert abs(first - CLICK) <= TOLERANCE, seed


def test_deterministic_per_seed() -> None:
    config = RecordingConfig(room_bank_size=4)
    first = _run(config, _piano(), seed=3)
    assert np.array_equal(first, _run(config, _piano(), seed=3))
    assert not np.array_equal(first, _run(config, _piano(), seed=4))


def test_silence_gives_only_a_quiet_noise_floor() -> None:
    config = replace(RecordingConfig(room_bank_size=4), noise_prob=1.0, gain_prob=0.0)
    out = _run(config, np.zeros(SR, np.float32))
    assert np.all(np.isfinite(out)) and 0 < np.max(np.abs(out)) < 0.05


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ConfigError, match=r"RecordingConfig.mp3_prob must lie in \[0, 1\]"):
        RecordingConfig(mp3_prob=2.0)
    with pytest.raises(ConfigError, match=r"RecordingConfig.snr_db_min \(70.0\) exceeds its _max"):
        RecordingConfig(snr_db_min=70.0)
    with pytest.raises(ConfigError, match="wet, reverb_size, reverb_wet ranges must lie in"):
        RecordingConfig(wet_max=1.5)
    with pytest.raises(ConfigError, match="room_bank_size must be an int >= 1"):
        RecordingConfig(room_bank_size=0)


def test_dataset_labels_unchanged_by_the_chain(tmp_path: Path) -> None:
    audio_path, midi_path = tmp_path / "data" / "take.wav", tmp_path / "data" / "take.mid"
    audio_path.parent.mkdir()
    sf.write(audio_path, _piano(2.0), SR)
    notes = [Note(float(t), float(t) + 0.3, 60, 80) for t in ONSETS]
    write_midi(notes_to_midi(notes, pedals=[Pedal(0.2, 0.9)]), midi_path)
    items = [Item(audio_path, midi_path, "train", "take", 2.0)]
    kwargs = dict(cache_dir=tmp_path / "cache", segment_s=0.5, seed=1, samples_per_epoch=6)
    plain = SegmentDataset(items, **kwargs)
    recorded = SegmentDataset(items, **kwargs, recording=RecordingConfig(room_bank_size=4))
    for k in range(len(plain)):
        a, b = plain[k], recorded[k]
        assert all(torch.equal(a[name], b[name]) for name in a if name != "audio")
        assert b["audio"].shape == a["audio"].shape and torch.isfinite(b["audio"]).all()


def test_missing_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyroomacoustics", None)
    with pytest.raises(ConfigError, match=r"needs pyroomacoustics: pip install 'pianotx\[augment\]'"):
        _run(OFF, _piano())
