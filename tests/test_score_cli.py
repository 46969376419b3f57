"""``pianotx score`` and ``transcribe`` to MusicXML: files that re-read and render."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mido
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pianotx.cli import app
from pianotx.music.midi import read_midi
from pianotx.music.notes import Note

try:  # through pianotx, which keeps partitura from downloading a soundfont at import
    from pianotx.errors import MissingExtraError
    from pianotx.score.extra import require

    require("partitura")
except MissingExtraError as exc:
    pytest.skip(str(exc), allow_module_level=True)

from pianotx.score.musicxml import read_musicxml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_MID = ROOT / "examples" / "example.mid"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def midi_file(path: Path, events: list[tuple[int, int, int]], *, channel: int = 0) -> Path:
    """A one-track file of ``(note, start_tick, length_ticks)`` notes on ``channel``."""
    messages = []
    for note, start, length in events:
        messages += [(start, mido.Message("note_on", channel=channel, note=note, velocity=80)),
                     (start + length, mido.Message("note_off", channel=channel, note=note, velocity=0))]
    track, now = mido.MidiTrack(), 0
    for tick, message in sorted(messages, key=lambda m: m[0]):
        track.append(message.copy(time=tick - now))
        now = tick
    midi = mido.MidiFile()
    midi.tracks.append(track)
    midi.save(path)
    return path


def test_score_of_the_bundled_example(tmp_path):
    out = tmp_path / "example.musicxml"
    result = run("score", EXAMPLE_MID, "-o", out)
    assert result.exit_code == 0, result.output
    # scripts/make_example.py's piece (seed 7) is generated in 4/4 at 143.8 BPM
    assert "99 notes" in result.stdout and "of 4/4" in result.stdout and "quarter = 14" in result.stdout
    import partitura

    partitura.load_musicxml(str(out), validate=True)
    back = read_musicxml(out)
    played = read_midi(EXAMPLE_MID).notes
    assert sorted(b[2] for b in back) == sorted(n.pitch for n in played)
    from pianotx.score.chain import make_score

    assert [(round(b[0] * 12), b[2]) for b in back] == [(n.onset_div, n.pitch) for n in make_score(played).notes]
    again = run("score", EXAMPLE_MID, "-o", out)
    assert again.exit_code == 1 and "already exists; pass --overwrite" in again.output


@pytest.mark.parametrize("events,channel,message", [
    ([], 0, "no notes to notate"),
    ([(60, 0, 480)], 0, "only 1 note"),
    ([(36, 480 * i, 240) for i in range(16)], 9, "no notes to notate: the MIDI file is empty or drums only"),
])
def test_score_bad_midi_gives_one_error_line(tmp_path, events, channel, message):
    path = midi_file(tmp_path / "in.mid", events, channel=channel)
    result = run("score", path, "-o", tmp_path / "out.musicxml")
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and message in result.output
    assert not (tmp_path / "out.musicxml").exists()


def test_score_not_a_midi_file(tmp_path):
    (tmp_path / "x.mid").write_text("hello")
    result = run("score", tmp_path / "x.mid")
    assert result.exit_code == 1 and "cannot read" in result.output


def test_score_refuses_to_write_over_its_input_or_in_another_format(tmp_path):
    source = shutil.copy(EXAMPLE_MID, tmp_path / "song.mid")
    before = Path(source).read_bytes()
    for out, message in (("song.mid", "must end in .musicxml or .xml; name it song.musicxml"),
                         ("song.mxl", "must end in .musicxml or .xml"),
                         ("song.pdf", "must end in .musicxml or .xml")):
        result = run("score", source, "-o", tmp_path / out, "--overwrite")
        assert result.exit_code == 1 and result.output.strip().count("\n") == 0 and message in result.output
    (tmp_path / "link.xml").symlink_to(source)
    result = run("score", source, "-o", tmp_path / "link.xml", "--overwrite")
    assert result.exit_code == 1 and "is an input of this command" in result.output
    assert Path(source).read_bytes() == before


def test_midi_files_pianotx_cannot_take_say_why(tmp_path):
    midi = mido.MidiFile(type=2)
    midi.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=80)]))
    midi.save(tmp_path / "two.mid")
    data = bytearray(Path(EXAMPLE_MID).read_bytes())
    data[12:14] = b"\x00\x00"  # 0 ticks per beat
    (tmp_path / "tpb0.mid").write_bytes(bytes(data))
    for name, message in (("two.mid", "is a type 2 MIDI file (independent sequences); save it as type 0 or 1"),
                          ("tpb0.mid", "counts time in SMPTE frames or 0 ticks per beat"),
                          (".", "is a folder; give a .mid file")):
        result = run("score", tmp_path / name, "-o", tmp_path / "x.musicxml")
        assert result.exit_code == 1 and result.output.strip().count("\n") == 0 and message in result.output


def test_titles_xml_cannot_hold_are_cleaned():
    from pianotx.score.musicxml import xml_text

    assert xml_text("caf\udce9 a\x01b\tc") == "caf\ufffd ab\tc"


def test_missing_extra_names_it(tmp_path, monkeypatch):
    import importlib

    real = importlib.import_module

    def no_partitura(name, *args):
        if name.startswith("partitura"):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr("pianotx.score.extra.importlib.import_module", no_partitura)
    result = run("score", EXAMPLE_MID, "-o", tmp_path / "x.musicxml")
    assert result.exit_code == 1
    assert "not installed: pip install 'pianotx[score]'" in result.output


def test_cli_import_stays_free_of_partitura():
    code = "import sys, pianotx.cli; sys.exit('partitura' in sys.modules or 'pianotx.score' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


SCALE = [Note(0.5 + 0.5 * i, 0.95 + 0.5 * i, p, 80) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72] * 2)]


@pytest.fixture
def fixed_scale(monkeypatch):
    """Make every transcription return :data:`SCALE`."""
    from pianotx.engine.decode import Transcription

    def fixed(blocks, **kwargs):
        for _ in blocks:
            pass
        return Transcription(list(SCALE), [])

    monkeypatch.setattr("pianotx.api._transcribe_blocks", fixed)


@pytest.fixture(scope="module")
def quick_checkpoint(tmp_path_factory):
    from tests.test_outputs import untrained_checkpoint

    return untrained_checkpoint(tmp_path_factory.mktemp("ckpt") / "quick.pt")


def test_transcribe_to_musicxml(tmp_path, quick_checkpoint, tone_clip, fixed_scale):
    sf.write(tmp_path / "song.wav", tone_clip[0][:32_000], 16_000)
    result = run("transcribe", tmp_path / "song.wav", "-o", tmp_path / "song.musicxml",
                 "--checkpoint", quick_checkpoint)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.musicxml", "song.wav"]
    back = read_musicxml(tmp_path / "song.musicxml")
    assert [b[2] for b in back] == [n.pitch for n in SCALE]
    assert [b[0] - back[0][0] for b in back] == [float(i) for i in range(len(SCALE))]  # quarters
    both = run("transcribe", tmp_path / "song.wav", "-o", tmp_path / "b.mid", "--format", "mid,musicxml",
               "--checkpoint", quick_checkpoint)
    assert both.exit_code == 0, both.output
    assert (tmp_path / "b.mid").exists() and (tmp_path / "b.musicxml").exists()


MUSESCORE = next((shutil.which(n) for n in ("mscore3", "musescore3", "mscore", "musescore") if shutil.which(n)), None)


@pytest.mark.skipif(MUSESCORE is None, reason="MuseScore is not installed (apt-get install musescore3)")
def test_musescore_renders_the_example_score(tmp_path):
    assert run("score", EXAMPLE_MID, "-o", tmp_path / "example.musicxml").exit_code == 0
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([MUSESCORE, "-o", str(tmp_path / "example.png"), str(tmp_path / "example.musicxml")],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    pages = sorted(tmp_path.glob("example*.png"))
    assert pages and pages[0].stat().st_size > 10_000


MAPS_PIECE = ROOT.parent / "shared" / "data" / "maps-dev" / "MAPS_MUS-scn15_9_ENSTDkAm.mid"


@pytest.mark.slow
@pytest.mark.skipif(not MAPS_PIECE.exists(), reason="maps-dev is not beside the repository")
def test_score_of_a_maps_dev_piece_validates_and_rereads(tmp_path):
    out = tmp_path / "piece.musicxml"
    result = run("score", MAPS_PIECE, "-o", out)
    assert result.exit_code == 0, result.output
    import partitura

    partitura.load_musicxml(str(out), validate=True)
    from pianotx.score.chain import make_score

    performance = read_midi(MAPS_PIECE)
    notated = make_score(performance.notes, performance.pedals)
    assert [(round(b[0] * 12), b[2]) for b in read_musicxml(out)] == [(n.onset_div, n.pitch) for n in notated.notes]
    assert len(notated.notes) >= 0.98 * len(performance.notes)  # only same-position repeats merge


def test_partitura_is_imported_without_its_soundfont_download(monkeypatch):
    """partitura downloads a soundfont at import when pyfluidsynth is importable; pianotx
    hides fluidsynth from that import (nothing may download at run time)."""
    import importlib
    import sys
    import types

    pytest.importorskip("partitura")
    for name in [m for m in sys.modules if m == "partitura" or m.startswith("partitura.")]:
        monkeypatch.delitem(sys.modules, name)
    fake = types.ModuleType("fluidsynth")
    fake.Synth = object
    monkeypatch.setitem(sys.modules, "fluidsynth", fake)
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("partitura tried to download")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    from pianotx.score.extra import require

    require("partitura.score")
    assert sys.modules["fluidsynth"] is fake
    assert importlib.import_module("partitura.utils.fluidsynth").HAS_FLUIDSYNTH is False


def test_score_with_the_previous_beat_tracker_and_a_wrong_one(tmp_path):
    out = tmp_path / "example.musicxml"
    result = run("score", EXAMPLE_MID, "-o", out, "--beats", "dp")
    assert result.exit_code == 0, result.output
    assert "99 notes" in result.stdout and out.exists()
    result = run("score", tmp_path / "none.mid", "-o", tmp_path / "x.musicxml", "--beats", "madmom",
                 "--meter-changes")
    assert result.exit_code == 2 and "unknown --beats 'madmom': use one of learned, dp" in result.output


@pytest.mark.parametrize("args,message", [
    (["--beats", "madmom"], "unknown --beats 'madmom': use one of learned, dp"),
    (["--meter-changes", "--beats", "dp"], "--meter-changes needs the learned beat tracker; drop --beats dp"),
    (["--time-signature", "7/8"], "time signature '7/8' is not one pianotx writes; use one of 2/4, 3/4"),
    (["--time-signature", "3/4", "--meter-changes"], "--time-signature holds throughout; drop --meter-changes"),
    (["--time-signature", "3/4", "--beats", "dp"], "--time-signature needs the learned beat tracker; drop --beats dp"),
])
def test_score_usage_errors_exit_2_before_any_file_is_read(tmp_path, args, message):
    """A missing MIDI file would be exit 1: each of these is found before it is read."""
    result = run("score", tmp_path / "missing.mid", "-o", tmp_path / "x.musicxml", *args)
    assert result.exit_code == 2 and result.output.startswith(f"error: {message}"), result.output
    assert result.output.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_score_with_meter_changes(tmp_path):
    """Eight bars of 3/4 then eight of 4/4 at 100 BPM (480 ticks a beat at mido's default
    120 BPM: 0.6 s = 576 ticks), a low bass on every downbeat: --meter-changes writes the
    change; by default one time signature stands for the whole piece."""
    events, tick = [], 480
    for bar in range(16):
        for beat in range(3 if bar < 8 else 4):
            if beat == 0:
                events.append((36, tick, 1440))
            events += [(p, tick, 288) for p in (64, 67, 72)]
            tick += 576
    midi = midi_file(tmp_path / "changes.mid", events)
    result = run("score", midi, "-o", tmp_path / "changes.musicxml", "--meter-changes")
    assert result.exit_code == 0, result.output
    assert "bars of 3/4 (1 time-signature change)" in result.stdout
    text = (tmp_path / "changes.musicxml").read_text()
    assert text.count("<time>") == 2 and "<beats>4</beats>" in text
    plain = run("score", midi, "-o", tmp_path / "plain.musicxml")
    assert plain.exit_code == 0 and "time-signature change" not in plain.stdout
    assert (tmp_path / "plain.musicxml").read_text().count("<time>") == 1
    wrong = run("score", midi, "-o", tmp_path / "dp.musicxml", "--meter-changes", "--beats", "dp")
    assert wrong.exit_code == 2 and "--meter-changes needs the learned beat tracker" in wrong.output
    assert not (tmp_path / "dp.musicxml").exists()
    if MUSESCORE is not None:  # where it is installed, MuseScore 3 reads the change and renders it
        done = subprocess.run([MUSESCORE, "-o", str(tmp_path / "changes.png"), str(tmp_path / "changes.musicxml")],
                              env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, capture_output=True, text=True,
                              timeout=180)
        assert done.returncode == 0 and sorted(tmp_path.glob("changes*.png")), done.stderr


def test_score_with_key_changes(tmp_path):
    """40 s of C major, 40 of A-flat major, 40 of C major (8 notes a second): --key-changes
    writes both changes; by default one key signature stands."""
    events, tick = [], 0
    for scale in ([60, 62, 64, 65, 67, 69, 71], [56, 58, 60, 61, 63, 65, 67], [60, 62, 64, 65, 67, 69, 71]):
        for i in range(320):
            events.append((scale[(i * 3) % 7], tick, 96))
            tick += 120  # an eighth of a second at mido's default 120 BPM
    midi = midi_file(tmp_path / "keys.mid", events)
    result = run("score", midi, "-o", tmp_path / "keys.musicxml", "--key-changes")
    assert result.exit_code == 0, result.output
    assert "C major (2 key changes)" in result.stdout
    assert re.findall(r"<fifths>(-?\d+)</fifths>", (tmp_path / "keys.musicxml").read_text()) == ["0", "-4", "0"]
    plain = run("score", midi, "-o", tmp_path / "plain.musicxml")
    assert plain.exit_code == 0 and "key change" not in plain.stdout
    assert (tmp_path / "plain.musicxml").read_text().count("<fifths>") == 1


def test_transcribe_writes_signature_changes_where_asked(tmp_path, quick_checkpoint, tone_clip, fixed_scale):
    """transcribe's --meter-changes / --key-changes reach the MusicXML writer it shares with
    the Ray runner; without a MusicXML output they are an error before any audio is read."""
    from pianotx.music.outputs import write_outputs

    events, tick = [], 0
    for scale in ([60, 62, 64, 65, 67, 69, 71], [56, 58, 60, 61, 63, 65, 67], [60, 62, 64, 65, 67, 69, 71]):
        for i in range(320):
            events.append((scale[(i * 3) % 7], tick, 96))
            tick += 120
    notes = read_midi(midi_file(tmp_path / "keys.mid", events)).notes
    for changes, fifths in ((False, ["0"]), (True, ["0", "-4", "0"])):
        out = tmp_path / f"keys-{changes}.musicxml"
        write_outputs(notes, [], {"musicxml": out}, tempo_bpm=120.0, overwrite=False, key_changes=changes)
        assert re.findall(r"<fifths>(-?\d+)</fifths>", out.read_text()) == fifths
    sf.write(tmp_path / "song.wav", tone_clip[0][:32_000], 16_000)
    for flag in ("--meter-changes", "--key-changes"):
        wrong = run("transcribe", tmp_path / "song.wav", "-o", tmp_path / "song.mid", flag,
                    "--checkpoint", quick_checkpoint)
        assert wrong.exit_code == 2 and f"{flag} shapes the MusicXML score" in wrong.output
        assert not (tmp_path / "song.mid").exists()
    result = run("transcribe", tmp_path / "song.wav", "-o", tmp_path / "song.musicxml", "--meter-changes",
                 "--key-changes", "--checkpoint", quick_checkpoint)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "song.musicxml").read_text().count("<time>") == 1


def test_score_in_the_time_signature_given(tmp_path):
    """The bundled example (4/4) written in the 3/4 and 6/8 the user asks for; a signature
    the score does not write, or one with the dp tracker or meter changes, is one error line
    before anything is written."""
    for signature, beats, beat_type in (("3/4", 3, 4), ("6/8", 6, 8)):
        out = tmp_path / f"given-{beats}.musicxml"
        result = run("score", EXAMPLE_MID, "-o", out, "--time-signature", signature)
        assert result.exit_code == 0, result.output
        assert f"of {signature}," in result.stdout
        text = out.read_text()
        assert text.count("<time>") == 1
        assert f"<beats>{beats}</beats>" in text and f"<beat-type>{beat_type}</beat-type>" in text
        assert sorted(b[2] for b in read_musicxml(out)) == sorted(n.pitch for n in read_midi(EXAMPLE_MID).notes)
    for extra, message in ((["--time-signature", "3/8"], "time signature '3/8' is not one pianotx writes"),
                           (["--time-signature", "3/4", "--beats", "dp"], "--time-signature needs the learned"),
                           (["--time-signature", "3/4", "--meter-changes"], "drop --meter-changes")):
        wrong = run("score", EXAMPLE_MID, "-o", tmp_path / "wrong.musicxml", *extra)
        assert wrong.exit_code == 2 and message in wrong.output and len(wrong.output.strip().splitlines()) == 1
        assert not (tmp_path / "wrong.musicxml").exists()


def test_transcribe_takes_the_time_signature_given(tmp_path, quick_checkpoint, tone_clip, fixed_scale):
    """--time-signature reaches the MusicXML writer shared with the Ray runner; without a
    MusicXML output, or not one the score writes, it is an error before any audio is read."""
    from pianotx.music.outputs import write_outputs

    notes = read_midi(EXAMPLE_MID).notes
    out = tmp_path / "given.musicxml"
    write_outputs(notes, [], {"musicxml": out}, tempo_bpm=120.0, overwrite=False, time_signature="3/4")
    assert "<beats>3</beats>" in out.read_text()
    sf.write(tmp_path / "song.wav", tone_clip[0][:32_000], 16_000)
    for target, signature, message in (("song.mid", "3/4", "--time-signature shapes the MusicXML score"),
                                       ("song.musicxml", "5/4", "time signature '5/4' is not one pianotx writes")):
        wrong = run("transcribe", tmp_path / "song.wav", "-o", tmp_path / target, "--time-signature", signature,
                    "--checkpoint", quick_checkpoint)
        assert wrong.exit_code == 2 and message in wrong.output
        assert not (tmp_path / target).exists()
