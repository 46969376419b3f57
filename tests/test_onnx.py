"""The torch-free engine: the NumPy log-mel, ONNX export, ONNX Runtime rolls equal to
torch's, stale exports refused, the engine choice, and no torch import on its path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pianotx.model.checkpoint import checkpoint_dict, load_checkpoint, save_checkpoint
from pianotx.config import DecodeConfig, FeatureConfig, ModelConfig
from pianotx.errors import CheckpointError, ConfigError
from pianotx.audio.features import LogMel
from pianotx.model.networks import build_model
from pianotx.audio.spectrum import log_mel

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def test_numpy_log_mel_equals_the_torch_front_end():
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((3, 99 * 160 + 2048))).astype(np.float32)
    audio[1] = 0.0  # silence: log of the floor, not -inf
    want = LogMel()(torch.from_numpy(audio), center=False).numpy()
    got = log_mel(audio, FeatureConfig())
    assert got.shape == want.shape == (3, 100, 229) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert np.all(got[1] == np.float32(np.log(1e-5)))
    harmonic = FeatureConfig(logfreq_bands=99)
    want = LogMel(harmonic)(torch.from_numpy(audio), center=False).numpy()
    got = log_mel(audio, harmonic)
    assert got.shape == want.shape == (3, 100, 229 + 99)
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.fixture(scope="module")
def note_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained small note FCNN with non-trivial BatchNorm statistics."""
    torch.manual_seed(0)
    config = ModelConfig(arch="fcnn", heads="full", trunk="freq", width=0.5, hidden=32,
                         head_kernel=5, soft_frames=2)
    net = build_model(config).eval()
    for module in net.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    path = tmp_path_factory.mktemp("onnx") / "note.pt"
    save_checkpoint(path, checkpoint_dict(net, model_config=config, feature_config=FeatureConfig(),
                                          decode_config=DecodeConfig()))
    return path


@pytest.fixture(scope="module")
def options_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small note FCNN with the difference input, the dilated head and the harmonic view
    (its projection made non-zero, so the branch counts)."""
    torch.manual_seed(1)
    config = ModelConfig(arch="fcnn", heads="full", trunk="freq", width=0.5, hidden=32,
                         diff_input=True, temporal_head="dilated", harmonic=True)
    net = build_model(config).eval()
    for module in net.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    torch.nn.init.normal_(net.trunk.harmonic.project.weight, std=0.05)
    path = tmp_path_factory.mktemp("onnx") / "options.pt"
    save_checkpoint(path, checkpoint_dict(net, model_config=config,
                                          feature_config=config.feature_config(),
                                          decode_config=DecodeConfig()))
    return path


def _export(path: Path) -> Path:
    from pianotx.model.export import export_onnx

    target = path.with_suffix(".onnx")
    result = export_onnx(load_checkpoint(path), target, overwrite=True)
    assert result["max_abs_diff"] < 1e-4 and target.stat().st_size == result["bytes"]
    return target


@pytest.mark.parametrize("fixture", ["note_checkpoint", "options_checkpoint"])
def test_onnx_rolls_equal_the_torch_rolls(fixture, request):
    from pianotx.api import load_model
    from pianotx.engine.torch_engine import stream_rolls
    from pianotx.engine.onnx_engine import OnnxModel, stream_onnx_rolls

    note_checkpoint = request.getfixturevalue(fixture)
    _export(note_checkpoint)
    audio = (0.1 * np.random.default_rng(1).standard_normal(16_000 * 25)).astype(np.float32)
    fast = load_model(note_checkpoint, engine="onnx")
    plain = load_model(note_checkpoint, engine="torch", device="cpu")
    assert isinstance(fast, OnnxModel) and fast.model_config == plain.model_config
    blocks = [audio[i : i + 40_000] for i in range(0, len(audio), 40_000)]
    got = list(stream_onnx_rolls(fast, blocks, batch_size=2))
    want = list(stream_rolls(plain, blocks, batch_size=2))
    assert [first for first, _ in got] == [first for first, _ in want]
    for (_, a), (_, b) in zip(got, want):
        assert set(a) == {"frame", "onset", "offset", "velocity", "pedal"}
        for name in a:
            np.testing.assert_allclose(a[name], b[name], atol=1e-4)


def test_diff_input_dilated_head_and_harmonic_view_export(options_checkpoint):
    import onnxruntime as ort

    loaded = load_checkpoint(options_checkpoint)
    session = ort.InferenceSession(str(_export(options_checkpoint)),
                                   providers=["CPUExecutionProvider"])
    mel = np.random.default_rng(2).normal(-4.0, 2.0, (2, 37, 229 + 99)).astype(np.float32)
    got = session.run(["onset", "pedal"], {"mel": mel})
    with torch.no_grad():
        want = loaded.net.eval()(torch.from_numpy(mel))
    for name, a in zip(("onset", "pedal"), got):
        np.testing.assert_allclose(a, torch.sigmoid(want[name]).numpy(), atol=1e-4)


def test_a_stale_or_foreign_export_is_refused(note_checkpoint, tmp_path):
    from pianotx.engine.onnx_engine import load_onnx

    exported = _export(note_checkpoint)
    other = tmp_path / "note.pt"
    other.write_bytes(note_checkpoint.read_bytes() + b"\0")
    with pytest.raises(CheckpointError, match="exported from another version"):
        load_onnx(exported, checkpoint=other)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not an ONNX model exported by pianotx"):
        load_onnx(junk)


def test_engine_choice(note_checkpoint, tmp_path):
    from pianotx.engine.onnx_engine import choose_engine

    _export(note_checkpoint)
    lonely = tmp_path / "lonely.pt"
    assert choose_engine("auto", "cpu", note_checkpoint) == "onnx"
    assert choose_engine("auto", "cuda", note_checkpoint) == "torch"
    assert choose_engine("torch", "cpu", note_checkpoint) == "torch"
    assert choose_engine("auto", "cpu", lonely) == "torch"
    with pytest.raises(ConfigError, match="does not exist; make it with pianotx export"):
        choose_engine("onnx", "cpu", lonely)
    with pytest.raises(ConfigError, match="CPU only"):
        choose_engine("onnx", "cuda", note_checkpoint)
    with pytest.raises(ConfigError, match="unknown engine"):
        choose_engine("tpu", "cpu", note_checkpoint)


def test_the_onnx_path_never_imports_torch(note_checkpoint):
    _export(note_checkpoint)
    code = (
        "import sys, numpy as np, pianotx\n"
        f"m = pianotx.load_model({str(note_checkpoint)!r}, engine='onnx')\n"
        "a = (0.1 * np.random.default_rng(0).standard_normal(48000)).astype('float32')\n"
        "pianotx.transcribe(a, 16000, model=m)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_export_command(note_checkpoint, tmp_path):
    from typer.testing import CliRunner

    from pianotx.cli import app

    runner = CliRunner()
    target = tmp_path / "x.onnx"
    result = runner.invoke(app, ["export", str(note_checkpoint), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 10_000 and "largest difference from torch" in result.output
    again = runner.invoke(app, ["export", str(note_checkpoint), "-o", str(target)])
    assert again.exit_code == 1 and "--overwrite" in again.output
    missing = runner.invoke(app, ["export", str(tmp_path / "none.pt"), "-o", str(target)])
    assert missing.exit_code == 1 and "none.pt" in missing.output


def test_export_checks_its_output_before_exporting(note_checkpoint, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pianotx.cli import app

    def never(*args, **kwargs):
        raise AssertionError("exported before the output was checked")

    monkeypatch.setattr("pianotx.model.export.export_onnx", never)
    (tmp_path / "x.ONNX").write_bytes(b"keep")
    result = CliRunner().invoke(app, ["export", str(note_checkpoint), "-o", str(tmp_path / "x.ONNX")])
    assert result.exit_code == 1 and "x.ONNX already exists; pass --overwrite" in result.output
    assert (tmp_path / "x.ONNX").read_bytes() == b"keep"


@pytest.mark.parametrize("args,code,message", [
    (["--format", "onnx"], 2, "No such option: --format"),  # export's only usage errors are Click's
    (["-o", "x.txt"], 1, "error: output x.txt must end in .onnx\n"),  # an output's name, as for every -o
])
def test_export_option_errors_come_before_the_model_loads(tmp_path, monkeypatch, args, code, message):
    from typer.testing import CliRunner

    import pianotx.api
    from pianotx.cli import app

    def never(*args, **kwargs):
        raise AssertionError("the model was loaded before an option error")

    monkeypatch.setattr(pianotx.api, "load_model", never)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["export", "fcnn", *args])
    assert result.exit_code == code and message in result.output, result.output
    assert list(tmp_path.iterdir()) == []
