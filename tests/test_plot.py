"""``pianotx plot``: a PNG of the requested size, hits and misses against a reference MIDI."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pianotx.cli import app
from pianotx.music.midi import notes_to_midi, write_midi
from pianotx.music.notes import Note
from tests.test_outputs import untrained_checkpoint

pytest.importorskip("matplotlib")
runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REF = [Note(0.1, 0.5, 60, 90), Note(0.6, 1.0, 64, 90), Note(1.0, 1.5, 67, 90)]
EST = [Note(0.12, 0.5, 60, 90), Note(0.6, 1.0, 65, 90), Note(1.3, 1.5, 67, 90)]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def image_size(path):
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_MAGIC
    height, width = imread(path).shape[:2]
    return width, height


def test_midi_with_reference(tmp_path):
    from pianotx.evaluation.plot import match_onsets

    write_midi(notes_to_midi(EST), tmp_path / "est.mid")
    write_midi(notes_to_midi(REF), tmp_path / "ref.mid")
    result = run("plot", tmp_path / "est.mid", "--ref", tmp_path / "ref.mid", "-o", tmp_path / "roll.png",
                 "--width", 640, "--height", 357)
    assert result.exit_code == 0, result.output
    assert image_size(tmp_path / "roll.png") == (640, 357)
    assert match_onsets(REF, EST) == ([0], [1, 2], [1, 2])  # hit C4; E4 and G4 missed, F4 and late G4 false


def test_audio_draws_log_mel_and_roll(tmp_path, tone_clip):
    sf.write(tmp_path / "a.wav", tone_clip[0][:24_000], 16_000)
    checkpoint = untrained_checkpoint(tmp_path / "m.pt")
    result = run("plot", tmp_path / "a.wav", "-o", tmp_path / "a.png", "--checkpoint", checkpoint,
                 "--device", "cpu", "--width", 1000, "--height", 700, "--dpi", 80)
    assert result.exit_code == 0, result.output
    assert image_size(tmp_path / "a.png") == (1000, 700)
    image = np.asarray(__import__("matplotlib.image").image.imread(tmp_path / "a.png"))
    assert image[: 700 // 3].std() > 0.05  # the log-mel panel is not blank


@pytest.mark.parametrize("case,message", [
    ("missing-ref", "MIDI file not found: .*nope.mid"),
    ("not-midi", "cannot read .*bad.mid as MIDI"),
    ("exists", "roll.png already exists; pass --overwrite"),
])
def test_bad_inputs(tmp_path, case, message):
    write_midi(notes_to_midi(EST), tmp_path / "est.mid")
    (tmp_path / "bad.mid").write_text("not midi")
    if case == "exists":
        (tmp_path / "roll.png").write_bytes(b"keep")
    source = tmp_path / ("bad.mid" if case == "not-midi" else "est.mid")
    ref = ["--ref", tmp_path / "nope.mid"] if case == "missing-ref" else []
    result = run("plot", source, *ref, "-o", tmp_path / "roll.png")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert __import__("re").search(message, result.stderr), result.stderr
    assert case == "exists" or not (tmp_path / "roll.png").exists()


def test_missing_matplotlib_is_one_line(tmp_path, monkeypatch):
    write_midi(notes_to_midi(EST), tmp_path / "est.mid")
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    result = run("plot", tmp_path / "est.mid", "-o", tmp_path / "roll.png")
    assert result.exit_code == 1
    assert result.stderr == "error: matplotlib is not installed; pip install 'pianotx[plot]'\n"
    assert not (tmp_path / "roll.png").exists()


def test_cli_import_leaves_matplotlib_out():
    import subprocess

    code = "import sys, pianotx.cli; sys.exit('matplotlib' in sys.modules or 'tinysoundfont' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_model_options_with_a_midi_file_are_a_usage_error(tmp_path):
    from typer.testing import CliRunner

    from pianotx.cli import app

    result = CliRunner().invoke(app, ["plot", str(tmp_path / "x.mid"), "-o", str(tmp_path / "x.png"),
                                      "--model", "fcnn"])
    assert result.exit_code == 2 and "drop them to plot a MIDI file" in result.output


@pytest.mark.parametrize("source,args,message", [
    ("x.wav", ["--device", "tpu"], "unknown device 'tpu'; use auto, cpu, cuda, cuda:N or mps"),
    ("x.wav", ["--model", "fcnn", "--checkpoint", "c.pt"], "--model and --checkpoint exclude each other"),
    ("x.mid", ["--model", "fcnn"], "--model and --checkpoint transcribe audio; drop them to plot a MIDI file"),
    ("x.mid", ["--width", "10"], "Invalid value for '--width'"),  # Typer's range check
])
def test_usage_errors_exit_2_before_any_file_is_read(tmp_path, source, args, message):
    result = run("plot", tmp_path / source, "-o", tmp_path / "x.png", *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []
