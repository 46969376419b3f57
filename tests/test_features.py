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


def test_logfreq_bands_follow_the_semitones():
    """Each band is the mean power around its note: weights sum to 1, a sine at A2 (110 Hz,
    band 24) and at A5 (880 Hz, band 60) peaks in its own band, and the mel bands are those
    of the plain front end."""
    from pianotx.audio.spectrum import logfreq_filterbank

    config = FeatureConfig(logfreq_bands=99)
    bank = logfreq_filterbank(config)
    assert bank.shape == (99, 1025) and bank.dtype == np.float32
    np.testing.assert_allclose(bank.sum(axis=1), 1.0, rtol=1e-6)
    assert (bank[0] > 0).sum() == 2  # A0: interpolated between the two nearest bins
    t = np.arange(16_000) / 16_000
    for hz, band in ((110.0, 24), (880.0, 60)):
        audio = torch.from_numpy(np.sin(2 * np.pi * hz * t).astype(np.float32))[None]
        features = LogMel(config)(audio)[0, 50]
        assert features.shape == (229 + 99,)
        assert int(features[229:].argmax()) == band
        torch.testing.assert_close(features[:229], LogMel()(audio)[0, 50])
