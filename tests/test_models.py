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
@pytest.mark.parametrize("heads,trunk", [("frame", "paper"), ("notes", "paper"), ("full", "freq")])
@pytest.mark.parametrize("n_frames", [1, 7, 101, 1001])
def test_forward_any_length(arch, heads, trunk, n_frames):
    config = ModelConfig(arch=arch, heads=heads, trunk=trunk, width=0.25, hidden=16)
    net = build_model(config).eval()
    with torch.no_grad():
        out = net(torch.randn(2, n_frames, 229))
    names = {"frame": ("frame",), "notes": ("frame", "onset", "offset", "velocity"),
             "full": ("frame", "onset", "offset", "velocity", "pedal")}[heads]
    assert tuple(out) == names
    assert all(v.shape == (2, n_frames, 1 if k == "pedal" else 88) for k, v in out.items())


def test_freq_trunk_keeps_time_resolution():
    """A click in one frame moves the freq-trunk FCNN's outputs only within its receptive
    field (four 3x3 convs: +-4 frames, two kernel-5 head layers: +-4), never more."""
    net = build_model(ModelConfig(arch="fcnn", heads="full", trunk="freq", width=0.25,
                                  hidden=16, head_kernel=5)).eval()
    base = torch.zeros(1, 50, 229)
    click = base.clone()
    click[0, 25] = 1.0
    with torch.no_grad():
        diff = (net(click)["onset"] - net(base)["onset"]).abs().sum(-1)[0]
    changed = torch.nonzero(diff > 1e-6).flatten().tolist()
    assert changed == list(range(25 - 8, 25 + 9))


def test_width_scales_and_bad_configs():
    small = count_parameters(build_model(ModelConfig(arch="crnn", width=0.25)))
    large = count_parameters(build_model(ModelConfig(arch="crnn", width=2.0)))
    assert small < 384_810 < large
    with pytest.raises(ConfigError, match="unknown architecture"):
        ModelConfig(arch="transformer")
    with pytest.raises(ConfigError, match="unknown head set"):
        ModelConfig(heads="pedal")
