"""``pianotx render``: a MIDI file through the default pip-only piano to a wav."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pianotx.cli import app
from pianotx.music.midi import notes_to_midi, write_midi
from pianotx.music.notes import Note
from pianotx.data.synth.timbres import find_timbre

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def two_notes(tmp_path):
    path = tmp_path / "song.mid"
    write_midi(notes_to_midi([Note(0.1, 0.6, 60, 100), Note(0.5, 1.0, 64, 80)]), path)
    return path


def test_render_two_notes(tmp_path, two_notes):
    pytest.importorskip("tinysoundfont")
    try:
        find_timbre("timgm6mb")
    except Exception as exc:  # the SoundFont comes with pretty_midi
        pytest.skip(str(exc))
    result = run("render", two_notes, "-o", tmp_path / "song.wav", "--sample-rate", 16_000)
    assert result.exit_code == 0, result.output
    audio, rate = sf.read(tmp_path / "song.wav", dtype="float32")
    assert rate == 16_000 and audio.ndim == 1
    assert len(audio) == 16_000 * 2  # last note-off at 1.0 s plus a 1 s tail
    assert 0.5 < np.abs(audio).max() <= 0.9  # peak-normalised to -1 dBFS
    assert np.abs(audio[: int(0.09 * rate)]).max() < 1e-3  # silent before the first onset
    assert np.sqrt(np.mean(audio[int(0.15 * rate): int(0.9 * rate)] ** 2)) > 0.01


@pytest.mark.parametrize("case,message", [
    ("missing", "error: MIDI file not found: .*nope.mid; check the path"),
    ("exists", "song.wav already exists; pass --overwrite"),
    ("long", "error: .*long.mid lasts 4.2 h; render files of up to 4 h"),
    ("soundfonts", "error: --soundfont-dir .*none is not a folder"),
])
def test_bad_inputs(tmp_path, two_notes, case, message):
    midi = tmp_path / "nope.mid" if case == "missing" else two_notes
    if case == "long":
        midi = tmp_path / "long.mid"
        write_midi(notes_to_midi([Note(0.1, 0.6, 60, 100), Note(15_000.0, 15_001.0, 64, 80)]), midi)
    if case == "exists":
        (tmp_path / "song.wav").write_bytes(b"keep")
    timbre = {"soundfonts": ["--soundfont-dir", tmp_path / "none"]}.get(case, [])
    result = run("render", midi, "-o", tmp_path / "song.wav", *timbre)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert __import__("re").search(message, result.stderr), result.stderr
    assert (tmp_path / "song.wav").exists() == (case == "exists")
    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize("args,message", [
    (["--timbre", "harpsichord"], "error: unknown timbre 'harpsichord'; choose from musescore, fluidr3"),
    (["--sample-rate", "100"], "Invalid value for '--sample-rate'"),  # Typer's range check
])
def test_usage_errors_exit_2_before_any_file_is_read(tmp_path, args, message):
    """An unknown timbre is a usage error (a known one not installed is exit 1, below)."""
    result = run("render", tmp_path / "missing.mid", "-o", tmp_path / "song.wav", *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_renderer_names_the_packages(tmp_path, two_notes, monkeypatch):
    monkeypatch.setattr("pianotx.data.synth.timbres._engine_ok", lambda engine: False)
    result = run("render", two_notes, "-o", tmp_path / "song.wav")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "timbre 'timgm6mb' is not installed; it needs pip package pretty_midi" in result.stderr
    assert "tinysoundfont" in result.stderr and not (tmp_path / "song.wav").exists()
