"""The learned beat tracker: features, ASAP reading, training and export, the shipped network."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pianotx.data.asap import asap_rows, held_out, part_of, read_annotations
from pianotx.errors import DatasetError
from pianotx.music.notes import Note
from pianotx.score.rhythm import BANDS, N_FEATURES, beat_targets, rhythm_features
from pianotx.score.meter import Meter, downbeat_indices, downbeats
from pianotx.score.beatnets import beat_probabilities, tracker_metadata
from pianotx.score.tracker import bar_meter, bar_runs, track


def test_features_of_a_bass_note_under_a_chord():
    notes = [Note(0.1, 0.7, 60, 127), Note(0.1, 0.3, 36, 127), Note(0.5, 1.0, 64, 127)]
    features = rhythm_features(notes)
    assert features.shape == (51, N_FEATURES)
    at_5 = features[5]
    assert at_5[0] == pytest.approx(np.log1p(2))  # two onsets
    assert at_5[1] == pytest.approx(2.0)  # their loudness
    assert at_5[2] == pytest.approx((108 - 36) / 87)  # the lowest is C2
    assert at_5[3] == 1.0  # one of them held 0.5 s or longer
    assert list(at_5[4 : 4 + BANDS]) == [0, 1, 0, 1, 0, 0, 0, 0]  # C2 in band 1, C4 in band 3
    assert at_5[4 + BANDS + 1] == at_5[4 + BANDS + 3] == pytest.approx(np.log1p(1))
    assert at_5[4 + 2 * BANDS] == 1.0  # both are Cs
    assert features[16, 4 + BANDS + 1] == 0.0  # the bass stopped at 0.3 s
    assert features[30, 4 + 2 * BANDS + 4] == pytest.approx(0.5)  # C and E sound at 0.6 s
    assert not features[6, :4].any()  # no onset between


def test_beat_targets_spread_to_the_neighbouring_frames():
    targets = beat_targets(np.array([0.1, 0.5]), np.array([0.1]), 30)
    assert targets[5].tolist() == [0, 0, 1]
    assert targets[4].tolist() == targets[6].tolist() == [0.5, 0, 0.5]
    assert targets[25].tolist() == [0, 1, 0]
    assert targets[10].tolist() == [1, 0, 0]
    assert np.allclose(targets.sum(axis=1), 1.0)


def test_asap_annotations_and_parts(tmp_path):
    path = tmp_path / "a_annotations.txt"
    path.write_text("1.0\t1.0\tdb,3/4,-2\n1.5\t1.5\tb\n2.0\t2.0\tb\n2.5\t2.5\tdb,6/8,\n3.0\t3.0\tb,,1\n")
    annotations = read_annotations(path)
    assert annotations.beats_s.tolist() == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert annotations.downbeats_s.tolist() == [1.0, 2.5]
    assert (annotations.signature, annotations.fifths) == ("3/4", -2)
    assert annotations.signatures == ((1.0, "3/4"), (2.5, "6/8"))
    assert annotations.keys == ((1.0, -2), (3.0, 1))
    folders = [f"Composer/Piece_{i}" for i in range(200)]
    tuning = [f for f in folders if part_of(f) == "tuning"]
    assert 60 < len(tuning) < 140 and 10 < sum(map(held_out, tuning)) < 50
    with pytest.raises(DatasetError, match="give an ASAP folder"):
        asap_rows(tmp_path)


def test_a_short_run_trains_exports_and_runs_without_torch(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from dataclasses import replace

    from pianotx.training.beats import BeatTrainConfig, Piece, export_beatnet, load_beatnet, train_beatnet

    beats = np.arange(1.0, 61.0, 0.5)
    onsets = np.repeat(beats, 2)
    piece = Piece(onsets, onsets + 0.3, np.tile([36, 60], len(beats)), np.full(len(onsets), 80.0),
                  beats, beats[::4])
    config = replace(BeatTrainConfig(), steps=2, batch_size=2, crop_s=10.0, val_every=1)
    best = train_beatnet([piece], [piece], tmp_path, config=config)
    assert (tmp_path / "last.pt").exists() and len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2
    target = tmp_path / "beats.onnx"
    export_beatnet(best, target, metadata={"step": 2})
    probabilities = beat_probabilities([Note(0.5, 0.8, 60, 80), Note(1.0, 1.3, 62, 80)], path=target)
    assert probabilities.shape == (66, 3) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert tracker_metadata(target) == {"step": 2}
    with torch.no_grad():
        net = load_beatnet(best)
        features = torch.from_numpy(rhythm_features([Note(0.5, 0.8, 60, 80), Note(1.0, 1.3, 62, 80)]))
        expected = torch.softmax(net(features[None]), dim=-1)[0].numpy()
    assert np.abs(probabilities - expected).max() < 1e-4


def test_extra_pieces_are_drawn_for_their_share_of_the_crops():
    pytest.importorskip("torch")
    from pianotx.training.beats import Piece, beat_span, draw_chances

    def piece(seconds: float) -> Piece:
        beats = np.arange(0.0, seconds + 0.25, 0.5)
        return Piece(beats, beats + 0.2, np.full(len(beats), 60), np.full(len(beats), 80.0), beats, beats[::2])

    fit, extra = [piece(10.0), piece(30.0)], [piece(5.0), piece(5.0), piece(10.0)]
    assert np.allclose(draw_chances(fit, [], 0.5, beat_span), [0.25, 0.75])
    assert np.allclose(draw_chances(fit, extra, 0.2, beat_span), [0.2, 0.6, 0.05, 0.05, 0.1])


def march() -> list[Note]:
    """4/4 at 100 BPM: a low bass note on every downbeat, a chord on every beat."""
    notes = []
    for beat in range(48):
        t = 0.5 + 0.6 * beat
        if beat % 4 == 0:
            notes.append(Note(t, t + 2.2, 36 if beat % 8 == 0 else 43, 100))
        notes += [Note(t, t + 0.3, p, 70) for p in (64, 67, 72)]
    return notes


def test_the_shipped_tracker_finds_the_bars_of_a_march():
    beats_s, meter = track(march())
    expected = 0.5 + 0.6 * np.arange(48)
    assert len(beats_s) == 48 and np.abs(beats_s - expected).max() < 0.03
    assert (meter.beats_per_bar, meter.division, meter.first_downbeat) == (4, 2, 0)
    assert "net_config" in tracker_metadata()


def test_bar_runs_and_the_meter_of_a_change_from_three_to_four_beats():
    # a pickup beat, two bars of 3, three bars of 4
    positions = np.array([3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4])
    lengths = np.array([3] * 7 + [4] * 12)
    assert bar_runs(positions, lengths) == ((1, 3), (7, 4))
    meter = bar_meter(positions, lengths, 4, 2)
    assert meter == Meter(4, 2, 7, ((1, 3), (7, 4)))
    np.testing.assert_array_equal(downbeat_indices(meter, 19), [1, 4, 7, 11, 15])
    np.testing.assert_array_equal(downbeats(np.arange(19) * 0.5, meter), [0.5, 2.0, 3.5, 5.5, 7.5])
    steady = bar_meter(positions[7:], lengths[7:], 4, 2)
    assert steady == Meter(4, 2, 0) and steady.runs == ()
    np.testing.assert_array_equal(downbeat_indices(steady, 12), [0, 4, 8])


def test_the_tracker_may_change_bar_length_where_asked():
    """Eight bars of 3/4 then eight of 4/4 at 100 BPM, a low bass on every downbeat: with
    switch_log_prob the runs are found; the beats stay where they were."""
    notes, t = [], 0.5
    for bar in range(16):
        for beat in range(3 if bar < 8 else 4):
            if beat == 0:
                notes.append(Note(t, t + 1.5, 36, 100))
            notes += [Note(t, t + 0.3, p, 70) for p in (64, 67, 72)]
            t += 0.6
    beats_s, meter = track(notes, switch_log_prob=-10.0)
    assert len(beats_s) == 56 and np.abs(beats_s - (0.5 + 0.6 * np.arange(56))).max() < 0.03
    assert meter.runs == ((0, 3), (24, 4)) and meter.beats_per_bar == 4 and meter.first_downbeat == 24
    np.testing.assert_array_equal(downbeat_indices(meter, 56), list(range(0, 24, 3)) + list(range(24, 56, 4)))


def test_the_shipped_tracker_has_a_card_with_its_sha256():
    import hashlib
    import re

    from pianotx.score.beatnets import note_tracker_path, tracker_path

    for path in (tracker_path(), note_tracker_path()):
        card = path.with_suffix(".md").read_text()
        assert re.search(rf"sha256[^0-9a-f]*{hashlib.sha256(path.read_bytes()).hexdigest()}", card)
        assert "/work/" not in card and "/home/" not in card
        assert "/work/" not in json.dumps(tracker_metadata(path))


def test_the_shipped_tracker_hears_each_performance_at_three_tempi():
    from pianotx.score.tracker import decode_settings

    settings = decode_settings()
    assert settings["time_scales"] == [0.8, 1.0, 1.25]
    assert (settings["note_weight"], settings["bars_from_frames"]) == (0.3, True)
    assert decode_settings(time_scales=(1.0,))["time_scales"] == (1.0,)


def test_tempo_and_meter_targets():
    from pianotx.score.rhythm import TEMPO_BPM, meter_targets, tempo_targets

    tempo = tempo_targets(np.array([1.0, 1.5, 2.0, 3.0]), 200)
    assert tempo[40].sum() == tempo[160].sum() == 0.0  # before the first beat, after the last
    assert TEMPO_BPM[tempo[60].argmax()] == pytest.approx(120, rel=0.03)
    assert TEMPO_BPM[tempo[140].argmax()] == pytest.approx(60, rel=0.03)
    meter = meter_targets([(1.0, "3/4"), (2.0, "6/8"), (3.0, "5/4")], 200)
    assert meter[[0, 60, 120, 160]].tolist() == [[1, 0], [1, 0], [0, 1], [-1, -1]]


def test_a_network_with_tempo_and_meter_heads_trains_exports_and_tracks(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from dataclasses import replace

    from pianotx.model.beatnet import BeatNetConfig
    from pianotx.score.rhythm import TEMPO_BPM
    from pianotx.score.beatnets import head_probabilities
    from pianotx.training.beats import BeatTrainConfig, Piece, export_beatnet, train_beatnet

    beats = np.arange(1.0, 61.0, 0.5)
    onsets = np.repeat(beats, 2)
    piece = Piece(onsets, onsets + 0.3, np.tile([36, 60], len(beats)), np.full(len(onsets), 80.0),
                  beats, beats[::3], ((1.0, "3/4"),))
    config = replace(BeatTrainConfig(), steps=2, batch_size=2, crop_s=10.0, val_every=2)
    net_config = BeatNetConfig(tempo_bins=len(TEMPO_BPM), meter_heads=True)
    best = train_beatnet([piece], [piece], tmp_path, config=config, net_config=net_config)
    record = __import__("json").loads((tmp_path / "metrics.jsonl").read_text())
    assert {"held_out_loss", "held_out_tempo", "held_out_bar", "held_out_division"} <= set(record)
    target = tmp_path / "beats.onnx"
    export_beatnet(best, target)
    notes = [Note(float(t), float(t) + 0.3, 60, 80) for t in beats[:40]]
    heads = head_probabilities(notes, path=target)
    assert {name: value.shape[1] for name, value in heads.items()} == {
        "beat": 3, "tempo": len(TEMPO_BPM), "bar": 3, "division": 2}
    beats_s, meter = track(notes, path=target)
    assert meter.beats_per_bar in (2, 3, 4) and meter.division in (2, 3)


def test_a_gru_network_exports_with_its_decode_settings(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from dataclasses import replace

    from pianotx.errors import ScoreError, TrainingError
    from pianotx.model.beatnet import BeatNetConfig
    from pianotx.score.beatnets import head_probabilities
    from pianotx.score.tracker import decode_settings
    from pianotx.training.beats import BeatTrainConfig, Piece, export_beatnet, train_beatnet, update_decode

    beats = np.arange(1.0, 41.0, 0.5)
    piece = Piece(beats, beats + 0.3, np.full(len(beats), 60), np.full(len(beats), 80.0),
                  beats, beats[::2], ((1.0, "2/4"),))
    config = replace(BeatTrainConfig(), steps=2, batch_size=2, crop_s=10.0, val_every=2)
    best = train_beatnet([piece], [piece], tmp_path, config=config,
                         net_config=BeatNetConfig(channels=8, levels=3, gru=4, meter_heads=True))
    target = tmp_path / "beats.onnx"
    export_beatnet(best, target, metadata={"decode": {"transition_lambda": 30.0}})
    notes = [Note(float(t), float(t) + 0.3, 60, 80) for t in beats]
    # one frame past the last offset (40.8 s at 50 frames/s)
    plain = head_probabilities(notes, path=target)["beat"]
    assert plain.shape == (2041, 3)
    # heard at 0.8 and 1.25 times the speed too: the same frames, still distributions
    scaled = head_probabilities(notes, path=target, time_scales=(0.8, 1.0, 1.25))["beat"]
    assert scaled.shape == (2041, 3) and np.allclose(scaled.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(scaled, plain, atol=1e-4)
    # an ensemble of a network with itself gives that network's probabilities
    pair = tmp_path / "pair.onnx"
    export_beatnet([best, best], pair)
    assert np.allclose(head_probabilities(notes, path=pair)["beat"], plain, atol=1e-5)
    settings = decode_settings(target, max_bpm=200.0)
    assert (settings["transition_lambda"], settings["max_bpm"], settings["min_bpm"]) == (30.0, 200.0, 40.0)
    with pytest.raises(ScoreError, match="unknown beat-tracker setting 'tempo'"):
        track(notes, path=target, tempo=3)
    # settings chosen later join those stored; the network is untouched
    updated = tmp_path / "updated.onnx"
    updated.write_bytes(target.read_bytes())
    assert update_decode(updated, {"note_weight": 0.3})["decode"] == {"transition_lambda": 30.0, "note_weight": 0.3}
    assert decode_settings(updated)["note_weight"] == 0.3
    assert np.array_equal(head_probabilities(notes, path=updated)["beat"], plain)
    with pytest.raises(TrainingError, match="unknown beat-tracker setting 'tempo'"):
        update_decode(updated, {"tempo": 3})


def test_a_performance_too_short_for_a_bar_is_refused_in_words():
    from pianotx.errors import ScoreError

    with pytest.raises(ScoreError, match="lasts 0.50 s, too short to find beats and bars"):
        track([Note(0.1 * i, 0.1 * i + 0.1, 60 + i, 80) for i in range(5)])


def _regular_beats(monkeypatch, *, bar: int) -> list[Note]:
    """Both networks' probabilities monkeypatched to a sure beat every 0.3 s (40 s at 50
    frames/s), a downbeat on every ``bar``-th; returns notes on those beats."""
    from pianotx.score import tracker

    n_frames = 2000
    beats = np.zeros((n_frames, 3))
    beats[:, 0] = 1.0
    for index, frame in enumerate(range(25, n_frames - 15, 15)):
        beats[frame] = (0.0, 0.0, 1.0) if index % bar == 0 else (0.0, 1.0, 0.0)
    monkeypatch.setattr(tracker, "head_probabilities", lambda notes, **_: {"beat": beats})
    monkeypatch.setattr(tracker, "note_beat_probabilities", lambda notes, n, **_: beats)
    return [Note(0.5 + 0.3 * k, 0.7 + 0.3 * k, 60 if k % 2 else 48, 80) for k in range(130)]


def test_long_bars_read_eight_tracked_beats_as_a_bar_of_four_at_half_the_rate(monkeypatch):
    """Activations of a beat every 0.3 s with a downbeat on every eighth: with ``long_bars``
    the DBN may choose bars of 8 and every second beat is kept, in bars of 4 (0.6 s)."""
    from pianotx.score import tracker

    notes = _regular_beats(monkeypatch, bar=8)
    options = {"level_model": 0, "bar_bonus": 1.0}
    beats_s, meter = tracker.track(notes, long_bars=True, **options)
    assert np.abs(np.diff(beats_s) - 0.6).max() < 0.03 and abs(beats_s[0] - 0.5) < 0.03
    assert (meter.beats_per_bar, meter.first_downbeat) == (4, 0)
    short_s, short = tracker.track(notes, long_bars=False, **options)
    assert np.abs(np.diff(short_s) - 0.3).max() < 0.03 and short.beats_per_bar in (2, 4)


def test_every_candidate_is_thinned_and_bars_of_six_read_as_two_compound_beats():
    from pianotx.score.candidates import CANDIDATES
    from pianotx.score.level import thin

    for length, step in CANDIDATES:  # thin keeps the beats unchanged only where step 1
        kept = thin(np.arange(2 * length) * 0.2, np.tile(np.arange(1, length + 1), 2), length, step)
        assert kept.beats_per_bar == length // step and len(kept.beats_s) == 2 * length // step
    beats_s = np.arange(12) * 0.2
    positions = np.tile(np.arange(1, 7), 2)
    kept = thin(beats_s, positions, 6, 3)
    assert np.allclose(kept.beats_s, [0.0, 0.6, 1.2, 1.8])
    assert kept.positions.tolist() == [1, 2, 1, 2] and kept.beats_per_bar == 2
    halves = thin(beats_s[:8], np.tile(np.arange(1, 5), 2), 4, 2)
    assert halves.positions.tolist() == [1, 2, 1, 2] and halves.beats_per_bar == 2


def test_a_chooser_of_the_wrong_shape_is_refused():
    from pianotx.errors import CheckpointError
    from pianotx.score.candidates import N_CANDIDATE_FEATURES, check_chooser

    good = {"mean": [0.0] * N_CANDIDATE_FEATURES, "scale": [1.0] * N_CANDIDATE_FEATURES,
            "coef": [0.0] * N_CANDIDATE_FEATURES}
    check_chooser(good)
    with pytest.raises(CheckpointError, match="fit_beat_chooser"):
        check_chooser(good | {"coef": [0.0] * 3})


def test_fit_chooser_learns_which_candidate_is_best():
    """Two candidates a performance; the best one has the larger first feature."""
    from pianotx.score.candidates import candidate_scores
    from pianotx.training.levels import fit_chooser

    rng = np.random.default_rng(0)
    features, best = [], []
    for _ in range(200):
        x = rng.normal(size=(2, 24))
        features.append(x)
        best.append(int(np.argmax(x[:, 0])))
    model = fit_chooser(features, best, c=10.0)
    test = rng.normal(size=(30, 2, 24))
    right = [int(np.argmax(candidate_scores(x, model))) == int(np.argmax(x[:, 0])) for x in test]
    assert np.mean(right) >= 0.9


def test_the_chooser_picks_the_candidate_its_coefficients_favour(monkeypatch):
    """Activations of a beat every 0.3 s with a downbeat on every sixth: a chooser that
    rewards bars of two beats at a third of the tracked rate (feature 21: step 3) writes
    bars of two beats 0.9 s apart; one that rewards bars of three (feature 18) keeps bars
    of three at the tracked rate or half of it."""
    from pianotx.score import tracker
    from pianotx.score.candidates import N_CANDIDATE_FEATURES

    notes = _regular_beats(monkeypatch, bar=6)

    def chooser(index: int) -> dict:
        coef = np.zeros(N_CANDIDATE_FEATURES)
        coef[index] = 1.0
        return {"mean": [0.0] * N_CANDIDATE_FEATURES, "scale": [1.0] * N_CANDIDATE_FEATURES, "coef": coef.tolist()}

    beats_s, meter = tracker.track(notes, chooser=chooser(21))
    assert np.abs(np.diff(beats_s) - 0.9).max() < 0.03 and meter.beats_per_bar == 2
    beats_s, meter = tracker.track(notes, chooser=chooser(18))
    assert meter.beats_per_bar == 3


def test_a_given_meter_is_tracked_in_bars_of_its_length(monkeypatch):
    """Activations of a beat every 0.3 s with a downbeat on every fourth: found, bars of
    four; given 3/4 the DBN is asked for bars of three only (the beats stay on the marked
    ones) and the meter is 3/4; given 6/8 the meter is bars of two compound beats."""
    from pianotx.score import tracker

    notes = _regular_beats(monkeypatch, bar=4)
    found_s, found = tracker.track(notes, level_model=0)
    assert found.beats_per_bar == 4
    beats_s, meter = tracker.track(notes, meter=(3, 2), level_model=0)
    assert (meter.beats_per_bar, meter.division, meter.time_signature) == (3, 2, "3/4")
    assert abs(np.median(np.diff(beats_s)) - 0.3) < 0.01
    beats_s, meter = tracker.track(notes, meter=(2, 3))
    assert (meter.beats_per_bar, meter.division, meter.time_signature) == (2, 3, "6/8")


def test_a_given_meter_holds_throughout():
    from pianotx.errors import ScoreError
    from pianotx.score.tracker import decode_settings, given_track

    with pytest.raises(ScoreError, match="drop the meter changes"):
        given_track([], decode_settings(switch_log_prob=-10.0), (3, 2))


@pytest.mark.parametrize("signature, meter", [("2/4", (2, 2)), ("3/4", (3, 2)), ("4/4", (4, 2)),
                                              ("6/8", (2, 3)), ("9/8", (3, 3)), ("12/8", (4, 3))])
def test_given_meter_reads_the_signatures_the_score_writes(signature, meter):
    from pianotx.score.meter import TIME_SIGNATURES, given_meter

    assert given_meter(signature) == meter and TIME_SIGNATURES[meter] == signature


@pytest.mark.parametrize("signature", ["3/8", "2/2", "5/4", "three", "", "4/4/4"])
def test_given_meter_refuses_the_others_with_the_fix(signature):
    from pianotx.errors import ScoreError
    from pianotx.score.meter import given_meter

    with pytest.raises(ScoreError, match=r"is not one pianotx writes; use one of 2/4, 3/4, 4/4, 6/8"):
        given_meter(signature)
