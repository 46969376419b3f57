"""Scoring prediction folders and (fake) models on a tiny MAESTRO-style folder, and the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from pianotx.evaluation import evaluate
from pianotx.config import DecodeConfig, FeatureConfig, ModelConfig
from pianotx.errors import DatasetError
from pianotx.music.midi import notes_to_midi, write_midi
from pianotx.music.notes import Note, Pedal, notes_to_rolls

PIECES = {  # stem -> (split, notes, pedals)
    "a": ("test", [Note(0.1, 0.4, 60, 70), Note(0.2, 0.5, 64, 50)], [Pedal(0.3, 0.8)]),
    "b": ("test", [Note(0.05, 0.3, 48, 90), Note(0.5, 0.9, 72, 30)], []),
    "c": ("validation", [Note(0.1, 0.6, 67, 64), Note(0.7, 0.9, 69, 64)], []),
}
COLUMNS = "canonical_title,split,midi_filename,audio_filename,duration\n"
SAMPLES = {"a": 16_160, "b": 16_000, "c": 16_320}  # lengths tell the fakes which piece it is


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    rows = []
    rng = np.random.default_rng(0)
    for stem, (split, notes, pedals) in PIECES.items():
        write_midi(notes_to_midi(notes, pedals=pedals), root / f"{stem}.mid")
        noise = 0.1 * rng.standard_normal(SAMPLES[stem]).astype(np.float32)
        sf.write(root / f"{stem}.wav", noise, 16_000)
        rows.append(f"Piece {stem},{split},{stem}.mid,{stem}.wav,1.0\n")
    (root / "maestro-v3.0.0.csv").write_text(COLUMNS + "".join(rows))
    return root


def _predictions(folder: Path, stems=("a", "b"), *, suffix: str = "") -> Path:
    folder.mkdir()
    for stem in stems:
        _, notes, pedals = PIECES[stem]
        write_midi(notes_to_midi(notes, pedals=pedals), folder / f"{stem}{suffix}.mid")
    return folder


def test_perfect_predictions_score_one(dataset: Path, tmp_path: Path) -> None:
    items = evaluate.load_items(dataset, split="test")
    seen = []
    results = evaluate.evaluate_predictions(
        _predictions(tmp_path / "pred"), items, on_progress=lambda *a: seen.append(a)
    )
    assert [r.piece for r in results] == ["a", "b"]
    assert [s[:2] for s in seen] == [(1, 2), (2, 2)]
    mean = evaluate.summarize(results)
    assert mean["note/f1"] == mean["note_offset_velocity/f1"] == mean["note_frame/f1"] == 1.0
    assert "frame/f1" not in mean  # a MIDI file has no frame head
    assert "pedal/f1" in results[0].scores and "pedal/f1" not in results[1].scores
    assert evaluate.coverage(results)["pedal/f1"] == 1


def test_midi_without_cc64_misses_every_reference_press(dataset: Path, tmp_path: Path) -> None:
    items = evaluate.load_items(dataset, split="test")
    folder = tmp_path / "pred"
    folder.mkdir()
    for stem in ("a", "b"):
        write_midi(notes_to_midi(PIECES[stem][1]), folder / f"{stem}.mid")  # no pedal
    results = evaluate.evaluate_predictions(folder, items)
    assert results[0].scores["pedal/f1"] == 0.0 and "pedal/f1" not in results[1].scores


def test_missing_prediction_fails_or_scores_empty(dataset: Path, tmp_path: Path) -> None:
    items = evaluate.load_items(dataset, split="test")
    pred = _predictions(tmp_path / "pred", stems=("a",), suffix="_tool")
    with pytest.raises(DatasetError, match=r"1 of 2 pieces have no prediction .*\(no b_tool\.mid"):
        evaluate.evaluate_predictions(pred, items, suffix="_tool")
    results = evaluate.evaluate_predictions(pred, items, suffix="_tool", missing_as_empty=True)
    assert [r.scores["note/f1"] for r in results] == [1.0, 0.0]


def test_empty_split_is_a_clear_error(tmp_path: Path, dataset: Path) -> None:
    with pytest.raises(DatasetError, match="no pieces found in split 'train'"):
        evaluate.load_items(dataset, split="train")


class FakeRolls:
    """Stands in for inference.predict_rolls: the reference rolls, counting its calls."""

    def __init__(self, *, spurious_onset: float) -> None:
        self.calls = 0
        self.spurious_onset = spurious_onset

    def __call__(self, model, audio, *, batch_size=8):
        self.calls += 1
        self.piece = next(stem for stem, n in SAMPLES.items() if n == len(audio))
        notes = PIECES[self.piece][1]
        rolls = notes_to_rolls(notes, 1 + len(audio) // 160)
        onset = 0.45 * rolls.onset
        onset[50, 0] = self.spurious_onset  # a false onset at 0.5 s on the lowest key
        frame = np.maximum(rolls.frame, (onset > 0).astype(np.float32))
        frame[60:80, 1] = 0.4  # a faint false note on the next key, with no onset
        rolls = {"frame": frame, "onset": onset, "offset": rolls.offset, "velocity": rolls.velocity}
        return {head: rolls[head] for head in model.model_config.head_names}


def _patch_inference(monkeypatch, fake: FakeRolls) -> None:
    # a stand-in module keeps torch out of these tests; evaluate imports it by name
    module = ModuleType("pianotx.engine.torch_engine")
    module.predict_rolls = fake
    monkeypatch.setitem(sys.modules, "pianotx.engine.torch_engine", module)


def _fake_model(heads: str = "notes") -> SimpleNamespace:
    return SimpleNamespace(
        name="fake", decode_config=DecodeConfig(onset_threshold=0.4),
        model_config=ModelConfig(heads=heads), feature_config=FeatureConfig(),
    )


def test_evaluate_model_decodes_the_predicted_rolls(dataset, monkeypatch) -> None:
    _patch_inference(monkeypatch, FakeRolls(spurious_onset=0.35))
    items = evaluate.load_items(dataset, split="test")
    results = evaluate.evaluate_model(_fake_model(), items)
    assert [r.scores["note/f1"] for r in results] == [1.0, 1.0]
    _patch_inference(monkeypatch, FakeRolls(spurious_onset=0.35))
    low = evaluate.evaluate_model(_fake_model(), items, decode=DecodeConfig(onset_threshold=0.3))
    assert low[0].scores["note/precision"] == pytest.approx(2 / 3)


def test_frame_metric_thresholds_the_frame_head_not_the_notes(dataset, monkeypatch) -> None:
    _patch_inference(monkeypatch, FakeRolls(spurious_onset=0.35))
    items = evaluate.load_items(dataset, split="test")
    b = evaluate.evaluate_model(_fake_model(), items)[1].scores  # piece b: 65 cells, no pedal
    assert b["frame/precision"] == pytest.approx(65 / 66)  # the spurious onset's frame cell
    assert b["note_frame/precision"] == 1.0  # decoding drops it (onset below threshold)
    _patch_inference(monkeypatch, FakeRolls(spurious_onset=0.35))
    low = evaluate.evaluate_model(_fake_model(), items, decode=DecodeConfig(frame_threshold=0.3))
    assert low[1].scores["frame/precision"] == pytest.approx(65 / 86)  # + the faint 20 cells


def test_note_rolls_last_as_long_as_the_audio(dataset: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pred"
    folder.mkdir()
    write_midi(notes_to_midi(PIECES["b"][1][:1]), folder / "b.mid")  # the 0.5-0.9 s note missed
    item = evaluate.load_items(dataset, split="test")[1]
    (result,) = evaluate.evaluate_predictions(folder, [item])
    assert result.scores["note_frame/accuracy"] == pytest.approx(1 - 40 / (101 * 88))  # 1 s


def test_sweep_predicts_once_and_picks_the_best_threshold(dataset, monkeypatch) -> None:
    fake = FakeRolls(spurious_onset=0.35)
    _patch_inference(monkeypatch, fake)
    items = evaluate.load_items(dataset, split="test")
    grid = {"onset_threshold": [0.3, 0.4, 0.5], "frame_threshold": [0.5]}
    result = evaluate.sweep_thresholds(_fake_model(), items, grid=grid)
    assert fake.calls == 2
    assert result.metric == "note/f1"
    assert result.decode.onset_threshold == 0.4 and result.score == 1.0
    assert [round(score, 3) for _, score in result.table] == [0.8, 1.0, 0.0]


def test_the_default_sweep_of_a_note_model_tries_onset_bass_slopes(dataset, monkeypatch) -> None:
    _patch_inference(monkeypatch, FakeRolls(spurious_onset=0.35))
    items = evaluate.load_items(dataset, split="test")
    result = evaluate.sweep_thresholds(_fake_model(), items)
    assert {"onset_threshold", "frame_threshold", "onset_bass_slope",
            "frame_note_min_s"} <= set(result.swept)
    assert result.score == 1.0 and result.decode.onset_bass_slope in evaluate.ONSET_BASS_SLOPE_GRID


def _cli(*args: str):
    from pianotx.cli import app

    return CliRunner().invoke(app, ["eval", *args])


def test_cli_scores_a_prediction_folder_as_json(dataset: Path, tmp_path: Path) -> None:
    pred = _predictions(tmp_path / "pred")
    result = _cli("--data", str(dataset), "--pred-dir", str(pred), "--format", "json", "-q")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["split"] == "test"
    (source,) = report["results"]
    assert source["name"] == "pred" and source["n_pieces"] == 2
    assert source["mean"]["note/f1"] == 1.0 and source["mean"]["note_frame/accuracy"] == 1.0
    assert source["mean"]["note_frame/accuracy_mirex"] == 1.0  # mir_eval's TP / (TP + FP + FN)


def test_cli_json_flag_is_json_format_without_progress(dataset: Path, tmp_path: Path) -> None:
    pred = _predictions(tmp_path / "pred")
    result = _cli("--data", str(dataset), "--pred-dir", str(pred), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["mean"]["note/f1"] == 1.0


def test_cli_writes_markdown_per_piece_and_refuses_to_overwrite(dataset, tmp_path) -> None:
    pred, out = _predictions(tmp_path / "pred"), tmp_path / "report.md"
    args = ["--data", str(dataset), "--pred-dir", str(pred), "--format", "markdown"]
    assert _cli(*args, "--per-piece", "--out", str(out), "-q").exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("| Model | Piece | Pieces | Note-roll F1 | Note P |")
    assert [line.split(" | ")[1] for line in lines[2:]] == ["a", "b", "mean"]
    again = _cli(*args, "--out", str(out))
    assert again.exit_code == 1
    assert again.stderr.strip().endswith("already exists; pass --overwrite to replace it")


def test_cli_bad_prediction_folder_is_one_line_and_exit_1(dataset: Path, tmp_path) -> None:
    result = _cli("--data", str(dataset), "--pred-dir", str(tmp_path / "nowhere"), "-q")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: prediction folder") and "--pred-dir" in result.stderr


def test_sweep_of_a_frame_only_model_tunes_the_frame_threshold(dataset, monkeypatch) -> None:
    _patch_inference(monkeypatch, FakeRolls(spurious_onset=0.35))
    items = evaluate.load_items(dataset, split="test")
    grid = {"onset_threshold": [0.3, 0.9], "frame_threshold": [0.3, 0.5]}
    result = evaluate.sweep_thresholds(_fake_model("frame"), items, grid=grid)
    assert result.metric == "frame/f1" and result.swept == ("frame_threshold",)
    assert result.decode.frame_threshold == 0.5 and len(result.table) == 2


class TailRolls(FakeRolls):
    """The reference rolls, with a faint 0.3 s tail (frame 0.3) after every note of piece b
    (no pedal), which a low frame threshold turns into late offsets; onsets stay the same."""

    def __call__(self, model, audio, *, batch_size=8):
        rolls = super().__call__(model, audio, batch_size=batch_size)
        if self.piece != "b":  # piece a: its pedal-extended reference makes tails ambiguous
            return rolls
        frame = rolls["frame"].copy()
        for frame_index, key in zip(*np.nonzero(np.diff(frame, axis=0) < -0.5)):
            frame[frame_index + 1 : frame_index + 31, key] = np.maximum(
                frame[frame_index + 1 : frame_index + 31, key], 0.3)
        return {**rolls, "frame": frame}


def test_sweep_breaks_onset_ties_by_onset_offset_f1(dataset, monkeypatch) -> None:
    _patch_inference(monkeypatch, TailRolls(spurious_onset=0.0))
    items = evaluate.load_items(dataset, split="test")
    grid = {"onset_threshold": [0.4], "frame_threshold": [0.2, 0.5]}
    result = evaluate.sweep_thresholds(_fake_model(), items, grid=grid)
    assert [score for _, score in result.table] == [1.0, 1.0]  # onsets tie
    assert result.decode.frame_threshold == 0.5  # the offsets decide


def test_staged_sweep_finds_the_whole_grid_best(dataset, monkeypatch) -> None:
    """Onsets do not move with the frame and offset thresholds: a first pass picks the onset
    threshold, a second the rest; the result is the exhaustive grid's, in fewer decodes."""
    items = evaluate.load_items(dataset, split="test")
    grid = {"onset_threshold": [0.3, 0.4], "frame_threshold": [0.2, 0.5],
            "offset_threshold": [0.2, 0.3]}
    results = {}
    for exhaustive in (True, False):
        fake = TailRolls(spurious_onset=0.35)
        _patch_inference(monkeypatch, fake)
        seen = []
        results[exhaustive] = evaluate.sweep_thresholds(
            _fake_model(), items, grid=grid, exhaustive=exhaustive,
            on_progress=lambda *a: seen.append(a[:2]))
        assert fake.calls == (2 if exhaustive else 4)
        assert seen[-1] == ((2, 2) if exhaustive else (4, 4))
    full, staged = results[True], results[False]
    assert staged.decode == full.decode and staged.score == full.score
    assert staged.decode.onset_threshold == 0.4 and staged.decode.frame_threshold == 0.5
    assert len(full.table) == 8 and len(staged.table) == 4


def test_cli_sweep_data_sweeps_every_piece_of_that_folder(dataset, tiny_checkpoint, tmp_path,
                                                          monkeypatch) -> None:
    import shutil

    swept = []
    real = evaluate.sweep_thresholds

    def spy(model, items, **kwargs):
        swept.append([Path(i.audio_path).stem for i in items])
        return real(model, items, grid={"onset_threshold": (0.5,), "frame_threshold": (0.5,)},
                    **kwargs)

    monkeypatch.setattr(evaluate, "sweep_thresholds", spy)
    checkpoint = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, checkpoint)
    result = _cli("--data", str(dataset), "--checkpoint", str(checkpoint), "--sweep",
                  "--sweep-data", str(dataset), "--pedal", "none", "--save-decode", "--json")
    assert result.exit_code == 0, result.output
    assert swept == [["a", "b", "c"]]  # every split of --sweep-data, not only validation
    from pianotx.model.checkpoint import load_checkpoint

    assert load_checkpoint(checkpoint).decode_config.pedal == "none"
    refused = _cli("--data", str(dataset), "--checkpoint", str(checkpoint), "--sweep-data",
                   str(dataset))
    assert refused.exit_code == 2 and "--sweep-data needs --sweep" in refused.output


def _item(path: str) -> SimpleNamespace:
    """A dataset item of a folder of pairs ``data/PATH.wav`` + ``.mid`` (files not needed)."""
    audio = Path("data") / f"{path}.wav"
    return SimpleNamespace(audio_path=audio, midi_path=audio.with_suffix(".mid"),
                           title=audio.stem)


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"MThd")


def test_prediction_names_are_literal_not_patterns(tmp_path: Path) -> None:
    items = [_item("Nocturne [Op9]"), _item("what?")]
    _touch(tmp_path, "Nocturne O.mid", "whatX.mid")  # what the names match as glob patterns
    assert evaluate.find_predictions(tmp_path, items, root=Path("data")) == [None, None]
    _touch(tmp_path, "sub/Nocturne [Op9].mid", "what?.MID")
    assert evaluate.find_predictions(tmp_path, items, root=Path("data")) == [
        tmp_path / "sub" / "Nocturne [Op9].mid", tmp_path / "what?.MID"]


def test_pieces_sharing_a_stem_match_only_at_their_own_place(tmp_path: Path) -> None:
    from pianotx.evaluation.matching import expected_names, piece_names

    items = [_item("a/take"), _item("b/take"), _item("b/solo")]
    _touch(tmp_path, "take.mid", "b/take.mid", "elsewhere/solo.mid")
    assert evaluate.find_predictions(tmp_path, items, root=Path("data")) == [
        None, tmp_path / "b" / "take.mid", tmp_path / "elsewhere" / "solo.mid"]
    assert expected_names(items, suffix="_x") == ["a/take_x.mid", "b/take_x.mid", "solo_x.mid"]
    assert piece_names(items) == ["a/take", "b/take", "solo"]
    _touch(tmp_path, "other/solo.midi")
    with pytest.raises(DatasetError, match=r"several predictions match 'solo': .*/elsewhere/solo"
                                           r"\.mid, .*/other/solo\.midi; keep one"):
        evaluate.find_predictions(tmp_path, items)
    _touch(tmp_path, "b/solo.mid")  # its own place comes first
    assert evaluate.find_predictions(tmp_path, items)[2] == tmp_path / "b" / "solo.mid"


def test_cli_scores_pieces_sharing_a_stem_against_their_own_files(tmp_path: Path) -> None:
    data, pred = tmp_path / "data", tmp_path / "pred"
    for folder, pitch in (("a", 60), ("b", 64)):
        notes = [Note(0.1, 0.5, pitch, 80)]
        (data / folder).mkdir(parents=True)
        sf.write(data / folder / "take.wav", np.zeros(16_000, np.float32), 16_000)
        write_midi(notes_to_midi(notes), data / folder / "take.mid")
        (pred / folder).mkdir(parents=True)
        write_midi(notes_to_midi(notes), pred / folder / "take.mid")
    result = _cli("--data", str(data), "--pred-dir", str(pred), "--split", "all", "--per-piece",
                  "--format", "csv", "-q")
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in result.stdout.splitlines()]
    f1 = rows[0].index("note/f1")
    assert [(row[1], row[f1]) for row in rows[1:]] == [("a/take", "1.0"), ("b/take", "1.0"),
                                                       ("mean", "1.0")]


def test_cli_names_every_split_and_a_file_given_as_pred_dir(dataset: Path, tmp_path) -> None:
    split = _cli("--data", str(dataset), "--split", "foo", "-q")
    assert split.exit_code == 2
    assert split.stderr == "error: unknown split 'foo'; use one of train, validation, test or all\n"
    (tmp_path / "results.md").write_text("x")
    as_file = _cli("--data", str(dataset), "--pred-dir", str(tmp_path / "results.md"), "-q")
    assert as_file.exit_code == 1
    assert as_file.stderr == (f"error: prediction folder {tmp_path / 'results.md'} is a file; "
                              "--pred-dir needs the folder that holds the MIDI files\n")


@pytest.mark.parametrize("args,message", [
    (["--split", "foo"], "unknown split 'foo'; use one of train, validation, test or all"),
    (["--format", "foo"], "unknown format 'foo'; use one of table, markdown, json, csv"),
    (["--save-decode"], "--save-decode needs --sweep and a --checkpoint to save into"),
    (["--sweep", "--save-decode", "--pred-dir", "pred"], "--save-decode needs --sweep and a --checkpoint"),
    (["--sweep", "--pred-dir", "pred"], "--sweep tunes a model's thresholds; give --model or --checkpoint"),
    (["--checkpoint", "c.pt", "--sweep-data", "data"], "--sweep-data needs --sweep"),
    (["--onset-threshold", "2"], "--onset-threshold must lie strictly between 0 and 1, got 2.0"),
    (["--frame-threshold", "0"], "--frame-threshold must lie strictly between 0 and 1, got 0.0"),
    (["--onset-bass-slope", "1"], "--onset-bass-slope must lie in [0, 0.5] per octave, got 1.0"),
    (["--pedal", "maybe"], "--pedal must be one of cc64, extend, none, got 'maybe'"),
    (["--device", "tpu"], "unknown device 'tpu'; use auto, cpu, cuda, cuda:N or mps"),
    (["--limit", "0"], "Invalid value for '--limit'"),  # Typer's range check
])
def test_cli_usage_errors_exit_2_before_any_file_is_read(tmp_path: Path, args, message) -> None:
    """A missing dataset, checkpoint or --pred-dir would be exit 1: each of these comes first."""
    result = _cli("--data", str(tmp_path / "missing"), *args, "-q")
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    if "Invalid value" not in message:
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_full_disk_on_out_is_one_line(dataset: Path, tmp_path: Path, monkeypatch) -> None:
    import errno

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    pred, out = _predictions(tmp_path / "pred"), tmp_path / "report.md"
    monkeypatch.setattr(Path, "write_bytes", full)
    result = _cli("--data", str(dataset), "--pred-dir", str(pred), "-o", str(out), "-q")
    assert result.exit_code == 1
    assert result.stderr == (f"error: cannot write {out}: no space left on device; "
                             "free some space or choose another -o\n")
    assert sorted(tmp_path.iterdir()) == [tmp_path / "data", pred]  # no file, no leftover part


def test_cli_save_decode_exports_the_onnx_beside_the_checkpoint_again(
        dataset, tiny_checkpoint, tmp_path, monkeypatch) -> None:
    import shutil

    from pianotx.engine.onnx_engine import load_onnx
    from pianotx.model.checkpoint import load_checkpoint
    from pianotx.model.export import export_onnx

    real = evaluate.sweep_thresholds
    monkeypatch.setattr(evaluate, "sweep_thresholds", lambda model, items, **kwargs: real(
        model, items, grid={"frame_threshold": (0.3,)}, **kwargs))
    checkpoint, exported = tmp_path / "model.pt", tmp_path / "model.onnx"
    shutil.copy(tiny_checkpoint, checkpoint)
    export_onnx(load_checkpoint(checkpoint), exported)
    result = _cli("--data", str(dataset), "--checkpoint", str(checkpoint), "--sweep",
                  "--sweep-data", str(dataset), "--save-decode", "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    onnx_model = load_onnx(exported, checkpoint=checkpoint)  # not stale
    assert onnx_model.decode_config.frame_threshold == 0.3


def test_cli_save_decode_refuses_early_when_the_export_cannot_be_made(
        dataset, tmp_path, monkeypatch) -> None:
    import importlib.util

    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"not read")
    (tmp_path / "model.onnx").write_bytes(b"not read")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnx" else find_spec(name, *a))
    result = _cli("--data", str(dataset), "--checkpoint", str(checkpoint), "--sweep",
                  "--save-decode", "-q")
    assert result.exit_code == 1
    assert result.stderr == (f"error: --save-decode into {checkpoint} (to export "
                             f"{tmp_path / 'model.onnx'} again) needs onnx, which is not "
                             "installed: pip install 'pianotx[export]'\n")
