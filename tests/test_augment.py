"""Augmentation: deterministic per seed, same length, never clipping, effects as configured."""

from __future__ import annotations

import numpy as np
import pytest

from pianotx.data.augment.basic import AugmentConfig, Params, apply, augment, draw
from pianotx.config import from_dict, to_dict
from pianotx.errors import ConfigError

SR = 16_000
ALL = AugmentConfig(gain_prob=1, eq_prob=1, reverb_prob=1, noise_prob=1, detune_prob=1)
NONE = AugmentConfig(gain_prob=0, eq_prob=0, reverb_prob=0, noise_prob=0, detune_prob=0)


def _tone(hz: float = 440.0, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


def _peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), 8 * len(audio)))
    return float(np.argmax(spectrum) * SR / (8 * len(audio)))


def test_deterministic_per_seed_and_input_untouched() -> None:
    audio = _tone()
    copy = audio.copy()
    first = augment(audio, np.random.default_rng(5), ALL)
    assert np.array_equal(first, augment(audio, np.random.default_rng(5), ALL))
    assert not np.array_equal(first, augment(audio, np.random.default_rng(6), ALL))
    assert np.array_equal(audio, copy)


@pytest.mark.parametrize("seed", range(8))
def test_length_dtype_and_no_clipping(seed: int) -> None:
    loud = np.clip(_tone(amplitude=1.5), -1, 1)
    config = AugmentConfig(gain_prob=1, gain_db_min=6, gain_db_max=6, eq_prob=1, reverb_prob=1,
                           noise_prob=1, detune_prob=1)
    out = augment(loud, np.random.default_rng(seed), config)
    assert out.shape == loud.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 0.99 + 1e-6


def test_no_effects_is_identity_and_silence_stays_finite() -> None:
    audio = _tone()
    assert np.array_equal(augment(audio, np.random.default_rng(0), NONE), audio)
    silent = augment(np.zeros(SR, np.float32), np.random.default_rng(0), ALL)
    assert np.all(np.isfinite(silent)) and np.max(np.abs(silent)) < 0.01


def test_detune_shifts_pitch_within_range_and_keeps_length() -> None:
    config = AugmentConfig(gain_prob=0, eq_prob=0, reverb_prob=0, noise_prob=0, detune_prob=1)
    audio = _tone(440.0)
    for seed in range(6):
        params = draw(np.random.default_rng(seed), config)
        out = apply(audio, params, np.random.default_rng(seed), n_samples=len(audio))
        cents = 1200 * np.log2(_peak_hz(out[: SR // 2]) / 440.0)
        assert len(out) == len(audio)
        assert 10 - 3 <= abs(cents) <= 30 + 3
        assert cents == pytest.approx(1200 * np.log2(params.speed), abs=3)


@pytest.mark.parametrize("pink", [False, True])
def test_noise_at_requested_snr(pink: bool) -> None:
    config = AugmentConfig(gain_prob=0, eq_prob=0, reverb_prob=0, noise_prob=1, detune_prob=0,
                           snr_db_min=20, snr_db_max=20, pink_prob=float(pink))
    audio = _tone()
    noise = augment(audio, np.random.default_rng(1), config) - audio
    assert 10 * np.log10(np.mean(audio**2) / np.mean(noise**2)) == pytest.approx(20, abs=0.5)


def test_reverb_adds_a_tail_and_eq_changes_level() -> None:
    burst = np.zeros(SR, np.float32)
    burst[:800] = _tone(seconds=0.05)
    reverb = Params(0.0, None, (0.8, 0.01, 0.5), None, False, 1.0)
    tail = apply(burst, reverb, np.random.default_rng(0), n_samples=SR)[4000:8000]
    assert np.sqrt(np.mean(tail**2)) > 1e-3
    boost = Params(0.0, (0.0, 8.0, 440.0, 0.5), None, None, False, 1.0)
    out = apply(_tone(amplitude=0.1), boost, np.random.default_rng(0), n_samples=SR)
    assert 20 * np.log10(np.max(np.abs(out[2000:-2000])) / 0.1) == pytest.approx(8.0, abs=0.3)


def test_config_round_trips_and_rejects_bad_values() -> None:
    assert from_dict(AugmentConfig, to_dict(ALL)) == ALL
    with pytest.raises(ConfigError, match=r"AugmentConfig.noise_prob must lie in \[0, 1\]"):
        AugmentConfig(noise_prob=1.5)
    with pytest.raises(ConfigError, match=r"AugmentConfig.snr_db_min \(50\.0\) exceeds its _max"):
        AugmentConfig(snr_db_min=50.0)
    with pytest.raises(ConfigError, match="detune must stay within 1 semitone"):
        AugmentConfig(detune_semitones_max=2.0)
