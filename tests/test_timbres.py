"""Salamander SFZ writer, performance randomness, its sfizz render, and ``pianotx timbres``."""

from __future__ import annotations

import numpy as np
import pytest

from pianotx.music.notes import Note, Pedal
from pianotx.data.synth.salamander import (
    key_ranges, perform, salamander_sfz, velocity_curve, velocity_ranges,
)

SR = 16_000


def test_sfz_writer_maps_layers_keys_and_release_noises():
    text = salamander_sfz([(21, 1), (24, 1), (21, 2), (24, 2)], [21, 22], n_layers=2)
    lines = text.splitlines()
    assert lines[2:] == [
        "<control> set_cc20=64 set_cc21=32 set_cc22=40 set_cc23=64",
        "<global> offset_oncc102=100000000 tune=-10 tune_oncc20=20 amp_veltrack=73",
        "<group> lovel=1 hivel=64 ampeg_release=0.15 ampeg_release_oncc22=0.75",
        "<region> sample=21v1.flac lokey=21 hikey=22 pitch_keycenter=21 tune_oncc21=-20.0",
        "<region> sample=24v1.flac lokey=23 hikey=108 pitch_keycenter=24 tune_oncc21=-16.1",
        "<group> lovel=65 hivel=127 ampeg_release=0.15 ampeg_release_oncc22=0.75",
        "<region> sample=21v2.flac lokey=21 hikey=22 pitch_keycenter=21 tune_oncc21=-20.0",
        "<region> sample=24v2.flac lokey=23 hikey=108 pitch_keycenter=24 tune_oncc21=-16.1",
        "<group> trigger=release rt_decay=3 volume=-34 volume_oncc23=12",
        "<region> sample=21r.flac key=21",
        "<region> sample=22r.flac key=22",
    ]


def test_velocity_and_key_ranges_cover_without_gaps_or_overlap():
    ranges = velocity_ranges(16)
    assert ranges[0][0] == 1 and ranges[-1][1] == 127
    assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:]))
    keys = key_ranges(range(21, 109, 3))
    assert len(keys) == 30 and keys[0][:2] == (21, 22) and keys[-1][1] == 108
    assert all(b[0] == a[1] + 1 for a, b in zip(keys, keys[1:]))
    assert all(lo <= p <= hi for lo, hi, p in keys)


def test_velocity_curve_is_monotonic_onto_1_127_and_labels_stay():
    for gamma in (0.75, 1.0, 1.35):
        heard = [velocity_curve(v, gamma=gamma) for v in range(1, 128)]
        assert all(1 <= h <= 127 for h in heard) and heard[-1] == 127
        assert all(b >= a for a, b in zip(heard, heard[1:]))
    assert [velocity_curve(v, gamma=1.0) for v in (1, 64, 127)] == [1, 64, 127]
    notes = [Note(0.0, 0.5, 60, 40), Note(0.5, 1.0, 64, 100)]
    heard_notes, controls = perform(notes, seed=3)
    assert notes == [Note(0.0, 0.5, 60, 40), Note(0.5, 1.0, 64, 100)]
    assert [n[:3] for n in heard_notes] == [n[:3] for n in notes]
    assert [cc for cc, _ in controls] == [20, 21, 22, 23] and all(0 <= v <= 127 for _, v in controls)
    assert perform(notes, seed=3) == (heard_notes, controls) and perform(notes) == perform(notes)


def _fake_salamander(folder):
    """Two decaying sine samples (C3, C5) and a noise burst as real 16-bit FLAC files, plus the SFZ."""
    import soundfile as sf

    t = np.arange(2 * SR) / SR
    folder.mkdir()
    for pitch in (48, 72):
        tone = 0.5 * np.sin(2 * np.pi * 440 * 2 ** ((pitch - 69) / 12) * t) * np.exp(-1.5 * t)
        sf.write(folder / f"{pitch}v1.flac", tone, SR, subtype="PCM_16")
    noise = np.random.default_rng(0).normal(0, 0.3, SR // 4) * np.exp(-20 * t[:SR // 4])
    sf.write(folder / "60r.flac", noise, SR, subtype="PCM_16")
    sfz = folder / "salamander.sfz"
    sfz.write_text(salamander_sfz([(48, 1), (72, 1)], [60], n_layers=1))
    return sfz


def test_salamander_renders_pitch_and_pedal_through_sfizz(tmp_path):
    pytest.importorskip("pysfizz")
    from pianotx.data.synth.render import render
    from pianotx.data.synth.timbres import Timbre

    timbre = Timbre("salamander", "sfizz", str(_fake_salamander(tmp_path / "salamander_16000")))
    notes = [Note(0.1, 0.3, 60, 90)]
    dry = render(timbre, notes, tail_s=1.0, seed=1)
    held = render(timbre, notes, [Pedal(0.0, 1.0)], tail_s=1.0, seed=1)
    sounding = held[int(0.15 * SR):int(0.9 * SR)]
    n_fft = 8 * len(sounding)
    f0 = np.fft.rfftfreq(n_fft, 1 / SR)[np.argmax(np.abs(np.fft.rfft(sounding, n_fft)))]
    assert abs(1200 * np.log2(f0 / 261.63)) < 40  # C4 from the C3 sample, +/- tuning and stretch
    tail = slice(int(0.6 * SR), int(0.9 * SR))
    assert np.abs(held).max() > 0.01
    assert np.sqrt(np.mean(held[tail] ** 2)) > 10 * np.sqrt(np.mean(dry[tail] ** 2))


def test_timbres_lists_installed_and_missing(tmp_path, monkeypatch):
    pytest.importorskip("pysfizz")
    from typer.testing import CliRunner

    from pianotx.cli import app

    monkeypatch.setattr("pianotx.data.synth.timbres.SYSTEM_DIRS", ())
    monkeypatch.setattr("pianotx.data.synth.timbres._package_dir", lambda *a: None)
    _fake_salamander(tmp_path / "salamander_16000")
    result = CliRunner().invoke(app, ["timbres"], env={"PIANOTX_SOUNDFONTS": str(tmp_path), "COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│")}
    assert "installed" in rows["salamander"] and "salamander.sfz" in rows["salamander"]
    assert "missing" in rows["merlin"] and "pianotx timbres --install merlin" in rows["merlin"]
    assert "apt-get install" in rows["musescore"]
    bad = CliRunner().invoke(app, ["timbres", "merlin"])
    assert bad.exit_code == 2 and "only makes sense with --install" in bad.output


def test_outdated_sfz_is_rewritten_and_install_names_what_needs_root(tmp_path):
    from pianotx.errors import SynthError
    from pianotx.data.synth.install import apt_command, install, install_command
    from pianotx.data.synth.salamander_files import refresh_sfz

    sfz = _fake_salamander(tmp_path / "salamander_16000")
    expected = sfz.read_text()
    sfz.write_text("<region> sample=48v1.flac\n")
    refresh_sfz(sfz)
    assert sfz.read_text() == expected
    assert apt_command(["b", "a", "b"]) == "apt-get install -y --no-install-recommends a b"
    assert install_command("salamander") == "pianotx timbres --install salamander"
    assert install_command("fluidr3") == ("apt-get install -y --no-install-recommends fluid-soundfont-gm"
                                          " && pianotx timbres --install fluidr3")
    with pytest.raises(SynthError, match="unknown timbre 'harp'"):
        install(["harp"], soundfont_dir=tmp_path)


def test_install_prints_the_apt_command_it_does_not_run(tmp_path, monkeypatch):
    pytest.importorskip("tinysoundfont")  # else --install would run pip
    from typer.testing import CliRunner

    from pianotx.cli import app

    monkeypatch.setattr("pianotx.data.synth.timbres.SYSTEM_DIRS", ())
    result = CliRunner().invoke(app, ["timbres", "--install", "fluidr3", "--soundfont-dir", str(tmp_path)],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "still needs root: apt-get install -y --no-install-recommends fluid-soundfont-gm" in result.output
    bad = CliRunner().invoke(app, ["timbres", "--install", "harp"])
    assert bad.exit_code == 2 and "unknown timbre 'harp'" in bad.output
