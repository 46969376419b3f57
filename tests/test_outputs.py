"""Note lists beside the MIDI: CSV and JSON hold exactly the MIDI's notes, at any tempo."""

from __future__ import annotations

import json

import mido
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pianotx.cli import app
from pianotx.errors import PianotxError
from pianotx.music.midi import notes_to_midi, read_midi, write_midi
from pianotx.music.notelist import as_written, decimals_for_tempo, from_csv, from_json, to_csv, to_json
from pianotx.music.notes import Note, Pedal

runner = CliRunner()
SONG = [Note(0.2, 0.6, 60, 90), Note(0.2, 0.6, 64, 80), Note(0.9, 1.3, 67, 100), Note(1.0, 1.1, 67, 60)]
SONG_PEDALS = [Pedal(0.5, 0.8)]


@pytest.fixture(scope="module")
def quick_checkpoint(tmp_path_factory):
    """An untrained model (no training steps): the CLI tests below fix what it transcribes."""
    return untrained_checkpoint(tmp_path_factory.mktemp("ckpt") / "quick.pt")


@pytest.fixture
def fixed_transcription(monkeypatch):
    """Make every transcription return :data:`SONG`, so outputs can be checked exactly."""
    from pianotx.engine.decode import Transcription

    def fixed(blocks, **kwargs):
        for _ in blocks:  # the audio is still read (and checked) as in a real run
            pass
        return Transcription(list(SONG), list(SONG_PEDALS))

    monkeypatch.setattr("pianotx.api._transcribe_blocks", fixed)
NOTES = [Note(0.1, 0.5, 60, 90), Note(0.3, 0.8, 60, 70), Note(0.25, 0.25, 64, 100),
         Note(1.0004, 1.7, 67, 127), Note(1.2, 1.3, 21, 1)]
PEDALS = [Pedal(0.2, 0.9)]


def untrained_checkpoint(path):
    """A paper-size FCNN with random weights, saved as a checkpoint (no training: fast)."""
    from pianotx.model.checkpoint import checkpoint_dict, save_checkpoint
    from pianotx.config import DecodeConfig, FeatureConfig, ModelConfig
    from pianotx.model.networks import build_model

    model_config = ModelConfig(arch="fcnn", heads="frame", width=0.25)
    save_checkpoint(path, checkpoint_dict(build_model(model_config), model_config=model_config,
                                          feature_config=FeatureConfig(), decode_config=DecodeConfig()))
    return path


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def close(a, b, tol=5e-4):
    return len(a) == len(b) and all(
        abs(x.onset_s - y.onset_s) <= tol and abs(x.offset_s - y.offset_s) <= tol and x[2:] == y[2:]
        for x, y in zip(a, b))


def ticks(midi: mido.MidiFile) -> list:
    return [(m.type, m.time, m.bytes()) for m in midi.tracks[0] if not m.is_meta]


@pytest.mark.parametrize("tempo", [120.0, 90.0, 200.0])
def test_lists_round_trip_to_the_midi_notes(tmp_path, tempo):
    write_midi(notes_to_midi(NOTES, pedals=PEDALS, tempo_bpm=tempo), tmp_path / "a.mid")
    played = read_midi(tmp_path / "a.mid")
    written = as_written(NOTES, pedals=PEDALS, tempo_bpm=tempo)
    for text, parse in ((to_csv(*written[:1], pedals=written.pedals), from_csv),
                        (to_json(*written[:1], pedals=written.pedals), from_json)):
        back = parse(text)
        assert back == written  # exact text round trip
        assert close(back.notes, played.notes) and close(back.pedals, played.pedals)
        # and back to MIDI gives the very same ticks
        assert ticks(notes_to_midi(back.notes, pedals=back.pedals, tempo_bpm=tempo)) == ticks(
            mido.MidiFile(tmp_path / "a.mid"))
    assert decimals_for_tempo(120) == 3 and decimals_for_tempo(200) == 4


def test_list_formats_are_readable():
    text = to_csv([Note(0.1, 0.5, 61, 90)], pedals=[Pedal(0.0, 1.0)])
    assert text == "onset_s,offset_s,pitch,name,velocity\n0.1,0.5,61,C#4,90\n0.0,1.0,,sustain,\n"
    data = json.loads(to_json([Note(0.1, 0.5, 61, 90)]))
    assert data == {"notes": [{"onset_s": 0.1, "offset_s": 0.5, "pitch": 61, "name": "C#4", "velocity": 90}],
                    "pedals": []}


@pytest.mark.parametrize("parse,text,message", [
    (from_csv, "a,b\n", "must start with the header"),
    (from_csv, "onset_s,offset_s,pitch,name,velocity\n0.5,0.1,60,C4,90\n", "row 2 is not a note"),
    (from_json, "[1, 2]", "not a pianotx note list"),
    (from_json, '{"notes": [{"onset_s": 0}]}', "not a pianotx note list"),
])
def test_bad_lists(parse, text, message):
    with pytest.raises(PianotxError, match=message):
        parse(text)


@pytest.mark.parametrize("tempo", ["90", None])
def test_cli_writes_three_formats_that_agree(tmp_path, quick_checkpoint, tone_clip, fixed_transcription, tempo):
    sf.write(tmp_path / "song.wav", tone_clip[0][:32_000], 16_000)
    result = run("transcribe", tmp_path / "song.wav", "-o", tmp_path / "out.mid", "--format", "mid,csv,json",
                 *(["--tempo", tempo] if tempo else []), "--checkpoint", quick_checkpoint, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"path", "outputs", "notes", "pedals", "duration_s", "seconds"}
    assert report["outputs"] == {f: str(tmp_path / f"out.{f}") for f in ("mid", "csv", "json")}
    assert report["notes"] == 4 and report["pedals"] == 1 and report["duration_s"] == 2.0
    midi_file = mido.MidiFile(tmp_path / "out.mid")
    assert midi_file.tracks[0][0].name == "Piano"
    assert midi_file.tracks[0][1].tempo == mido.bpm2tempo(float(tempo or 120))
    midi = read_midi(tmp_path / "out.mid").notes
    csv_notes = from_csv((tmp_path / "out.csv").read_text()).notes
    json_notes = from_json((tmp_path / "out.json").read_text()).notes
    assert csv_notes == json_notes and close(csv_notes, midi)
    # the tempo changes the beats, not the seconds; the same-pitch overlap is cut at the re-strike
    expected = [Note(0.2, 0.6, 60, 90), Note(0.2, 0.6, 64, 80), Note(0.9, 1.0, 67, 100), Note(1.0, 1.1, 67, 60)]
    assert close(midi, expected, tol=1e-9 + 0.5 * 60 / (float(tempo or 120) * 480))
    assert csv_notes == expected


def test_cli_quiet_and_existing_outputs(tmp_path, quick_checkpoint, tone_clip, fixed_transcription):
    sf.write(tmp_path / "a.wav", tone_clip[0][:32_000], 16_000)
    (tmp_path / "a.json").write_text("keep")
    result = run("transcribe", tmp_path / "a.wav", "--format", "csv,json", "--checkpoint", quick_checkpoint)
    assert result.exit_code == 1 and "a.json already exists" in result.stderr
    assert not (tmp_path / "a.csv").exists()  # every output is checked before transcribing
    result = run("transcribe", tmp_path / "a.wav", "--format", "csv,json", "--checkpoint", quick_checkpoint,
                 "--overwrite", "--quiet")
    assert result.exit_code == 0 and result.stdout == ""
    assert from_csv((tmp_path / "a.csv").read_text()).notes[0] == SONG[0]
    assert not (tmp_path / "a.mid").exists()


@pytest.mark.parametrize("args,code,message", [
    (["--format", "mid,pdf"], 2, "unknown --format pdf; choose a comma list of mid, csv, json"),
    (["--format", "mid", "-o", "x.csv"], 1, "does not match --format mid"),  # an output's name
])
def test_bad_format(tmp_path, args, code, message):
    sf.write(tmp_path / "a.wav", [0.1, -0.1] * 8000, 16_000)
    out = [a if a != "x.csv" else tmp_path / a for a in args]
    result = run("transcribe", tmp_path / "a.wav", *out, "--checkpoint", tmp_path / "none.pt")
    assert result.exit_code == code and result.stderr.count("\n") == 1
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("mode", ["cc64", "extend", "none"])
def test_cli_pedal_modes(tmp_path, quick_checkpoint, tone_clip, fixed_transcription, mode):
    sf.write(tmp_path / "song.wav", tone_clip[0][:32_000], 16_000)
    result = run("transcribe", tmp_path / "song.wav", "-o", tmp_path / "out.mid", "--pedal", mode,
                 "--format", "mid,csv", "--checkpoint", quick_checkpoint, "-q")
    assert result.exit_code == 0, result.output
    played = read_midi(tmp_path / "out.mid")
    listed = from_csv((tmp_path / "out.csv").read_text())
    held = mode == "extend"  # C4 and E4 end at 0.6 under the pedal (0.5-0.8): held to 0.8
    assert [n.offset_s for n in listed.notes[:2]] == ([0.8, 0.8] if held else [0.6, 0.6])
    assert listed.pedals == ([Pedal(0.5, 0.8)] if mode == "cc64" else [])
    assert close(played.pedals, listed.pedals) and close(played.notes, listed.notes)


def test_cli_unknown_pedal_mode_is_a_usage_error(tmp_path, quick_checkpoint, tone_clip):
    sf.write(tmp_path / "song.wav", tone_clip[0][:32_000], 16_000)
    result = run("transcribe", tmp_path / "song.wav", "--pedal", "maybe",
                 "--checkpoint", quick_checkpoint)
    assert result.exit_code == 2 and "--pedal" in result.output
    assert not (tmp_path / "song.mid").exists()


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    import os

    from pianotx.files import write_bytes_atomic

    old = os.umask(0o022)
    try:
        write_bytes_atomic(tmp_path / "a.mid", b"x", overwrite=False)
    finally:
        os.umask(old)
    assert (tmp_path / "a.mid").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_output_naming_the_input_is_refused_and_the_input_kept(tmp_path, quick_checkpoint, tone_clip,
                                                               fixed_transcription):
    sf.write(tmp_path / "a.wav", tone_clip[0][:32_000], 16_000)
    before = (tmp_path / "a.wav").read_bytes()
    for out, message in ((tmp_path / "a.wav", "is not a .mid, .csv, .json or .musicxml name; name the file a.mid"),
                         (tmp_path / "a.mxl", "name the file a.mid"),
                         (tmp_path / "o12", "name the file o12.mid, or create the folder")):
        result = run("transcribe", tmp_path / "a.wav", "-o", out, "--overwrite", "--checkpoint", quick_checkpoint)
        assert result.exit_code == 1 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    (tmp_path / "a.mid").symlink_to(tmp_path / "a.wav")  # an output that is the input under another name
    result = run("transcribe", tmp_path / "a.wav", "--overwrite", "--checkpoint", quick_checkpoint)
    assert result.exit_code == 1 and "is an input of this command" in result.stderr
    assert (tmp_path / "a.wav").read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "a.mid", "a.wav"]


def test_folder_outputs_mirror_subfolders_and_name_clashes(tmp_path, quick_checkpoint, tone_clip,
                                                           fixed_transcription):
    for name in ("in/a/x.wav", "in/b/x.wav", "one/only.wav"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tmp_path / name, tone_clip[0][:32_000], 16_000)
    result = run("transcribe", tmp_path / "in", "-o", tmp_path / "out", "--checkpoint", quick_checkpoint, "-q")
    assert result.exit_code == 0, result.output
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.mid")) == [
        "a/x.mid", "b/x.mid"]
    result = run("transcribe", tmp_path / "one", "-o", tmp_path / "out1", "--checkpoint", quick_checkpoint, "-q")
    assert result.exit_code == 0 and (tmp_path / "out1" / "only.mid").is_file()  # a folder in, a folder out
    sf.write(tmp_path / "in/a/x.flac", tone_clip[0][:32_000], 16_000)
    result = run("transcribe", tmp_path / "in", "-o", tmp_path / "out2", "--checkpoint", quick_checkpoint)
    assert result.exit_code == 1 and "x.flac and " in result.stderr and "would both write" in result.stderr
    assert not (tmp_path / "out2").exists()  # nothing made before the plan holds


def test_formats_are_written_all_or_none(tmp_path, quick_checkpoint, tone_clip, fixed_transcription):
    pytest.importorskip("partitura")
    sf.write(tmp_path / "a.wav", tone_clip[0][:32_000], 16_000)
    result = run("transcribe", tmp_path / "a.wav", "--format", "mid,csv,musicxml", "--checkpoint", quick_checkpoint)
    assert result.exit_code == 1 and "a score needs a longer performance" in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]  # the score failed: no MIDI or CSV either


def test_a_failed_write_leaves_no_file_and_names_the_path(tmp_path, monkeypatch):
    import errno

    from pianotx.errors import OutputError
    from pianotx.files import check_output, write_files_atomic

    real = type(tmp_path).write_bytes

    def full(self, data):
        if self.name.startswith(".b.csv"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(type(tmp_path), "write_bytes", full)
    with pytest.raises(OutputError, match=r"cannot write .*b.csv: no space left on device; free some space"):
        write_files_atomic({tmp_path / "a.mid": b"1", tmp_path / "b.csv": b"2"}, overwrite=False)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OutputError, match="/dev/null is not a regular file"):
        check_output(type(tmp_path)("/dev/null"), overwrite=True)
    with pytest.raises(OutputError, match=r"must end in .wav; name it song.wav"):
        check_output(tmp_path / "song.flac", overwrite=False, suffixes=(".wav",))


def test_decode_option_errors_name_the_flag(tmp_path):
    sf.write(tmp_path / "a.wav", [0.1, -0.1] * 8000, 16_000)
    result = run("transcribe", tmp_path / "a.wav", "--onset-threshold", "-1",
                 "--checkpoint", tmp_path / "none.pt")  # a usage error, before any checkpoint is read
    assert result.exit_code == 2
    assert result.stderr == "error: --onset-threshold must lie strictly between 0 and 1, got -1.0\n"
    assert not (tmp_path / "a.mid").exists()


def test_a_file_decoded_shorter_than_its_header_says_is_warned(tmp_path, quick_checkpoint, tone_clip,
                                                               fixed_transcription, monkeypatch):
    import json

    sf.write(tmp_path / "a.wav", tone_clip[0][:32_000], 16_000)  # 2 s
    monkeypatch.setattr("pianotx.audio.load.audio_seconds", lambda path: 9.0)  # a cut mp3's header
    result = run("transcribe", tmp_path / "a.wav", "--checkpoint", quick_checkpoint)
    assert result.exit_code == 0
    assert "warning: " in result.stderr and "decoded 2.0 s where the header says 9.0 s" in result.stderr
    result = run("transcribe", tmp_path / "a.wav", "--checkpoint", quick_checkpoint, "--json", "--overwrite")
    assert "may be cut short" in json.loads(result.stdout)["warning"]
