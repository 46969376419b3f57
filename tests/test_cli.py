"""The CLI end to end: a tiny trained model gets the tones back; every bad input fails cleanly."""

from __future__ import annotations

import subprocess
from pathlib import Path
import sys

import mir_eval
import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pianotx.cli import app
from pianotx.evaluation.metrics import note_arrays
from pianotx.music.midi import read_midi

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def onset_f1(ref, est) -> float:
    (ref_iv, ref_hz, _), (est_iv, est_hz, _) = note_arrays(ref), note_arrays(est)
    return mir_eval.transcription.precision_recall_f1_overlap(
        ref_iv, ref_hz, est_iv, est_hz, offset_ratio=None)[2]


def test_transcribe_gets_the_tones_back(tmp_path, tiny_checkpoint, tone_clip):
    audio, notes = tone_clip
    sf.write(tmp_path / "tones.wav", audio, 16_000)
    result = run("transcribe", tmp_path / "tones.wav", "-o", tmp_path / "tones.mid",
                 "--checkpoint", tiny_checkpoint, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "tones.mid: " in result.stdout and "notes" in result.stdout
    estimate = read_midi(tmp_path / "tones.mid").notes
    assert onset_f1(notes, estimate) >= 0.9


def test_folder_in_folder_out(tmp_path, tiny_checkpoint, tone_clip):
    (tmp_path / "in").mkdir()
    for name in ("a.wav", "b.flac"):
        sf.write(tmp_path / "in" / name, tone_clip[0][:32_000], 16_000)
    result = run("transcribe", tmp_path / "in", "-o", tmp_path / "out", "--checkpoint", tiny_checkpoint)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.mid", "b.mid"]
    assert result.stdout.count("\n") == 2  # one summary line per file


def test_jobs_give_the_same_files_as_one_at_a_time(tmp_path, tiny_checkpoint, tone_clip):
    (tmp_path / "in").mkdir()
    for i in range(4):
        sf.write(tmp_path / "in" / f"c{i}.wav", tone_clip[0][8_000 * i : 8_000 * i + 32_000], 16_000)
    sf.write(tmp_path / "in" / "silent.wav", np.zeros(16_000, np.float32), 16_000)
    outputs = {}
    for jobs in ("1", "3"):
        result = run("transcribe", tmp_path / "in", "-o", tmp_path / f"out{jobs}", "--json",
                     "--checkpoint", tiny_checkpoint, "--jobs", jobs)
        assert result.exit_code == 1  # the silent file fails, the others are written
        import json

        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert sorted(Path(line["path"]).name for line in lines) == [f"c{i}.wav" for i in range(4)] + ["silent.wav"]
        failed = [line for line in lines if "error" in line]
        assert len(failed) == 1 and "silent" in failed[0]["error"] and "silent" in result.stderr
        outputs[jobs] = {p.name: p.read_bytes() for p in (tmp_path / f"out{jobs}").iterdir()}
    assert sorted(outputs["1"]) == [f"c{i}.mid" for i in range(4)]
    assert outputs["1"] == outputs["3"]


def write_bad(tmp_path, kind):
    path = tmp_path / "in.wav"
    if kind == "missing":
        return path
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("definitely not audio\n" * 50)
    elif kind == "corrupt":
        path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    elif kind == "zero-length":
        sf.write(path, np.zeros((0, 1)), 16_000)
    elif kind == "nan":
        sf.write(path, np.array([0.1, np.nan] * 8000), 16_000, subtype="FLOAT")
    elif kind == "silent":
        sf.write(path, np.zeros(16_000), 16_000)
    elif kind == "no-audio-folder":
        path = tmp_path / "folder"
        path.mkdir()
        (path / "notes.txt").write_text("x")
    return path


@pytest.mark.parametrize("kind,message", [
    ("missing", "audio file not found: .*in.wav; check the path"),
    ("empty", "audio file .*in.wav is empty \\(0 bytes\\)"),
    ("text", "cannot decode .*in.wav as audio"),
    ("corrupt", "cannot decode .*in.wav as audio"),
    ("zero-length", "audio file .*in.wav has no samples"),
    ("nan", "audio file .*in.wav contains NaN or infinite samples; re-export it"),
    ("silent", "audio .*in.wav is silent"),
    ("no-audio-folder", "folder .*folder holds no audio files"),
])
def test_bad_audio(tmp_path, tiny_checkpoint, kind, message):
    source = write_bad(tmp_path, kind)
    result = run("transcribe", source, "-o", tmp_path / "out.mid", "--checkpoint", tiny_checkpoint)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert __import__("re").search(message, result.stderr), result.stderr
    assert not (tmp_path / "out.mid").exists()
    assert not list(tmp_path.glob(".*.part"))


def test_existing_output_is_kept_without_overwrite(tmp_path, tiny_checkpoint, tone_clip):
    sf.write(tmp_path / "a.wav", tone_clip[0][:32_000], 16_000)
    (tmp_path / "a.mid").write_bytes(b"precious")
    result = run("transcribe", tmp_path / "a.wav", "--checkpoint", tiny_checkpoint)
    assert result.exit_code == 1
    assert result.stderr == f"error: output {tmp_path / 'a.mid'} already exists; pass --overwrite to replace it\n"
    assert (tmp_path / "a.mid").read_bytes() == b"precious"
    result = run("transcribe", tmp_path / "a.wav", "--checkpoint", tiny_checkpoint, "--overwrite")
    assert result.exit_code == 0 and (tmp_path / "a.mid").read_bytes()[:4] == b"MThd"


@pytest.mark.parametrize("target,message", [
    ("missing-dir/out.mid", "output folder .*missing-dir does not exist; create it first"),
    ("/proc/out.mid", "cannot write in /proc|output folder /proc is not writable"),
])
def test_unwritable_output(tmp_path, tiny_checkpoint, tone_clip, target, message):
    sf.write(tmp_path / "a.wav", tone_clip[0][:16_000], 16_000)
    out = tmp_path / target if not target.startswith("/") else target
    result = run("transcribe", tmp_path / "a.wav", "-o", out, "--checkpoint", tiny_checkpoint)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert __import__("re").search(message, result.stderr), result.stderr
    assert not __import__("os").path.exists(out)


@pytest.mark.parametrize("content,message", [
    (None, "checkpoint not found"),
    (b"garbage", "cannot read .*bad.pt as a pianotx checkpoint"),
])
def test_bad_checkpoint(tmp_path, tone_clip, content, message):
    sf.write(tmp_path / "a.wav", tone_clip[0][:16_000], 16_000)
    if content is not None:
        (tmp_path / "bad.pt").write_bytes(content)
    result = run("transcribe", tmp_path / "a.wav", "-o", tmp_path / "a.mid", "--checkpoint", tmp_path / "bad.pt")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert __import__("re").search(message, result.stderr), result.stderr
    assert not (tmp_path / "a.mid").exists()


def test_usage_errors_exit_2(tmp_path):
    assert run("transcribe").exit_code == 2
    result = run("transcribe", tmp_path, "--model", "x", "--checkpoint", tmp_path / "c.pt")
    assert result.exit_code == 2 and "exclude each other" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["--engine", "foo"], "unknown engine 'foo'; use auto, torch, onnx"),
    (["--device", "tpu"], "unknown device 'tpu'; use auto, cpu, cuda, cuda:N or mps"),
    (["--engine", "onnx", "--device", "cuda"],
     "the onnx engine runs on the CPU only, not 'cuda'; use --engine torch for a GPU"),
    (["--onset-threshold", "-1"], "--onset-threshold must lie strictly between 0 and 1, got -1.0"),
    (["--frame-threshold", "1"], "--frame-threshold must lie strictly between 0 and 1, got 1.0"),
    (["--onset-bass-slope", "0.9"], "--onset-bass-slope must lie in [0, 0.5] per octave, got 0.9"),
    (["--pedal", "maybe"], "unknown --pedal 'maybe'; use cc64, extend, none"),
    (["--format", "mid,pdf"], "unknown --format pdf; choose a comma list of mid, csv, json, musicxml"),
    (["--key-changes"], "--key-changes shapes the MusicXML score; add --format musicxml"),
    (["--format", "musicxml", "--time-signature", "7/8"],
     "time signature '7/8' is not one pianotx writes; use one of 2/4, 3/4"),
    (["--format", "musicxml", "--time-signature", "3/4", "--meter-changes"],
     "--time-signature holds throughout; drop --meter-changes"),
    (["--model", "fcnn", "--checkpoint", "c.pt"], "--model and --checkpoint exclude each other; give one"),
    (["--ray=local"], "--ray needs -o OUT, the folder the outputs (and manifest.jsonl) go to"),
    (["--tempo", "0"], "Invalid value for '--tempo'"),  # Typer's range checks
    (["--batch-size", "0"], "Invalid value for '--batch-size'"),
])
def test_usage_errors_exit_2_before_any_file_is_read(tmp_path, args, message):
    """A missing recording would be exit 1: each of these is found before it is read."""
    result = run("transcribe", tmp_path / "missing.wav", *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    if not message.startswith("Invalid value"):
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_version_help_and_info():
    out = subprocess.run([sys.executable, "-m", "pianotx", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("pianotx ")
    assert run("--help").exit_code == 0
    result = run("info")
    assert result.exit_code == 0 and "device: " in result.stdout
    assert "pedal" in result.stdout and "none" in result.stdout  # the default model's pedal mode (README)


def test_unknown_bundled_model_name(tmp_path, tone_clip):
    sf.write(tmp_path / "a.wav", tone_clip[0][:16_000], 16_000)
    result = run("transcribe", tmp_path / "a.wav", "-o", tmp_path / "a.mid", "--model", "nosuch")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no bundled model") and result.stderr.count("\n") == 1
    assert not (tmp_path / "a.mid").exists()
