"""Checkpoints load strictly and safely; every bad file gives a clear error."""

from __future__ import annotations

import torch
import pytest

from pianotx.model.checkpoint import (
    checkpoint_dict, load_checkpoint, read_checkpoint, save_checkpoint, save_decode_defaults,
)
from pianotx.config import DecodeConfig, FeatureConfig, ModelConfig
from pianotx.errors import CheckpointError
from pianotx.model.networks import build_model

CFG = ModelConfig(arch="crnn", width=0.25)


def make(path, *, half=False, config=CFG):
    net = build_model(config)
    data = checkpoint_dict(net, model_config=config, feature_config=FeatureConfig(),
                           decode_config=DecodeConfig(), train_summary={"steps": 3}, half=half)
    save_checkpoint(path, data)
    return net


@pytest.mark.parametrize("half", [False, True])
def test_round_trip(tmp_path, half):
    net = make(tmp_path / "m.pt", half=half)
    loaded = load_checkpoint(tmp_path / "m.pt")
    assert loaded.model_config == CFG and loaded.name == "m"
    for (k, a), (_, b) in zip(net.state_dict().items(), loaded.net.state_dict().items()):
        assert torch.allclose(a.float(), b.float(), atol=1e-2 if half else 0), k
    assert loaded.metadata["train_summary"] == {"steps": 3}


def test_decode_defaults_saved(tmp_path):
    make(tmp_path / "m.pt")
    save_decode_defaults(tmp_path / "m.pt", DecodeConfig(frame_threshold=0.3))
    assert load_checkpoint(tmp_path / "m.pt").decode_config.frame_threshold == 0.3


def test_missing_truncated_foreign(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        read_checkpoint(tmp_path / "none.pt")
    make(tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot read .*cut.pt as a pianotx checkpoint"):
        read_checkpoint(tmp_path / "cut.pt")
    torch.save({"model": build_model(CFG).state_dict()}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="is not a pianotx checkpoint"):
        read_checkpoint(tmp_path / "other.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match=r"cannot read .*text.pt as a pianotx checkpoint( \([^)]*[a-z]\))?; is it") as error:
        read_checkpoint(tmp_path / "text.pt")
    assert len(str(error.value)) < 300  # torch's long text cut at its first sentence, not mid-word
    with pytest.raises(CheckpointError, match="is a folder; give the .pt file in it"):
        read_checkpoint(tmp_path)
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    with pytest.raises(CheckpointError, match="m.onnx is an ONNX export; give the .pt checkpoint"):
        read_checkpoint(tmp_path / "m.onnx")


def test_non_finite_weights_are_refused(tmp_path):
    net = build_model(CFG)
    first = next(iter(net.state_dict()))
    with torch.no_grad():
        net.state_dict()[first].view(-1)[0] = float("nan")
    save_checkpoint(tmp_path / "nan.pt", checkpoint_dict(net, model_config=CFG, feature_config=FeatureConfig(),
                                                        decode_config=DecodeConfig()))
    with pytest.raises(CheckpointError, match=f"non-finite weights \\(1 tensors, first {first}\\)"):
        load_checkpoint(tmp_path / "nan.pt")


def test_pickled_objects_are_refused(tmp_path):
    torch.save({"pianotx_format": 1, "evil": ModelConfig()}, tmp_path / "obj.pt")
    with pytest.raises(CheckpointError, match="cannot read"):
        read_checkpoint(tmp_path / "obj.pt")


def test_wrong_architecture_is_strict(tmp_path):
    make(tmp_path / "m.pt")
    data = torch.load(tmp_path / "m.pt", weights_only=True)
    data["model_config"]["arch"] = "fcnn"
    torch.save(data, tmp_path / "wrong.pt")
    with pytest.raises(CheckpointError, match="does not match its architecture"):
        load_checkpoint(tmp_path / "wrong.pt")
    data["model_config"]["arch"] = "rnn"
    torch.save(data, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="invalid metadata"):
        load_checkpoint(tmp_path / "bad.pt")
    data["pianotx_format"] = 99
    torch.save(data, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="format 99"):
        load_checkpoint(tmp_path / "future.pt")


def test_features_that_do_not_feed_the_model_are_refused(tmp_path):
    config = ModelConfig(arch="fcnn", heads="full", trunk="freq", width=0.25, hidden=16,
                         harmonic=True)
    path = tmp_path / "m.pt"
    save_checkpoint(path, checkpoint_dict(build_model(config), model_config=config,
                                          feature_config=FeatureConfig(),
                                          decode_config=DecodeConfig()))
    with pytest.raises(CheckpointError, match="0 log-frequency bands but its model reads 99"):
        load_checkpoint(path)
