"""Notes, the sustain-pedal convention, label rolls, and MIDI round trips."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from pianotx.errors import MidiError
from pianotx.music.midi import notes_to_midi, read_midi, write_midi
from pianotx.music.notes import Note, Pedal, extend_by_pedal, notes_to_rolls, pitch_name


def test_pedal_extends_until_release_or_restrike():
    notes = [
        Note(0.0, 0.5, 60, 80),  # released under the pedal -> held to 2.0
        Note(1.0, 1.2, 64, 70),  # re-struck at 1.5 -> ends there
        Note(1.5, 1.7, 64, 90),  # held to pedal release
        Note(2.5, 3.0, 67, 60),  # no pedal -> unchanged
        Note(0.2, 2.4, 72, 50),  # released after the pedal -> unchanged
    ]
    got = extend_by_pedal(notes, [Pedal(0.4, 2.0)])
    assert got == [
        Note(0.0, 2.0, 60, 80),
        Note(0.2, 2.4, 72, 50),
        Note(1.0, 1.5, 64, 70),
        Note(1.5, 2.0, 64, 90),
        Note(2.5, 3.0, 67, 60),
    ]
    assert notes[0] == Note(0.0, 0.5, 60, 80)  # inputs untouched


def test_rolls_literal():
    rolls = notes_to_rolls([Note(0.01, 0.04, 21, 127), Note(-0.02, 0.02, 108, 64)], 5)
    np.testing.assert_array_equal(rolls.frame[:, 0], [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(rolls.onset[:, 0], [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(rolls.offset[:, 0], [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(rolls.velocity[:, 0], [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(rolls.frame[:, 87], [1, 1, 0, 0, 0])  # started before 0
    assert rolls.onset[:, 87].sum() == 0 and rolls.offset[2, 87] == 1
    assert rolls.frame.shape == (5, 88) and rolls.frame.dtype == np.float32


def test_soft_rolls_are_triangles_around_the_exact_time_and_pedal_roll():
    rolls = notes_to_rolls([Note(0.023, 0.061, 21, 64)], 10, soft_frames=2,
                           pedals=[Pedal(0.02, 0.05)])
    np.testing.assert_allclose(rolls.onset[:, 0], [0, 0.35, 0.85, 0.65, 0.15, 0, 0, 0, 0, 0],
                               atol=1e-6)
    np.testing.assert_allclose(rolls.offset[:, 0], [0, 0, 0, 0, 0, 0.45, 0.95, 0.55, 0.05, 0],
                               atol=1e-6)
    np.testing.assert_array_equal(rolls.velocity[:, 0], np.float32([0, 0, 64 / 127, 0, 0, 0, 0, 0, 0, 0]))
    np.testing.assert_array_equal(rolls.pedal[:, 0], [0, 0, 1, 1, 1, 0, 0, 0, 0, 0])
    assert rolls.pedal.shape == (10, 1)


def test_midi_round_trip_exact_to_a_tick(tmp_path):
    notes = [Note(0.0, 0.5, 60, 1), Note(0.25, 1.333, 61, 127), Note(0.5, 0.75, 60, 64)]
    pedals = [Pedal(0.1, 0.9)]
    path = tmp_path / "x.mid"
    write_midi(notes_to_midi(notes, pedals=pedals), path)
    got = read_midi(path)
    assert [(n.pitch, n.velocity) for n in got.notes] == [(60, 1), (61, 127), (60, 64)]
    for a, b in zip(got.notes, notes):
        assert a.onset_s == pytest.approx(b.onset_s, abs=0.0011)
        assert a.offset_s == pytest.approx(b.offset_s, abs=0.0011)
    assert got.pedals[0].onset_s == pytest.approx(0.1, abs=0.0011)
    assert got.pedals[0].offset_s == pytest.approx(0.9, abs=0.0011)
    track = mido.MidiFile(path).tracks[0]
    assert track.name == "Piano"


def test_written_midi_has_no_overlap_or_zero_length():
    midi = notes_to_midi([Note(0.0, 1.0, 60, 80), Note(0.5, 0.5, 60, 80)])
    got = read_midi_from(midi)
    assert [(round(n.onset_s, 3), round(n.offset_s, 3)) for n in got.notes] == [(0.0, 0.5), (0.5, 0.501)]


def read_midi_from(midi: mido.MidiFile):
    from pianotx.music.midi import performance

    return performance(list(midi))


def test_restrike_without_note_off_and_drums_ignored():
    track = mido.MidiTrack([
        mido.Message("note_on", note=60, velocity=50, time=0),
        mido.Message("note_on", note=60, velocity=70, time=480),
        mido.Message("note_on", note=36, velocity=90, channel=9, time=0),
        mido.Message("note_off", note=60, time=480),
    ])
    midi = mido.MidiFile(ticks_per_beat=480)
    midi.tracks.append(track)
    got = read_midi_from(midi)
    assert got.notes == [Note(0.0, 0.5, 60, 50), Note(0.5, 1.0, 60, 70)]


def test_bad_midi(tmp_path):
    with pytest.raises(MidiError, match="not found"):
        read_midi(tmp_path / "none.mid")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file")
    with pytest.raises(MidiError, match="cannot read"):
        read_midi(bad)
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(MidiError, match=r"empty.mid as MIDI \(the file is empty\)"):
        read_midi(empty)


def test_pitch_names():
    assert [pitch_name(p) for p in (21, 60, 61, 108)] == ["A0", "C4", "C#4", "C8"]


@pytest.mark.parametrize("note,message", [
    (Note(-0.5, 0.5, 60, 80), "has a time that is negative or not a finite number"),
    (Note(0.0, float("inf"), 60, 80), "has a time that is negative or not a finite number"),
    (Note(0.5, 0.4, 60, 80), "ends before it starts"),
    (Note(0.0, 0.5, 200, 80), "has pitch 200, not a MIDI number 0-127"),
    (Note(0.0, 0.5, 60.0, 80), "has pitch 60.0, not a MIDI number 0-127"),
])
def test_notes_that_cannot_be_written_are_refused_by_name(note, message):
    from pianotx.errors import ScoreError
    from pianotx.music.midi import notes_to_midi
    from pianotx.score.chain import check_notes

    with pytest.raises(MidiError, match=message):
        notes_to_midi([note])
    with pytest.raises(ScoreError, match=message):
        check_notes([note] + [Note(i, i + 0.5, 60, 80) for i in range(4)])
    with pytest.raises(MidiError, match="tempo must be 4-1000 BPM, got 1.0"):
        notes_to_midi([], tempo_bpm=1.0)
