"""The score chain on tiny hand-made performances with known answers."""

from __future__ import annotations

import re

import numpy as np
import pytest

try:  # through pianotx, which keeps partitura from downloading a soundfont at import
    from pianotx.errors import MissingExtraError
    from pianotx.score.extra import require

    require("partitura")
except MissingExtraError as exc:
    pytest.skip(str(exc), allow_module_level=True)

from pianotx.errors import ScoreError  # noqa: E402
from pianotx.music.notes import Note, Pedal  # noqa: E402
from pianotx.score.beats import track_beats  # noqa: E402
from pianotx.score.chain import analyse, make_score  # noqa: E402
from pianotx.score.hands import split_hands  # noqa: E402
from pianotx.score.key import estimate_key, key_of, track_keys  # noqa: E402
from pianotx.score.marks import bar_dynamics, dynamic_for, pedal_marks  # noqa: E402
from pianotx.score.meter import Meter, estimate_meter  # noqa: E402
from pianotx.score.musicxml import pieces, read_musicxml, to_musicxml, write_musicxml  # noqa: E402
from pianotx.score.quantize import Placed, quantize  # noqa: E402
from pianotx.score.voices import assign_voices  # noqa: E402

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]


def steady_scale(period_s: float = 0.5, n: int = 24) -> list[Note]:
    """C major up and down, one note a beat, legato, a louder note every 4 beats."""
    pitches = (C_MAJOR + C_MAJOR[-2:0:-1]) * 3
    return [Note(0.5 + i * period_s, 0.5 + (i + 0.95) * period_s, pitches[i % len(pitches)],
                 100 if i % 4 == 0 else 70) for i in range(n)]


def ritardando(n: int = 24) -> list[Note]:
    """One note a beat, slowing from 120 to about 70 BPM (each beat 2.5 % longer)."""
    times = 0.5 + np.concatenate([[0.0], np.cumsum(0.5 * 1.025 ** np.arange(n - 1))])
    return [Note(float(t), float(t) + 0.3, C_MAJOR[i % 8], 80) for i, t in enumerate(times)]


def waltz(bars: int = 12, period_s: float = 0.4) -> list[Note]:
    """3/4 at 150 BPM: a loud held bass on beat 1, short soft chords on beats 2 and 3."""
    notes = []
    for bar in range(bars):
        start = 0.3 + 3 * bar * period_s
        bass = 43 if bar % 2 else 36
        notes.append(Note(start, start + 2.8 * period_s, bass, 96))
        for beat in (1, 2):
            t = start + beat * period_s
            notes += [Note(t, t + 0.15, p, 60) for p in (bass + 16, bass + 19)]
    return notes


def triplet_bar(period_s: float = 0.6) -> list[Note]:
    """4/4: three bars of eighths, then a bar of triplet eighths, over a bass on every beat
    (lowest on the downbeat)."""
    notes = []
    for beat in range(16):
        t = 0.5 + beat * period_s
        notes.append(Note(t, t + period_s * 0.9, 36 if beat % 4 == 0 else 48, 90 if beat % 4 == 0 else 70))
        steps = 3 if beat >= 12 else 2
        for k in range(steps):
            onset = t + k * period_s / steps
            notes.append(Note(onset, onset + period_s / steps * 0.9, 72 + 2 * k, 70))
    return notes


def assert_beats_match(notes: list[Note], beats: np.ndarray, expected: np.ndarray) -> None:
    assert len(beats) == len(expected)
    assert np.max(np.abs(beats - expected)) < 0.03


def test_steady_scale_beats_tempo_and_grid():
    notes = steady_scale()
    beats = track_beats(notes)
    assert_beats_match(notes, beats, np.array([n.onset_s for n in notes]))
    score = make_score(notes)
    assert score.tempo_bpm == pytest.approx(120.0, abs=1.0)
    assert score.meter.division == 2
    onsets = [n.onset_div for n in score.notes]
    assert np.all(np.diff(onsets) == 12)  # a quarter note each
    assert [n.duration_div for n in score.notes] == [12] * len(notes)


def test_ritardando_is_followed():
    notes = ritardando()
    beats = track_beats(notes)
    assert_beats_match(notes, beats, np.array([n.onset_s for n in notes]))
    placed, _ = quantize(notes, beats, Meter(4, 2, 0))
    assert np.all(np.diff([p.onset_div for p in placed]) == 12)


def test_waltz_is_in_three_four_with_the_bass_on_the_downbeat():
    notes = waltz()
    analysis = analyse(notes)
    assert analysis.meter.time_signature == "3/4"
    downbeats = analysis.beats_s[analysis.meter.first_downbeat :: 3]
    bass_onsets = [n.onset_s for n in notes if n.pitch < 45]
    assert np.max(np.abs(downbeats - bass_onsets[-len(downbeats):])) < 0.03
    score = make_score(notes)
    assert set(np.diff(score.bars)) == {36}
    assert {n.onset_div % 36 for n in score.notes if n.pitch < 45} == {0}


def test_triplets_get_their_own_grid_and_notation():
    notes = triplet_bar()
    score = make_score(notes)
    assert score.meter.time_signature == "4/4"
    melody = [n for n in score.notes if n.pitch >= 72]
    first_bar, last_bar = melody[:8], melody[-12:]
    assert [n.onset_div % 48 for n in first_bar] == [0, 6, 12, 18, 24, 30, 36, 42]
    assert [n.onset_div % 48 for n in last_bar] == list(range(0, 48, 4))
    text = to_musicxml(score)
    assert text.count("<actual-notes>3</actual-notes>") == 12
    # one bracket per beat of three triplet eighths: the first opens it, the third closes it
    assert text.count('<tuplet number="1" type="start"/>') == 4
    assert text.count('<tuplet number="1" type="stop"/>') == 4


def test_tuplet_brackets_only_where_a_voices_tuplet_pieces_fill_the_beat():
    from types import SimpleNamespace

    from pianotx.score.musicxml import tuplet_groups

    def item(voice, start, end, tuplet=True):
        duration = {"type": "eighth", "actual_notes": 3, "normal_notes": 2} if tuplet else {"type": "eighth"}
        return (voice, start, end, SimpleNamespace(symbolic_duration=duration))

    placed = [item(1, 0, 4), item(1, 4, 8), item(1, 8, 12),  # a full triplet beat
              item(5, 0, 8), item(5, 8, 12),  # quarter + eighth triplet, lower staff
              item(1, 12, 18, tuplet=False), item(1, 18, 24, tuplet=False),  # straight eighths
              item(2, 24, 28), item(2, 28, 32)]  # two thirds of a beat: no bracket
    assert tuplet_groups(placed, beat_divs=12) == [(0, 2), (3, 4)]


def test_a_melody_below_middle_c_stays_in_the_right_hand():
    melody = [67, 65, 64, 62, 60, 59, 57, 55, 53]
    placed = []
    for i, pitch in enumerate(melody):
        placed += [Placed(12 * i, 12, pitch, 80), Placed(12 * i, 12, 36 if i % 2 else 43, 80)]
    staffs = split_hands(placed)
    assert [s for p, s in zip(placed, staffs) if p.pitch >= 53] == [1] * len(melody)
    assert [s for p, s in zip(placed, staffs) if p.pitch < 45] == [2] * len(melody)


def test_a_wide_chord_is_split_between_the_hands():
    chord = [Placed(0, 12, p, 80) for p in (36, 43, 64, 67, 72)]
    assert split_hands(chord) == [2, 2, 1, 1, 1]


def test_a_held_note_under_moving_notes_gets_its_own_voice():
    placed = [Placed(0, 24, 60, 80), Placed(0, 12, 67, 80), Placed(12, 12, 69, 80)]
    notes, voices = assign_voices(placed, [1, 1, 1])
    assert voices == [2, 1, 1] and notes == placed
    notes, voices = assign_voices(placed, [2, 2, 2])
    assert voices == [6, 5, 5]


def test_short_rests_inside_a_voice_are_closed():
    from pianotx.score.voices import close_gaps

    placed = [Placed(0, 3, 60, 80), Placed(0, 3, 64, 80), Placed(6, 3, 62, 80), Placed(24, 3, 60, 80)]
    closed = close_gaps(placed, [1, 1, 1, 1], max_gap=6)
    assert [p.duration_div for p in closed] == [6, 6, 3, 3]  # 9 -> 24 is a rest of 15: kept
    assert close_gaps(placed, [1, 1, 2, 1], max_gap=6) == placed  # voice 1 then rests 21 divisions


def test_key_and_spelling_of_e_flat_major():
    scale = [63, 65, 67, 68, 70, 72, 74, 75]
    notes = [Note(0.5 * i, 0.5 * i + 0.45, p, 80) for i, p in enumerate(scale + scale[::-1] + [63, 67, 70, 75])]
    score = make_score(notes)
    assert score.key.fifths == -3 and score.key.label == "E-flat major"
    spelled = {(n.pitch % 12): (n.step, n.alter) for n in score.notes}
    assert spelled[3] == ("E", -1) and spelled[8] == ("A", -1) and spelled[10] == ("B", -1)


@pytest.mark.parametrize("tonic,mode,name,fifths", [(0, "major", "C", 0), (3, "minor", "Ebm", -6),
                                                    (1, "major", "Db", -5), (6, "major", "Gb", -6),
                                                    (8, "minor", "G#m", 5), (9, "minor", "Am", 0)])
def test_key_signatures(tonic, mode, name, fifths):
    assert key_of(tonic, mode) == (name, fifths, mode)


def test_a_minor_with_its_leading_tone_is_a_minor():
    melody = [69, 71, 72, 74, 76, 77, 68, 69, 64, 68, 69, 57]
    notes = [Note(0.5 * i, 0.5 * i + 0.4, p, 80) for i, p in enumerate(melody)]
    assert estimate_key(notes).name == "Am"


def test_pieces_cut_at_barlines_and_beats_into_plain_values():
    assert pieces(0, 60, bars=(0, 36, 72), beat_divs=12) == [(0, 36), (36, 60)]
    assert pieces(30, 42, bars=(0, 36, 72), beat_divs=12) == [(30, 36), (36, 42)]
    assert pieces(0, 15, bars=(0, 48), beat_divs=12) == [(0, 12), (12, 15)]
    assert pieces(4, 16, bars=(0, 48), beat_divs=12) == [(4, 12), (12, 16)]
    assert pieces(30, 90, bars=(0, 36, 60, 84, 132), beat_divs=12) == [(30, 36), (36, 60), (60, 84), (84, 90)]


def test_dynamics_and_pedal_marks():
    assert [dynamic_for(v) for v in (30, 50, 64, 80, 96, 120)] == ["pp", "p", "mp", "mf", "f", "ff"]
    soft = [Placed(12 * i, 12, 60, 45) for i in range(12)]
    loud = [Placed(144 + 12 * i, 12, 60, 110) for i in range(12)]
    assert bar_dynamics(soft + loud, (0, 48, 96, 144, 192, 240, 288)) == [(0, "p"), (144, "ff")]
    # bars of 3 beats, then of 2: the marks sit on the bar lines
    assert bar_dynamics(soft + loud, (0, 36, 72, 108, 144, 168, 192, 216, 240, 264, 288)) == \
        [(0, "p"), (144, "ff")]
    assert pedal_marks(np.array([0, 40, 90]), np.array([48, 60, 90])) == [(0, 48), (48, 60)]


def test_musicxml_validates_and_rereads_the_same_notes(tmp_path):
    notes = triplet_bar()
    score = make_score(notes, [Pedal(0.5, 2.0), Pedal(2.1, 4.0)])
    write_musicxml(score, tmp_path / "s.musicxml")
    import partitura

    partitura.load_musicxml(str(tmp_path / "s.musicxml"), validate=True)
    back = read_musicxml(tmp_path / "s.musicxml")
    assert [(round(b[0] * 12), round(b[1] * 12), b[2]) for b in back] == [
        (n.onset_div, n.duration_div, n.pitch) for n in score.notes]
    by_onset = sorted(notes, key=lambda n: (n.onset_s, n.pitch))
    assert [b[2] for b in back] == [n.pitch for n in by_onset]
    text = (tmp_path / "s.musicxml").read_text()
    assert text.count('<pedal type="start"') == 2 and text.count('<pedal type="stop"') == 2
    with pytest.raises(Exception, match="already exists"):
        write_musicxml(score, tmp_path / "s.musicxml")


@pytest.mark.parametrize("notes,message", [
    ([], "no notes to notate"),
    ([Note(0.0, 0.5, 60, 80)], "only 1 note with fewer than 4"),
    ([Note(0.0, 0.5, 60, 80), Note(0.0, 0.5, 64, 80), Note(1.0, 1.5, 67, 80)], "only 3 notes"),
])
def test_too_few_notes(notes, message):
    with pytest.raises(ScoreError, match=message):
        make_score(notes)


def test_meter_candidates_are_scored_on_accents():
    notes = waltz()
    beats = np.array(sorted({round(n.onset_s, 3) for n in notes}))
    meter = estimate_meter(notes, beats)
    assert (meter.beats_per_bar, meter.division, meter.first_downbeat) == (3, 2, 0)


def test_quantization_keeps_the_played_order():
    from pathlib import Path

    from pianotx.music.midi import read_midi

    notes = read_midi(Path(__file__).resolve().parents[1] / "examples" / "example.mid").notes
    analysis = analyse(notes)
    placed, _ = quantize(notes, analysis.beats_s, analysis.meter)
    assert np.all(np.diff([p.onset_div for p in placed]) >= 0)  # notes sorted by onset stay sorted
    assert len(make_score(notes).notes) == len(notes)


def test_held_notes_end_on_eighths_short_notes_on_sixteenths():
    beats = np.arange(8) * 0.5  # 120 BPM, beat 0 is a downbeat of 4/4
    notes = [Note(0.0, 0.57, 60, 80),   # 1.14 beats -> a quarter
             Note(1.0, 1.7, 62, 80),    # 1.4 beats -> a dotted quarter
             Note(2.0, 2.13, 64, 80),   # 0.26 beats -> a sixteenth
             Note(2.5, 2.82, 65, 80)]   # 0.64 beats -> a dotted eighth
    placed, grid = quantize(notes, beats, Meter(4, 2, 0))
    assert grid.runs == ((0, 48),)
    assert [(p.onset_div, p.duration_div) for p in placed] == [(0, 12), (24, 18), (48, 3), (60, 9)]


def test_clefs_follow_the_register():
    from pianotx.score.musicxml import clef_for

    assert clef_for([40, 45, 50], staff=2) == ("F", 4, 0)
    assert clef_for([62, 65, 67], staff=2) == ("G", 2, 0)
    assert clef_for([86, 88, 91], staff=1) == ("G", 2, 1)
    assert clef_for([], staff=1) == ("G", 2, 0)


def test_a_meter_change_moves_the_bar_lines_and_writes_a_new_time_signature():
    """A pickup beat, 2 bars of 3/4, then 2 of 4/4 (Meter.runs): bar lines, time signatures,
    dynamics, pedal marks and rests follow the runs."""
    from pianotx.score.chain import Analysis
    from pianotx.score.musicxml import time_signatures
    from pianotx.score.quantize import bar_lines, make_grid

    beats = 0.5 * np.arange(15)
    meter = Meter(4, 2, 7, runs=((1, 3), (7, 4)))
    grid = make_grid(meter, 0.0)
    assert grid.origin_beat == -2 and grid.runs == ((0, 36), (108, 48))  # the pickup's bar starts 2 beats earlier
    assert bar_lines(grid, 200) == (0, 36, 72, 108, 156, 204)
    assert bar_lines(grid, 50) == (0, 36, 72)
    notes = [Note(0.5 * i, 0.5 * i + 0.45, 60 + (i % 5), 40 if i < 7 else 110) for i in range(15)]
    score = make_score(notes, [Pedal(3.3, 3.7)], analysis=Analysis(beats, meter, key_of(0, "major")))
    assert score.bars == (0, 36, 72, 108, 156, 204)
    assert time_signatures(score) == [(0, 3, 4), (108, 4, 4)]
    assert score.dynamics == ((0, "p"), (108, "ff"))
    text = to_musicxml(score)
    # the pedal: down at beat 6.5 (division 102, 30 into the third bar), up at beat 7.5 (6 into the fourth)
    assert score.pedals == ((102, 114),)
    measures = [(re.findall(r"<beats>(\d+)</beats>", body), re.findall(r'pedal type="(\w+)"', body),
                 re.findall(r"<offset>(\d+)</offset>", body))
                for body in re.findall(r'<measure number="\d+".*?</measure>', text, re.S)]
    assert measures == [(["3"], [], []), ([], [], []), ([], ["start"], ["30"]), (["4"], ["stop"], ["6"]), ([], [], [])]
    assert [round(onset * 12) for onset, _, _ in read_musicxml_text(text)] == [24 + 12 * i for i in range(15)]


def read_musicxml_text(text: str) -> list[tuple[float, int, int]]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.musicxml"
        path.write_text(text)
        return read_musicxml(path)


def scales(sections: list[tuple[list[int], float]], rate: int = 8) -> list[Note]:
    """Each ``(scale, seconds)`` in turn: its notes cycled in thirds, ``rate`` notes a second."""
    notes, t = [], 0.0
    for scale, seconds in sections:
        for i in range(int(seconds * rate)):
            notes.append(Note(t, t + 0.2, scale[(i * 3) % 7], 80))
            t += 1 / rate
    return notes


C_SCALE, A_FLAT_SCALE = [60, 62, 64, 65, 67, 69, 71], [56, 58, 60, 61, 63, 65, 67]


def test_key_changes_are_followed_when_they_last():
    keys = track_keys(scales([(C_SCALE, 40), (A_FLAT_SCALE, 40), (C_SCALE, 40)]))
    assert [k.name for _, k in keys] == ["C", "Ab", "C"]
    assert keys[0][0] == 0.0 and abs(keys[1][0] - 40) <= 4 and abs(keys[2][0] - 80) <= 4
    # 20 s in another key is not enough to change the signature; one key stays one key
    assert [k.name for _, k in track_keys(scales([(C_SCALE, 40), (A_FLAT_SCALE, 20), (C_SCALE, 40)]))] == ["C"]
    assert track_keys(scales([(C_SCALE, 120)])) == [(0.0, key_of(0, "major"))]


def test_a_key_change_goes_to_the_nearest_bar_line_and_into_the_musicxml():
    from pianotx.score.chain import Analysis

    notes = scales([(C_SCALE, 40), (A_FLAT_SCALE, 40), (C_SCALE, 40)])
    beats = 0.5 * np.arange(241)  # 120 BPM in 4/4: a bar every 2 s, 48 divisions
    analysis = analyse(notes, key_changes=True)
    assert [k.name for k in (analysis.key, *(k for _, k in analysis.key_changes))] == ["C", "Ab", "C"]
    score = make_score(notes, analysis=Analysis(beats, Meter(4, 2, 0), analysis.key,
                                                ((40.9, key_of(8, "major")), (80.6, key_of(0, "major")))))
    assert score.key_changes == ((20 * 48, key_of(8, "major")), (40 * 48, key_of(0, "major")))
    measures = re.findall(r'<measure number="(\d+)".*?</measure>', to_musicxml(score), re.S)
    text = to_musicxml(score)
    keys = [(number, re.findall(r"<fifths>(-?\d+)</fifths>", body))
            for number, body in re.findall(r'<measure number="(\d+)"(.*?)</measure>', text, re.S)]
    assert [(number, fifths) for number, fifths in keys if fifths] == [("1", ["0"]), ("21", ["-4"]), ("41", ["0"])]
    assert len(measures) == 61  # the last note ends just past 120 s
    plain = analyse(notes)  # one key by default
    assert plain.key == analysis.key and plain.key_changes == ()


def test_notes_below_c0_are_left_out_of_the_score():
    """MusicXML octaves start at 0: MIDI 0-11 cannot be written (octave -1 fails the schema)."""
    from pianotx.music.notes import Note
    from pianotx.score.chain import check_notes

    notes = [Note(i * 0.5, i * 0.5 + 0.4, 60 + i, 80) for i in range(4)] + [Note(0.0, 0.4, 5, 80)]
    assert [n.pitch for n in check_notes(notes)] == [60, 61, 62, 63]
