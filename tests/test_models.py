"""The paper's two architectures: sizes, shapes on odd lengths, heads."""

from __future__ import annotations

import pytest
import torch

from pianotx.config import ModelConfig
from pianotx.errors import ConfigError
from pianotx.models import build_model, count_parameters

PAPER = {"fcnn": 321_544, "crnn": 384_552}


@pytest.mark.parametrize("arch,expected", [("fcnn", 321_802), ("crnn", 384_810)])
def test_paper_sizes(arch, expected):
    count = count_parameters(build_model(ModelConfig(arch=arch)))
    assert count == expected
    assert abs(count - PAPER[arch]) / PAPER[arch] < 0.002  # 458 input-norm params, 200 fewer elsewhere


@pytest.mark.parametrize("arch", ["fcnn", "crnn"])
@pytest.mark.parametrize("heads", ["frame", "notes"])
@pytest.mark.parametrize("n_frames", [1, 7, 101, 1001])
def test_forward_any_length(arch, heads, n_frames):
    net = build_model(ModelConfig(arch=arch, heads=heads, width=0.25)).eval()
    with torch.no_grad():
        out = net(torch.randn(2, n_frames, 229))
    names = ("frame",) if heads == "frame" else ("frame", "onset", "offset", "velocity")
    assert tuple(out) == names
    assert all(v.shape == (2, n_frames, 88) for v in out.values())


def test_width_scales_and_bad_configs():
    small = count_parameters(build_model(ModelConfig(arch="crnn", width=0.25)))
    large = count_parameters(build_model(ModelConfig(arch="crnn", width=2.0)))
    assert small < 384_810 < large
    with pytest.raises(ConfigError, match="unknown architecture"):
        ModelConfig(arch="transformer")
    with pytest.raises(ConfigError, match="unknown head set"):
        ModelConfig(heads="pedal")
