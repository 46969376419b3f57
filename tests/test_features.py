"""Log-mel front end: equal to librosa within 1e-4 (log domain), finite on silence."""

from __future__ import annotations

import librosa
import numpy as np
import torch

from pianotx.config import FeatureConfig
from pianotx.audio.features import LogMel, mel_filterbank, n_frames


def test_filterbank_equals_librosa():
    """The stored default (no librosa when transcribing) and any other configuration."""
    expected = librosa.filters.mel(sr=16_000, n_fft=2048, n_mels=229, fmin=30, fmax=8000)
    np.testing.assert_allclose(mel_filterbank(FeatureConfig()), expected, atol=1e-7)
    other = librosa.filters.mel(sr=16_000, n_fft=1024, n_mels=64, fmin=50, fmax=7000)
    got = mel_filterbank(FeatureConfig(n_fft=1024, win_length=1024, n_mels=64, fmin=50.0,
                                       fmax=7000.0))
    np.testing.assert_allclose(got, other, atol=1e-7)


def test_log_mel_equals_librosa_within_1e_4():
    audio = (0.1 * np.random.default_rng(0).standard_normal(16_000 * 2)).astype(np.float32)
    expected = librosa.feature.melspectrogram(
        y=audio, sr=16_000, n_fft=2048, hop_length=160, win_length=2048, n_mels=229,
        fmin=30, fmax=8000, power=2.0,
    )
    expected = np.log(np.maximum(expected, 1e-5)).T
    got = LogMel()(torch.from_numpy(audio)[None])[0].numpy()
    assert got.shape == expected.shape == (n_frames(len(audio), hop_length=160), 229)
    assert np.max(np.abs(got - expected)) < 1e-4


def test_silence_gives_the_floor_not_inf():
    got = LogMel()(torch.zeros(1, 1600))
    assert got.shape == (1, 11, 229)
    assert torch.all(got == torch.log(torch.tensor(1e-5)))


def test_uncentred_slice_matches_centred_frames():
    audio = torch.randn(1, 4000)
    centred = LogMel()(audio)
    padded = torch.nn.functional.pad(audio, (1024, 1024))
    assert torch.allclose(LogMel()(padded, center=False), centred, atol=1e-4)
