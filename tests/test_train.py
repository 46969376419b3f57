"""Training: a tiny run learns and saves, resume continues exactly, DDP runs, bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
import torch

from pianotx.errors import ConfigError, OutputError, TrainingError
from pianotx.music.midi import notes_to_midi, write_midi
from pianotx.training.config import TrainConfig
from pianotx.training.run import train
from tests.conftest import SR, render_tones, tone_notes

SPLITS = ("train", "train", "train", "validation")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four clips of ~3.5 s of synthetic tones (three train, one validation) + metadata."""
    root = tmp_path_factory.mktemp("tiny_data")
    rows = []
    for i, split in enumerate(SPLITS):
        notes = tone_notes(seed=i, n_notes=6)
        audio = render_tones(notes)
        sf.write(root / f"clip{i}.wav", audio, SR)
        write_midi(notes_to_midi(notes), root / f"clip{i}.mid")
        rows.append({"canonical_title": f"clip {i}", "split": split,
                     "midi_filename": f"clip{i}.mid", "audio_filename": f"clip{i}.wav",
                     "duration": len(audio) / SR})
    with open(root / "metadata.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def tiny_config(data: Path, cache: Path, **overrides) -> TrainConfig:
    values = dict(data=str(data), arch="fcnn", heads="frame", width=0.25, segment_s=2.0,
                  batch_size=2, lr=3e-3, steps=6, workers=0, val_pieces=1, ckpt_every=2,
                  log_every=1, cache_dir=str(cache), device="cpu")
    values.update(overrides)
    return TrainConfig(**values)


def losses_of(config: TrainConfig, out: Path, *, resume: bool = False) -> list[float]:
    events = []
    train(config, out_dir=out, resume=resume, on_event=events.append)
    return [e.values["loss"] for e in events if e.kind == "step"]


def test_tiny_run_lowers_loss_and_writes_a_checkpoint_transcribe_loads(tiny_data, tmp_path):
    from typer.testing import CliRunner

    from pianotx.cli import app

    out = tmp_path / "run"
    losses = losses_of(tiny_config(tiny_data, tmp_path / "cache", steps=8), out)
    assert len(losses) == 8
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    for name in ("config.json", "metrics.jsonl", "metrics.csv", "last.pt", "best.pt"):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["beta"] == 0.2 and config["model"]["arch"] == "fcnn"
    kinds = [json.loads(line)["kind"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert kinds.count("train") == 8 and "val" in kinds
    result = CliRunner().invoke(app, [
        "transcribe", str(tiny_data / "clip3.wav"), "--checkpoint", str(out / "best.pt"),
        "-o", str(tmp_path / "clip3.mid"), "--device", "cpu",
    ])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "clip3.mid").is_file()


def test_same_seed_same_losses_and_resume_continues_exactly(tiny_data, tmp_path):
    import torch

    cache = tmp_path / "cache"
    full = losses_of(tiny_config(tiny_data, cache, steps=5), tmp_path / "full")
    first = losses_of(tiny_config(tiny_data, cache, steps=3), tmp_path / "cut")
    assert first == full[:3]
    events = []
    train(tiny_config(tiny_data, cache, steps=5), out_dir=tmp_path / "cut", resume=True,
          on_event=events.append)
    steps = [e for e in events if e.kind == "step"]
    assert [e.step for e in steps] == [4, 5]
    assert first + [e.values["loss"] for e in steps] == full
    saved = torch.load(tmp_path / "cut" / "last.pt", weights_only=True)
    assert saved["training"]["step"] == 5
    assert all(s["step"] == 5 for s in saved["training"]["optimizer"]["state"].values())
    log = (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log if '"train"' in line] == [1, 2, 3, 4, 5]


def test_resume_refuses_a_changed_config_and_guards_the_run_folder(tiny_data, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "run"
    with pytest.raises(TrainingError, match="nothing to resume"):
        train(tiny_config(tiny_data, cache, steps=1), out_dir=out, resume=True)
    train(tiny_config(tiny_data, cache, steps=1), out_dir=out)
    with pytest.raises(OutputError, match="--resume"):
        train(tiny_config(tiny_data, cache, steps=2), out_dir=out)
    with pytest.raises(TrainingError, match=r"beta \(0.2 -> 0.5\)"):
        train(tiny_config(tiny_data, cache, steps=2, beta=0.5), out_dir=out, resume=True)


def test_non_finite_loss_stops_with_a_clear_message(tiny_data, tmp_path, monkeypatch):
    import pianotx.model.loss

    real = pianotx.model.loss.transcription_loss

    def nan_loss(logits, targets, *, beta=None, **kwargs):
        total, parts = real(logits, targets, beta=beta, **kwargs)
        return total * float("nan"), parts

    monkeypatch.setattr(pianotx.model.loss, "transcription_loss", nan_loss)
    with pytest.raises(TrainingError, match="diverged at step 1.*lower --lr"):
        train(tiny_config(tiny_data, tmp_path / "cache", steps=2), out_dir=tmp_path / "run")


def test_note_model_with_pedal_head_trains_and_transcribes(tiny_data, tmp_path):
    import numpy as np

    from pianotx.api import load_model, transcribe_samples

    out = tmp_path / "run"
    losses = losses_of(tiny_config(tiny_data, tmp_path / "cache", heads="full", trunk="freq",
                                   soft_frames=2, steps=3), out)
    assert len(losses) == 3 and all(np.isfinite(losses))
    model = load_model(out / "last.pt", device="cpu")
    assert model.model_config.trunk == "freq" and model.model_config.soft_frames == 2
    result = transcribe_samples(np.zeros(16_000, np.float32) + 1e-3, model=model)
    assert isinstance(result.notes, list) and isinstance(result.pedals, list)


def test_take_hours_is_a_fixed_subset_in_original_order():
    from pianotx.data.readers import Item
    from pianotx.training.setup import take_hours

    items = [Item(Path(f"a{i}.wav"), Path(f"a{i}.mid"), "train", f"t{i}", 600.0)
             for i in range(12)]
    half = take_hours(items, 0.5)  # 30 minutes = 3 items of 10 minutes
    assert len(half) == 3 and half == sorted(half, key=items.index)
    assert take_hours(items, 0.5) == half
    assert set(half) <= set(take_hours(items, 1.0)) and len(take_hours(items, 1.0)) == 6
    assert take_hours(items, 99) == items


def test_keep_epochs_writes_one_checkpoint_per_epoch(tiny_data, tmp_path):
    from pianotx.model.checkpoint import load_checkpoint

    out = tmp_path / "run"
    train(tiny_config(tiny_data, tmp_path / "cache", steps=None, epochs=2, keep_epochs=True,
                      train_hours=0.001), out_dir=out)
    assert sorted(p.name for p in out.glob("epoch*.pt")) == ["epoch1.pt", "epoch2.pt"]
    first, second = (load_checkpoint(out / f"epoch{n}.pt", device="cpu") for n in (1, 2))
    weights = [dict(m.net.state_dict()) for m in (first, second)]
    assert weights[0].keys() == weights[1].keys()
    assert any(not (weights[0][k] == weights[1][k]).all() for k in weights[0])
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["train_hours"] == 0.001


@pytest.mark.parametrize("overrides, message", [
    ({"train_hours": 0.0}, "^--train-hours must be > 0, got 0$"),
    ({"steps": 2, "epochs": 1}, "not both"),
    ({"beta": 1.0}, "^--beta must lie strictly between 0 and 1, got 1$"),
    ({"batch_size": 0}, "^--batch-size must be at least 1, got 0$"),
    ({"arch": "lstm"}, "architecture"),
    ({"lr": 0.0}, "^--lr must be > 0, got 0$"),
    ({"grad_clip": -1.0}, "^--grad-clip must be >= 0, got -1$"),
    ({"lr": float("inf")}, "^--lr must be a finite number, got inf$"),
    ({"width": float("nan")}, "^--width must be a finite number, got nan$"),
    ({"segment_s": float("inf")}, "^--segment-seconds must be a finite number, got inf$"),
    ({"trunk": "bogus"}, "^unknown trunk 'bogus': use one of paper, freq$"),
    ({"trunk": "FREQ"}, "^unknown trunk 'FREQ': use one of paper, freq$"),
])
def test_bad_train_config_is_refused(overrides, message):
    values = {"data": "x", **overrides}
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**values)


def test_cli_non_finite_option_is_one_error_line(tmp_path):
    from typer.testing import CliRunner

    from pianotx.cli import app

    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path), "--width", "nan",
                                      "-o", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.output == "error: --width must be a finite number, got nan\n"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args,message", [
    (["--model", "rnn"], "unknown architecture 'rnn': use 'fcnn' or 'crnn'"),
    (["--heads", "all"], "unknown head set 'all': use one of"),
    (["--trunk", "deep"], "unknown trunk 'deep': use one of paper, freq"),
    (["--temporal-head", "dilated"], "--temporal-head 'dilated' needs --model fcnn and --trunk freq"),
    (["--diff-input"], "--diff-input needs --trunk freq"),
    (["--harmonic"], "--harmonic needs --trunk freq"),
    (["--precision", "fp16"], "unknown precision 'fp16': use one of auto, fp32, bf16"),
    (["--optimizer", "sgd"], "unknown optimizer 'sgd': use one of adam, adamw"),
    (["--schedule", "linear"], "unknown schedule 'linear': use one of constant, cosine"),
    (["--augment-chain", "studio"], "unknown augmentation chain 'studio': use one of basic, recording"),
    (["--steps", "10", "--epochs", "1"], "give --steps or --epochs, not both"),
    (["--width", "0"], "--width must be > 0, got 0"),
    (["--beta", "1"], "--beta must lie strictly between 0 and 1, got 1"),
    (["--lr", "inf"], "--lr must be a finite number, got inf"),
    (["--cpu-hours", "0"], "--cpu-hours must be > 0, got 0"),
    (["--device", "tpu"], "unknown device 'tpu'; use auto, cpu, cuda, cuda:N or mps"),
    (["--resume"], "--resume needs the --out folder of the run to continue"),
    (["--batch-size", "0"], "Invalid value for '--batch-size'"),  # Typer's range check
])
def test_cli_usage_errors_exit_2_before_any_file_is_read(tmp_path, args, message):
    """A missing dataset would be exit 1: each of these is found before it is read."""
    from typer.testing import CliRunner

    from pianotx.cli import app

    out = [] if "--resume" in args else ["-o", str(tmp_path / "run")]
    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path / "missing"), *args, *out])
    assert result.exit_code == 2 and message in result.output, result.output
    if "Invalid value" not in message:
        assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_train_json_prints_one_summary(tiny_data, tmp_path):
    from typer.testing import CliRunner

    from pianotx.cli import app

    out = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "train", "--data", str(tiny_data), "--model", "fcnn", "--width", "0.25", "--steps", "2",
        "--batch-size", "2", "--segment-seconds", "2", "--workers", "0", "--val-pieces", "1",
        "--cache-dir", str(tmp_path / "cache"), "--device", "cpu", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["run"] == str(out) and summary["steps"] == 2
    assert summary["model"] == str(out / "best.pt") and summary["best_step"] == 2


def test_cli_resume_without_out_is_one_error_line(tiny_data):
    from typer.testing import CliRunner

    from pianotx.cli import app

    result = CliRunner().invoke(app, ["train", "--data", str(tiny_data), "--resume"])
    assert result.exit_code == 2
    assert "--resume needs the --out" in result.output


def test_two_process_gloo_ddp_run_completes(tiny_data, tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--standalone", "-m", "pianotx", "train", "--data", str(tiny_data),
        "--model", "fcnn", "--width", "0.25", "--segment-seconds", "2", "--batch-size", "2",
        "--steps", "2", "--workers", "0", "--val-pieces", "1", "--device", "cpu",
        "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--quiet",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file()
    assert json.loads((out / "config.json").read_text())["world_size"] == 2


def test_cosine_schedule_warms_up_then_decays_once_to_the_floor():
    config = TrainConfig(lr=1e-3, warmup_steps=10, schedule="cosine", min_lr_ratio=0.1)
    lrs = [config.learning_rate(step, 110) for step in range(111)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert lrs[10] == pytest.approx(1e-3)
    assert lrs[60] == pytest.approx(1e-4 + 0.9e-3 * 0.5)  # half way through the decay
    assert lrs[110] == pytest.approx(1e-4)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    constant = TrainConfig(lr=1e-3, warmup_steps=2)
    assert [constant.learning_rate(s, 10) for s in (0, 1, 5)] == pytest.approx([5e-4, 1e-3, 1e-3])


def test_interrupted_cosine_adamw_run_resumes_with_the_same_lrs_and_losses(tiny_data, tmp_path):
    cache = tmp_path / "cache"
    config = tiny_config(tiny_data, cache, steps=6, optimizer="adamw", schedule="cosine",
                         warmup_steps=2, weight_decay=0.05)

    def run(out: Path, *, resume: bool = False, stop_at: int | None = None) -> list[tuple]:
        seen = []

        def on_event(event) -> None:
            if event.kind == "step":
                seen.append((event.step, event.values["lr"], event.values["loss"]))
            if event.kind == "checkpoint" and event.step == stop_at:
                raise KeyboardInterrupt  # the job is stopped right after saving last.pt

        try:
            train(config, out_dir=out, resume=resume, on_event=on_event)
        except KeyboardInterrupt:
            pass
        return seen

    full = run(tmp_path / "full")
    first = run(tmp_path / "cut", stop_at=4)
    rest = run(tmp_path / "cut", resume=True)
    assert [s for s, _, _ in first + rest] == [1, 2, 3, 4, 5, 6]
    assert first + rest == full
    assert [lr for _, lr, _ in full] == pytest.approx(
        [config.learning_rate(step, 6) for step in range(1, 7)])
    with pytest.raises(TrainingError, match="steps .*cosine"):
        train(tiny_config(tiny_data, cache, steps=8, optimizer="adamw", schedule="cosine",
                          warmup_steps=2, weight_decay=0.05), out_dir=tmp_path / "cut", resume=True)


def test_stop_at_ends_early_and_resume_finishes_the_same_schedule(tiny_data, tmp_path):
    cache = tmp_path / "cache"
    kw = dict(steps=5, optimizer="adamw", schedule="cosine", warmup_steps=1, val_pieces=0)

    def lrs_losses(out: Path, *, resume: bool = False, **extra) -> list[tuple]:
        seen = []

        def on_event(event) -> None:
            if event.kind == "step":
                seen.append((event.step, event.values["lr"], event.values["loss"]))

        train(tiny_config(tiny_data, cache, **kw, **extra), out_dir=out, resume=resume,
              on_event=on_event)
        return seen

    full = lrs_losses(tmp_path / "full")
    first = lrs_losses(tmp_path / "cut", stop_at=2)
    assert [s for s, _, _ in first] == [1, 2]
    assert (tmp_path / "cut" / "last.pt").is_file()
    rest = lrs_losses(tmp_path / "cut", resume=True)
    assert first + rest == full
    # CPU and wall time add up across the resume: the log never goes back, and the
    # weights' summary carries the total
    log = [json.loads(line) for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in log if r["kind"] == "train"]
    assert [r["step"] for r in train_rows] == [1, 2, 3, 4, 5]
    for key in ("cpu_h", "wall_h"):
        spent = [r[key] for r in train_rows]
        assert spent == sorted(spent) and spent[0] > 0
    saved = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)
    assert saved["train_summary"]["cpu_h"] >= train_rows[-1]["cpu_h"]
    assert saved["training"]["cpu_s"] == pytest.approx(saved["train_summary"]["cpu_h"] * 3600, abs=1)


def test_val_data_picks_best_and_the_own_split_is_a_second_column(tiny_data, tmp_path):
    out = tmp_path / "run"
    train(tiny_config(tiny_data, tmp_path / "cache", steps=2, val_data=str(tiny_data),
                      val_every=2), out_dir=out)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in records if r["kind"] == "val"]
    assert len(val) == 1
    assert {"frame/f1", "synth/frame/f1"} <= set(val[0])
    assert (out / "best.pt").is_file()


def test_recording_chain_trains_a_tiny_run(tiny_data, tmp_path):
    pytest.importorskip("pedalboard")
    pytest.importorskip("pyroomacoustics")
    losses = losses_of(tiny_config(tiny_data, tmp_path / "cache", steps=2, augment=True,
                                   augment_chain="recording", val_pieces=0, val_every=99),
                       tmp_path / "run")
    assert len(losses) == 2 and all(loss > 0 for loss in losses)


def test_init_from_starts_with_the_checkpoint_weights_and_refuses_another_model(tiny_data, tmp_path):
    import torch

    from pianotx.model.checkpoint import load_checkpoint

    cache = tmp_path / "cache"
    train(tiny_config(tiny_data, cache, steps=2), out_dir=tmp_path / "first")
    first = dict(load_checkpoint(tmp_path / "first" / "last.pt").net.named_parameters())
    warm = tiny_config(tiny_data, cache, steps=1, lr=1e-12,
                       init_from=str(tmp_path / "first" / "last.pt"))
    train(warm, out_dir=tmp_path / "warm")
    after = dict(load_checkpoint(tmp_path / "warm" / "last.pt").net.named_parameters())
    # one step at a vanishing learning rate: the weights are still the checkpoint's
    assert all(torch.allclose(first[k], after[k], atol=1e-6) for k in first)
    fresh = dict(load_checkpoint(tmp_path / "first" / "last.pt").net.named_parameters())
    cold = tiny_config(tiny_data, cache, steps=1, lr=1e-12, seed=1)
    train(cold, out_dir=tmp_path / "cold")
    other = dict(load_checkpoint(tmp_path / "cold" / "last.pt").net.named_parameters())
    assert not all(torch.allclose(fresh[k], other[k], atol=1e-6) for k in fresh)
    with pytest.raises(TrainingError, match="--init-from .* holds another model"):
        train(tiny_config(tiny_data, cache, steps=1, width=0.5,
                          init_from=str(tmp_path / "first" / "last.pt")), out_dir=tmp_path / "bad")


def test_resume_compares_folders_by_where_they_lead(tmp_path):
    from pianotx.config import to_dict
    from pianotx.training.config import TrainConfig, check_resume

    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    saved = to_dict(TrainConfig(data=str(tmp_path / "x" / ".." / "y"), val_data=str(tmp_path)))
    check_resume(saved, TrainConfig(data=str(tmp_path / "y"), val_data=str(tmp_path / "x" / "..")))
    with pytest.raises(TrainingError, match=r"cannot resume: data"):
        check_resume(saved, TrainConfig(data=str(tmp_path / "x"), val_data=str(tmp_path)))


def test_precision_auto_is_bf16_on_cuda_and_cpus_with_native_bf16_only():
    from pianotx.training.config import TrainConfig, resolve_precision

    amx = "processor\t: 0\nflags\t\t: fpu avx512_bf16 amx_bf16 amx_tile\n"
    zen4 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n"
    old = "processor\t: 0\nflags\t\t: fpu avx2 avx512f\nbugs\t\t: avx512_bf16\n"
    assert resolve_precision("auto", "cpu", amx) == "bf16"
    assert resolve_precision("auto", "cpu", zen4) == "bf16"
    assert resolve_precision("auto", "cpu", old) == "fp32"  # only the flags line counts
    assert resolve_precision("auto", "cpu", "") == "fp32"
    assert resolve_precision("auto", "cuda", old) == "bf16"
    assert resolve_precision("auto", "mps", amx) == "fp32"
    assert resolve_precision("bf16", "cpu", old) == "bf16"
    assert resolve_precision("fp32", "cuda", amx) == "fp32"
    with pytest.raises(ConfigError, match="unknown precision"):
        TrainConfig(data="-", precision="fp16")


def test_bf16_run_keeps_snapshots_and_a_harmonic_model_warm_starts_from_a_plain_one(
        tiny_data, tmp_path):
    import torch

    from pianotx.model.checkpoint import load_checkpoint

    cache = tmp_path / "cache"
    plain = dict(trunk="freq", arch="fcnn", heads="full", soft_frames=2)
    train(tiny_config(tiny_data, cache, steps=2, precision="bf16", snapshot_every=1, **plain),
          out_dir=tmp_path / "first")
    snapshots = sorted(p.name for p in (tmp_path / "first").glob("step_*.pt"))
    assert snapshots == ["step_00001.pt", "step_00002.pt"]
    assert load_checkpoint(tmp_path / "first" / "step_00001.pt").metadata["train_summary"]["steps"] == 1
    config = json.loads((tmp_path / "first" / "config.json").read_text())
    assert config["precision"] == "bf16" and config["features"]["logfreq_bands"] == 0
    losses_bf16 = [r["loss"] for r in map(json.loads, (tmp_path / "first" / "metrics.jsonl")
                                          .read_text().splitlines()) if r["kind"] == "train"]
    assert losses_bf16 and all(0 < loss < 10 for loss in losses_bf16)
    first = load_checkpoint(tmp_path / "first" / "last.pt")
    train(tiny_config(tiny_data, cache, steps=1, lr=1e-12, harmonic=True,
                      init_from=str(tmp_path / "first" / "last.pt"), **plain),
          out_dir=tmp_path / "warm")
    warm = load_checkpoint(tmp_path / "warm" / "last.pt")
    assert warm.model_config.harmonic and warm.feature_config.logfreq_bands == 99
    shared = dict(first.net.named_parameters())
    after = dict(warm.net.named_parameters())
    assert all(torch.allclose(shared[k], after[k], atol=1e-6) for k in shared)
    with pytest.raises(TrainingError, match="holds another model"):  # not the other way
        train(tiny_config(tiny_data, cache, steps=1, init_from=str(tmp_path / "warm" / "last.pt"),
                          **plain), out_dir=tmp_path / "back")


def test_cpu_hours_ends_the_invocation_once_spent_and_resume_goes_on(tiny_data, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "run"
    # any step spends more than a nanohour: the budget ends the run after its first step
    steps = losses_of(tiny_config(tiny_data, cache, val_pieces=0, cpu_hours=1e-12), out)
    assert len(steps) == 1
    saved = torch.load(out / "last.pt", weights_only=False)
    assert saved["training"]["step"] == 1 and saved["training"]["cpu_s"] > 0
    rest = losses_of(tiny_config(tiny_data, cache, val_pieces=0), out, resume=True)
    assert len(rest) == 5
    with pytest.raises(ConfigError, match="--cpu-hours must be > 0"):
        tiny_config(tiny_data, cache, cpu_hours=0)


def test_val_pieces_may_change_on_resume_only_where_it_does_not_pick_best():
    from pianotx.config import to_dict
    from pianotx.training.config import check_resume

    with_val = dict(data="d", val_data="maps", val_pieces=0)
    check_resume(to_dict(TrainConfig(**with_val)), TrainConfig(**{**with_val, "val_pieces": 4}))
    with pytest.raises(TrainingError, match=r"val_pieces \(0 -> 4\)"):
        check_resume(to_dict(TrainConfig(data="d", val_pieces=0)), TrainConfig(data="d", val_pieces=4))


def test_run_folder_check_allows_only_a_run_stopped_before_its_first_checkpoint(tmp_path):
    from pianotx.training.runfolder import check_folder

    out = tmp_path / "run"
    check_folder(out, resume=False)
    assert not out.exists()  # checks only; the folder comes once the inputs are checked
    out.mkdir()
    for name in ("config.json", "metrics.jsonl", "metrics.csv", ".last.pt.x1y2.part"):
        (out / name).write_text("{}")
    check_folder(out, resume=False)
    with pytest.raises(TrainingError, match=r"^nothing to resume: .*last.pt does not exist; the run "
                                            r"stopped before its first checkpoint; drop --resume"):
        check_folder(out, resume=True)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"^run folder .*run is not empty \(notes.txt\) and holds "
                                          r"no last.pt to resume; choose another --out or empty it$"):
        check_folder(out, resume=False)
    with pytest.raises(TrainingError, match=r"it holds notes.txt: choose another --out$"):
        check_folder(out, resume=True)
    with pytest.raises(OutputError, match=r"^run folder .*notes.txt is a file; choose another --out$"):
        check_folder(out / "notes.txt", resume=False)


def test_a_run_interrupted_before_its_first_checkpoint_starts_again(tiny_data, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "run"

    def stop(event) -> None:
        if event.kind == "step":
            raise KeyboardInterrupt  # Ctrl-C during step 1: no last.pt yet

    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(tiny_data, cache, steps=4, ckpt_every=100), out_dir=out, on_event=stop)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "metrics.csv", "metrics.jsonl"]
    assert losses_of(tiny_config(tiny_data, cache, steps=1), out) and (out / "last.pt").is_file()
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
            if '"train"' in line] == [1]


def test_a_refused_run_leaves_no_folder(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pianotx.cli import app
    from pianotx.errors import DatasetError

    with pytest.raises(DatasetError, match="dataset folder not found"):
        train(tiny_config(tmp_path / "nope", tmp_path / "cache"), out_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["train", "--data", "nope", "--model", "fcnn"])
    assert result.exit_code == 1 and "dataset folder not found: nope" in result.output
    assert not (tmp_path / "runs").exists()


def _copy_with(tiny_data: Path, tmp_path: Path, name: str, content: bytes) -> Path:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(tiny_data, root)
    (root / name).write_bytes(content)
    return root


@pytest.mark.parametrize("name, message", [
    ("clip3.mid", r"^validation piece 'clip 3': cannot read .*clip3.mid as MIDI"),
    ("clip3.wav", r"^validation piece 'clip 3': cannot read audio file .*clip3.wav"),
])
def test_a_damaged_validation_file_stops_the_run_before_step_one(tiny_data, tmp_path, name, message):
    from pianotx.errors import DatasetError

    root = _copy_with(tiny_data, tmp_path, name, b"damaged")
    events = []
    with pytest.raises(DatasetError, match=message):
        train(tiny_config(root, tmp_path / "cache"), out_dir=tmp_path / "run", on_event=events.append)
    assert events == [] and not (tmp_path / "run").exists()
    with pytest.raises(DatasetError, match=message):  # the same with --val-data
        train(tiny_config(tiny_data, tmp_path / "cache", val_data=str(root)),
              out_dir=tmp_path / "run")


def test_last_pt_is_saved_before_validating_and_knows_the_new_best(tiny_data, tmp_path, monkeypatch):
    import pianotx.evaluation.evaluate
    from pianotx.errors import DatasetError

    cache = tmp_path / "cache"
    train(tiny_config(tiny_data, cache, steps=2, val_every=2), out_dir=tmp_path / "ok")
    saved = torch.load(tmp_path / "ok" / "last.pt", weights_only=True)["training"]
    assert (saved["step"], saved["best_step"]) == (2, 2) and saved["best_score"] >= 0

    def broken(*args, **kwargs):
        raise DatasetError("validation failed")

    monkeypatch.setattr(pianotx.evaluation.evaluate, "evaluate_model", broken)
    with pytest.raises(DatasetError, match="validation failed"):
        train(tiny_config(tiny_data, cache, steps=2, val_every=2), out_dir=tmp_path / "run")
    saved = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["training"]
    assert (saved["step"], saved["best_step"]) == (2, 0)  # steps kept, no best yet
    assert not (tmp_path / "run" / "best.pt").exists()


def test_non_finite_weights_are_never_saved(tiny_data, tmp_path, monkeypatch):
    import pianotx.training.loop
    from pianotx.model.checkpoint import load_checkpoint

    real = pianotx.training.loop.train_step

    def poisoning_step(run, batch):
        result = real(run, batch)
        if run.step == 2:  # the update of step 3 (counted after this returns) breaks the weights
            with torch.no_grad():
                next(run.model.parameters()).fill_(float("inf"))
        return result

    monkeypatch.setattr(pianotx.training.loop, "train_step", poisoning_step)
    out = tmp_path / "run"
    with pytest.raises(TrainingError, match=r"^training diverged at step 3: 1 weight tensor\(s\) hold "
                                            r"NaN or infinity \(first .*\); nothing saved, the "
                                            r"previous checkpoint stays; lower --lr \(now 0.003\)"):
        train(tiny_config(tiny_data, tmp_path / "cache", steps=3, val_every=99), out_dir=out)
    assert load_checkpoint(out / "last.pt").metadata["train_summary"]["steps"] == 2
    assert not (out / "best.pt").exists()


def test_init_from_errors_name_the_option(tiny_data, tmp_path):
    from pianotx.errors import CheckpointError

    cache = tmp_path / "cache"
    with pytest.raises(CheckpointError, match=r"^--init-from: checkpoint not found: .*none.pt; "
                                              r"check the path$"):
        train(tiny_config(tiny_data, cache, init_from=str(tmp_path / "none.pt")),
              out_dir=tmp_path / "run")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    with pytest.raises(CheckpointError, match=r"^--init-from .*model.onnx is an ONNX export; give "
                                              r"the .pt checkpoint it was exported from$"):
        train(tiny_config(tiny_data, cache, init_from=str(tmp_path / "model.onnx")),
              out_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_an_empty_train_split_of_pairs_explains_the_hash_split(tmp_path):
    from pianotx.errors import DatasetError

    root = tmp_path / "pairs"
    root.mkdir()
    notes = tone_notes(seed=0, n_notes=2)
    sf.write(root / "take10.wav", render_tones(notes), SR)  # "take10" hashes into the test split
    write_midi(notes_to_midi(notes), root / "take10.mid")
    with pytest.raises(DatasetError, match=r"^the train split of .*pairs is empty: its 1 audio/MIDI "
                                           r"pair\(s\) are split by a hash of each file stem"):
        train(tiny_config(root, tmp_path / "cache"), out_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
