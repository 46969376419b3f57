"""The note-level beat network: features, targets, frames, a short run exported to ONNX."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pianotx.music.notes import Note
from pianotx.score.noterhythm import (KEYS, N_NOTE_FEATURES, frame_activation, note_features,
                                      note_order, note_targets)


def test_note_features_of_a_chord_and_a_melody_note():
    onset = np.array([0.5, 0.5, 1.0])
    features = note_features(onset, np.array([1.5, 0.75, 1.01]), np.array([36, 60, 64]),
                             np.array([127.0, 63.5, 0.0]))
    assert features.shape == (3, N_NOTE_FEATURES)
    assert features[:, :KEYS].argmax(axis=1).tolist() == [15, 39, 43]  # C2, C4, E4 from A0
    assert features[:, KEYS].tolist() == pytest.approx([1.0, np.log(1e-3) / 4 + 1, np.log(0.5) / 4 + 1])
    assert features[:, KEYS + 1].tolist() == pytest.approx([np.log(1e-3) / 4 + 1, np.log(0.5) / 4 + 1, 1.0])
    assert features[:, KEYS + 2].tolist() == pytest.approx([0.0, np.log(0.25) / 4, np.log(0.01) / 4])
    assert features[:, KEYS + 3].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert features[:, KEYS + 4].tolist() == pytest.approx([-28 / 24, -4 / 24, 0.0])
    assert features[:, KEYS + 5].tolist() == [1.0, 0.0, 1.0]  # the C4 belongs to the C2's chord


def test_notes_are_read_by_onset_then_pitch():
    assert note_order(np.array([1.0, 0.5, 0.5]), np.array([60, 72, 48])).tolist() == [2, 1, 0]


def test_note_targets_mark_notes_near_beats_and_downbeats():
    classes, mask = note_targets(np.array([0.0, 0.96, 1.03, 1.5, 2.0, 3.0]), np.array([1.0, 2.0]),
                                 np.array([2.0]))
    assert classes.tolist() == [0, 1, 1, 0, 2, 0]
    assert mask.tolist() == [0, 1, 1, 1, 1, 0]


def test_frame_activation_takes_the_surest_note_of_each_frame():
    probabilities = np.array([[0.2, 0.7, 0.1], [0.5, 0.5, 0.0], [0.0, 0.4, 0.6]])
    frames = frame_activation(np.array([0.1, 0.1, 0.3]), probabilities, 20, fps=50)
    assert frames[5].tolist() == pytest.approx([0.2, 0.7, 0.1])
    assert frames[4].tolist() == pytest.approx([0.6, 0.35, 0.05])
    assert frames[15].tolist() == pytest.approx([0.0, 0.4, 0.6])
    assert frames[14].tolist() == pytest.approx([0.5, 0.2, 0.3])
    assert frames[10].tolist() == [1.0, 0.0, 0.0]


def test_a_short_note_run_trains_exports_and_runs_without_torch(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from dataclasses import replace

    from pianotx.errors import CheckpointError
    from pianotx.score.beatnets import head_probabilities, note_beat_probabilities, tracker_metadata
    from pianotx.score.tracker import track
    from pianotx.training.beats import BeatTrainConfig, Piece
    from pianotx.training.notebeats import export_note_beatnet, load_note_beatnet, train_note_beatnet

    beats = np.arange(1.0, 31.0, 0.5)
    onsets = np.sort(np.concatenate([beats, beats, beats[:-1] + 0.25]))
    pitch = np.tile([36, 60, 67], len(beats))[: len(onsets)]
    piece = Piece(onsets, onsets + 0.2, pitch, np.full(len(onsets), 80.0), beats, beats[::4])
    config = replace(BeatTrainConfig(), steps=2, batch_size=2, crop_notes=64, val_every=1)
    best = train_note_beatnet([piece], [piece], tmp_path, config=config)
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2
    target = tmp_path / "notes.onnx"
    export_note_beatnet(best, target, metadata={"step": 2})
    notes = [Note(float(t), float(t) + 0.2, int(p), 80) for t, p in zip(onsets, pitch)]
    frames = note_beat_probabilities(notes, 1600, path=target)
    assert frames.shape == (1600, 3) and np.allclose(frames.sum(axis=1), 1.0, atol=1e-5)
    assert tracker_metadata(target) == {"step": 2}
    with torch.no_grad():
        net = load_note_beatnet(best)
        features = note_features(onsets, onsets + 0.2, pitch, np.full(len(onsets), 80.0))
        expected = torch.softmax(net(torch.from_numpy(features)[None]), dim=-1)[0].numpy()
    assert np.abs(frames - frame_activation(onsets, expected, 1600, fps=50)).max() < 1e-4
    beats_s, meter = track(notes, note_path=target, note_weight=1.0)
    assert len(beats_s) > 10 and meter.beats_per_bar in (2, 3, 4)
    with pytest.raises(CheckpointError, match="takes 94 features"):
        head_probabilities(notes, path=target)  # the note network where the frame network belongs
    # two runs exported as one ensemble: the mean of their probabilities, per note
    other = train_note_beatnet([piece], [piece], tmp_path / "b", config=replace(config, seed=1))
    export_note_beatnet([best, other], tmp_path / "pair.onnx")
    with torch.no_grad():
        second = torch.softmax(load_note_beatnet(other)(torch.from_numpy(features)[None]), dim=-1)[0].numpy()
    pair = note_beat_probabilities(notes, 1600, path=tmp_path / "pair.onnx")
    mean = frame_activation(onsets, (expected + second) / 2, 1600, fps=50)
    assert np.abs(second - expected).max() > 1e-3 and np.abs(pair - mean).max() < 1e-4


def test_bars_from_frames_keeps_the_frame_networks_bar_length(monkeypatch):
    import pianotx.score.tracker as tracker

    beats = np.arange(1.0, 31.0, 0.5)
    notes = [Note(float(t), float(t) + 0.2, p, 80) for t in beats for p in (36, 60)]
    frame_only = tracker.track(notes, note_weight=0.0)[1].beats_per_bar

    def in_threes(notes, n_frames, *, path=None):  # a note network hearing bars of 3 beats
        frames = np.zeros((n_frames, 3))
        frames[:, 0] = 1.0
        at = np.rint(beats * 50).astype(int)
        frames[at] = (0.0, 1.0, 0.0)
        frames[at[::3]] = (0.0, 0.0, 1.0)
        return frames

    monkeypatch.setattr(tracker, "note_beat_probabilities", in_threes)
    assert tracker.track(notes, note_weight=1.0, bars_from_frames=False)[1].beats_per_bar == 3 != frame_only
    assert tracker.track(notes, note_weight=1.0, bars_from_frames=True)[1].beats_per_bar == frame_only


def test_a_stopped_run_resumes_exactly(tmp_path):
    torch = pytest.importorskip("torch")
    from dataclasses import replace

    from pianotx.errors import TrainingError
    from pianotx.training.beats import BeatTrainConfig, Piece
    from pianotx.training.notebeats import train_note_beatnet

    beats = np.arange(1.0, 21.0, 0.5)
    piece = Piece(beats, beats + 0.2, np.tile([36, 60], len(beats) // 2), np.full(len(beats), 80.0),
                  beats, beats[::2])
    config = replace(BeatTrainConfig(), steps=4, batch_size=2, crop_notes=32, val_every=2, warmup_steps=2)
    train_note_beatnet([piece], [piece], tmp_path / "whole", config=config)

    class Stop(Exception):
        pass

    def stop_at_2(record):
        if record["step"] == 2:
            raise Stop

    with pytest.raises(Stop):
        train_note_beatnet([piece], [piece], tmp_path / "parts", config=config, on_event=stop_at_2)
    train_note_beatnet([piece], [piece], tmp_path / "parts", config=config, resume=True)
    whole = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    parts = torch.load(tmp_path / "parts" / "last.pt", weights_only=True)
    assert parts["step"] == 4 and all(torch.equal(whole["state_dict"][k], v) for k, v in parts["state_dict"].items())
    steps = [json.loads(line)["step"] for line in (tmp_path / "parts" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4]
    with pytest.raises(TrainingError, match="another run's"):
        train_note_beatnet([piece], [piece], tmp_path / "parts", config=replace(config, lr=1e-4), resume=True)
