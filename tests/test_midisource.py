"""Performance MIDI as a synth source: MAESTRO's split kept, pieces split together,
segments cut exactly and rendered with labels aligned to the millisecond."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from pianotx.errors import SynthError
from pianotx.music.midi import notes_to_midi, read_midi, write_midi
from pianotx.music.notes import Note, Pedal
from pianotx.data.synth.midicheck import strikes_a_note
from pianotx.data.synth.midisource import cut_segment, scan_midi_folder, segment_start
from pianotx.data.synth.plan import SynthConfig, plan

SPLITS = {"a.midi": "train", "b.midi": "train", "c.midi": "validation", "d.midi": "test"}


def played(offset: int) -> tuple[list[Note], list[Pedal]]:
    """Twelve notes, one every 0.5 s from 0.25 s, and one pedal press."""
    notes = [Note(0.25 + 0.5 * i, 0.6 + 0.5 * i, 48 + offset + i, 40 + 5 * i) for i in range(12)]
    return notes, [Pedal(1.0, 2.2)]


@pytest.fixture
def maestro(tmp_path: Path) -> Path:
    """A MIDI-only MAESTRO folder: four performances, plus one row whose file is gone."""
    root = tmp_path / "maestro-v3.0.0"
    (root / "2018").mkdir(parents=True)
    rows = []
    for k, (name, split) in enumerate({**SPLITS, "gone.midi": "train"}.items()):
        if name != "gone.midi":
            notes, pedals = played(k)
            write_midi(notes_to_midi(notes, pedals=pedals), root / "2018" / name)
        rows.append({"canonical_composer": f"Composer {k}", "canonical_title": f"Work {k}",
                     "split": split, "year": 2018, "midi_filename": f"2018/{name}",
                     "audio_filename": f"2018/{name[:-5]}.wav", "duration": 6.0})
    with open(root / "maestro-v3.0.0.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_maestro_folder_keeps_its_split_and_skips_missing_files(maestro):
    found = scan_midi_folder(maestro)
    assert {Path(r.path).name: r.split for r in found} == SPLITS
    assert found[0].composer == "Composer 0" and found[0].collection == "maestro-v3.0.0"


def test_plain_folder_is_split_by_piece_and_skips_scores(tmp_path):
    notes, pedals = played(0)
    for name in ("Bach/bwv_846/Lan01.mid", "Bach/bwv_846/Kim02.mid", "Bach/bwv_846/midi_score.mid",
                 "Chopin_op10_no3_p01.mid", "Chopin_op10_no3_p02.mid", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        write_midi(notes_to_midi(notes, pedals=pedals), tmp_path / name)
    found = {Path(r.path).name: r for r in scan_midi_folder(tmp_path)}
    assert sorted(found) == ["Chopin_op10_no3_p01.mid", "Chopin_op10_no3_p02.mid",
                             "Kim02.mid", "Lan01.mid"]
    assert found["Kim02.mid"].piece_id == found["Lan01.mid"].piece_id == f"{tmp_path.name}/Bach/bwv_846"
    assert found["Chopin_op10_no3_p01.mid"].piece_id.endswith("/Chopin_op10_no3")
    assert found["Kim02.mid"].split == found["Lan01.mid"].split
    assert found["Chopin_op10_no3_p01.mid"].split == found["Chopin_op10_no3_p02.mid"].split


def test_missing_or_empty_folder_is_a_synth_error(tmp_path):
    with pytest.raises(SynthError, match="MIDI folder not found"):
        scan_midi_folder(tmp_path / "nope")
    with pytest.raises(SynthError, match="no performance MIDI"):
        scan_midi_folder(tmp_path)


@pytest.mark.parametrize("name, make, reason", [
    ("junk.mid", lambda good: b"hello", "is not a MIDI file (no MThd header)"),
    ("short.mid", lambda good: good[:30], "is cut short or damaged (track 1 of 1)"),
    ("silent.mid", lambda good: None, "holds no notes"),
])
def test_a_bad_midi_file_is_named_when_the_folder_is_scanned(tmp_path, name, make, reason):
    notes, pedals = played(0)
    write_midi(notes_to_midi(notes, pedals=pedals), tmp_path / "good.mid")
    data = make((tmp_path / "good.mid").read_bytes())
    if data is None:  # a file with a tempo but no note
        write_midi(notes_to_midi([], pedals=pedals), tmp_path / name)
    else:
        (tmp_path / name).write_bytes(data)
    message = f"{tmp_path / name} {reason}; remove it from the MIDI folder"
    with pytest.raises(SynthError, match=re.escape(message)):
        scan_midi_folder(tmp_path)


def test_a_note_is_found_through_meta_events_running_status_and_the_drum_channel():
    drums = bytes([0x00, 0x99, 60, 100])  # delta 0, note-on channel 10
    released = bytes([0x00, 0x90, 60, 0])  # note-on velocity 0: a release
    tempo = bytes([0x83, 0x60, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20])  # delta 480, set tempo
    running = bytes([0x00, 62, 80])  # note-on by running status (0x90)
    assert strikes_a_note(drums + released + tempo + running)
    assert not strikes_a_note(drums + released + tempo)
    assert not strikes_a_note(running)  # running status with no status before it


def test_cut_segment_keeps_notes_struck_inside_and_clips_pedals():
    notes = [Note(0.5, 1.5, 60, 80), Note(1.9, 4.0, 62, 70), Note(3.0, 3.2, 64, 60)]
    kept, held = cut_segment(notes, [Pedal(0.0, 2.5), Pedal(2.9, 3.1)], start_s=1.0, length_s=2.0)
    assert [(round(n.onset_s, 9), round(n.offset_s, 9), n.pitch, n.velocity) for n in kept] == [
        (0.9, 3.0, 62, 70)]
    assert [tuple(round(t, 9) for t in p) for p in held] == [(0.0, 1.5), (1.9, 2.0)]
    assert segment_start(100.0, 30.0, 0.5) == 35.0 and segment_start(20.0, 30.0, 0.9) == 0.0


def test_plan_takes_midi_segments_only_from_their_own_split(maestro):
    recordings = scan_midi_folder(maestro)
    config = SynthConfig(hours=0.2, seed=3, heldout=None, corpus_share=0.0, midi_share=1.0,
                         piece_s=(3.0, 4.0))
    items = plan(config, ["x", "y"], recordings=recordings)
    assert items and all(i.source == "midi/maestro-v3.0.0" for i in items)
    assert all(i.works[0].split == i.split for i in items)
    assert {i.split for i in items} == {"train", "validation", "test"}
    assert plan(config, ["x", "y"], recordings=recordings) == items
    mixed = plan(SynthConfig(hours=0.2, seed=3, heldout=None, corpus_share=0.0, midi_share=0.5),
                 ["x"], recordings=recordings)
    assert {i.source for i in mixed} == {"procedural", "midi/maestro-v3.0.0"}


def test_rendered_segments_carry_their_source_notes_to_the_millisecond(maestro, tmp_path):
    pytest.importorskip("tinysoundfont")
    pytest.importorskip("pretty_midi")
    from pianotx.data.synth.build import build_dataset
    from pianotx.data.synth.timbres import find_timbre

    recordings = scan_midi_folder(maestro)
    config = SynthConfig(hours=20 / 3600, seed=0, heldout=None, corpus_share=0.0, midi_share=1.0,
                         piece_s=(2.0, 3.0))
    out = tmp_path / "out"
    rows = build_dataset(out, config, [find_timbre("timgm6mb")], recordings=recordings)
    items = {i.name: i for i in plan(config, ["timgm6mb"], recordings=recordings)}
    assert len(rows) == len(items) >= 4
    for row in rows:
        item = items[Path(row["audio_filename"]).stem]
        recording, fraction = item.works
        source = read_midi(Path(recording.path))
        start = segment_start(max(n.offset_s for n in source.notes), item.target_s, fraction)
        expected = [n for n in source.notes if start <= n.onset_s < start + item.target_s]
        label = read_midi(out / row["midi_filename"]).notes
        assert [(n.pitch, n.velocity) for n in label] == [(n.pitch, n.velocity) for n in expected]
        for got, want in zip(label, expected):
            assert abs(got.onset_s - (want.onset_s - start)) < 1e-3
            assert abs(got.offset_s - (want.offset_s - start)) < 1e-3
        assert row["split"] == recording.split
