"""Audio loading: mono, resampling, formats, and every bad input with its message."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from pianotx.audio.load import check_not_silent, load_audio, validate_audio
from pianotx.errors import AudioError


def test_stereo_44k_becomes_mono_16k(tmp_path):
    t = np.arange(44_100) / 44_100
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / "a.wav"
    sf.write(path, np.stack([left, right], axis=1), 44_100)
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 16_000) <= 1
    assert np.max(np.abs(audio)) == pytest.approx(0.3, abs=0.01)  # mean of the channels


@pytest.mark.parametrize("suffix,fmt", [(".flac", "FLAC"), (".ogg", "OGG"), (".mp3", "MP3")])
def test_compressed_formats(tmp_path, suffix, fmt):
    if fmt not in sf.available_formats():
        pytest.skip(f"libsndfile here cannot write {fmt}")
    path = tmp_path / f"a{suffix}"
    sf.write(path, 0.3 * np.sin(np.arange(32_000) * 0.05), 32_000, format=fmt)
    audio = load_audio(path)
    assert abs(len(audio) - 16_000) < 1200  # mp3 adds encoder padding
    assert 0.2 < np.max(np.abs(audio)) < 0.4


def test_many_blocks_match_one_shot(tmp_path, monkeypatch):
    import pianotx.audio.load as audio_module

    path = tmp_path / "a.wav"
    signal = np.random.default_rng(0).uniform(-0.5, 0.5, 48_000 * 3).astype(np.float32)
    sf.write(path, signal, 48_000, subtype="FLOAT")
    whole = load_audio(path)
    monkeypatch.setattr(audio_module, "BLOCK_S", 0.25)
    blocks = load_audio(path)
    assert len(blocks) == len(whole) == 48_000
    assert np.max(np.abs(blocks - whole)) < 1e-3


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: None, "audio file not found"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.write_text("this is not audio at all\n" * 20), "cannot decode"),
        (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200))), "cannot decode"),
        (lambda p: sf.write(p, np.zeros((0, 1)), 16_000), "has no samples"),
        (lambda p: sf.write(p, np.array([0.1, np.nan, 0.2] * 100), 16_000, subtype="FLOAT"),
         "NaN or infinite"),
    ],
    ids=["missing", "empty", "text", "corrupt", "zero-length", "nan"],
)
def test_bad_files(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError, match=message):
        load_audio(path)


def test_folder_is_not_audio(tmp_path):
    with pytest.raises(AudioError, match="is a folder"):
        load_audio(tmp_path)


def test_silence_and_arrays():
    with pytest.raises(AudioError, match="is silent"):
        check_not_silent(np.zeros(16_000, np.float32), name="x.wav")
    check_not_silent(np.full(10, 0.01, np.float32), name="x.wav")
    with pytest.raises(AudioError, match="NaN"):
        validate_audio(np.array([0.0, np.inf]))
    assert validate_audio(np.ones((2, 100))).shape == (100,)


def test_prefetch_yields_in_order_and_reraises():
    from pianotx.audio.load import prefetch

    assert [int(b[0]) for b in prefetch(iter([np.full(3, i, np.float32) for i in range(7)]))] \
        == list(range(7))

    def broken():
        yield np.zeros(2, np.float32)
        raise AudioError("cannot decode x.wav")

    got = []
    with pytest.raises(AudioError, match="cannot decode"):
        for block in prefetch(broken()):
            got.append(block)
    assert len(got) == 1


def test_prefetch_stopped_early_closes_the_blocks_it_reads():
    """Ctrl-C in the consumer: the decoder (a file and a resampler) is closed before the
    consumer goes on, not left to the interpreter's exit (nanobind reported soxr leaks)."""
    import numpy as np

    from pianotx.audio.load import prefetch

    closed = []

    def blocks():
        try:
            for i in range(100):
                yield np.full(4, i, np.float32)
        finally:
            closed.append(True)

    stream = prefetch(blocks())
    assert next(stream)[0] == 0
    stream.close()
    assert closed == [True]
