"""The paper's two architectures: sizes, shapes on odd lengths, heads."""

from __future__ import annotations

import pytest
import torch

from pianotx.config import ModelConfig
from pianotx.errors import ConfigError
from pianotx.model.networks import build_model, count_parameters

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
    torch.manual_seed(0)  # a random init can leave an edge frame's change under 1e-6
    net = build_model(ModelConfig(arch="fcnn", heads="full", trunk="freq", width=0.25,
                                  hidden=16, head_kernel=5)).eval()
    base = torch.zeros(1, 50, 229)
    click = base.clone()
    click[0, 25] = 1.0
    with torch.no_grad():
        diff = (net(click)["onset"] - net(base)["onset"]).abs().sum(-1)[0]
    changed = torch.nonzero(diff > 1e-6).flatten().tolist()
    assert changed == list(range(25 - 8, 25 + 9))


@pytest.mark.parametrize("diff_input", [False, True])
@pytest.mark.parametrize("temporal_head", ["plain", "dilated"])
def test_receptive_frames_is_the_measured_field(diff_input, temporal_head):
    """Perturbing one input frame changes exactly the output frames receptive_frames
    predicts: symmetric, except that the time difference reaches one frame further back
    (so an input frame also moves the output frame just past the field's right edge)."""
    from pianotx.engine.windows import receptive_frames

    config = ModelConfig(arch="fcnn", heads="full", trunk="freq", width=0.25, hidden=16,
                         head_kernel=5, diff_input=diff_input, temporal_head=temporal_head)
    torch.manual_seed(0)
    net = build_model(config).eval()
    field = receptive_frames(config)
    assert field == 4 + (15 if temporal_head == "dilated" else 4) + diff_input
    base = torch.randn(1, 80, 229)
    moved = base.clone()
    moved[0, 40] += 5.0 * torch.randn(229)
    with torch.no_grad():
        a, b = net(base), net(moved)
    diff = sum((a[k] - b[k]).abs().sum(-1)[0] for k in a)
    changed = torch.nonzero(diff > 1e-6).flatten().tolist()
    back = field - diff_input  # context on the right of an output frame
    assert changed == list(range(40 - back, 40 + field + 1))


def test_old_configs_build_todays_model():
    from pianotx.config import from_dict, to_dict

    config = ModelConfig(arch="fcnn", heads="full", trunk="freq", hidden=16, head_kernel=5)
    old = {k: v for k, v in to_dict(config).items() if k not in ("diff_input", "temporal_head")}
    assert from_dict(ModelConfig, old) == config
    keys = set(build_model(config).state_dict())
    assert {k for k in keys if k.startswith("head.")} == {
        "head.conv1.weight", "head.conv1.bias", "head.conv2.weight", "head.conv2.bias",
        "head.out.weight", "head.out.bias"}
    assert build_model(config).trunk.convs[0][0].in_channels == 1


def test_width_scales_and_bad_configs():
    small = count_parameters(build_model(ModelConfig(arch="crnn", width=0.25)))
    large = count_parameters(build_model(ModelConfig(arch="crnn", width=2.0)))
    assert small < 384_810 < large
    with pytest.raises(ConfigError, match="unknown architecture"):
        ModelConfig(arch="transformer")
    with pytest.raises(ConfigError, match="unknown head set"):
        ModelConfig(heads="pedal")
    with pytest.raises(ConfigError, match="unknown temporal head"):
        ModelConfig(arch="fcnn", trunk="freq", temporal_head="wavenet")
    with pytest.raises(ConfigError, match="needs arch='fcnn' and trunk='freq'"):
        ModelConfig(arch="crnn", trunk="freq", temporal_head="dilated")
    with pytest.raises(ConfigError, match="diff_input needs trunk='freq'"):
        ModelConfig(arch="fcnn", diff_input=True)


@pytest.mark.parametrize("diff_input,temporal_head", [(False, "plain"), (True, "dilated")])
def test_inference_copy_folds_batchnorm_and_gives_the_same_outputs(diff_input, temporal_head):
    from pianotx.model.freqnet import FreqPool, for_inference

    torch.manual_seed(0)
    net = build_model(ModelConfig(arch="fcnn", heads="full", trunk="freq", width=0.5,
                                  hidden=32, head_kernel=5, diff_input=diff_input,
                                  temporal_head=temporal_head))
    for module in net.modules():  # non-trivial BatchNorm statistics
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    net.eval()
    fast = for_inference(net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.trunk.convs.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # original kept
    x = torch.randn(2, 203, 229)
    with torch.no_grad():
        slow_out, fast_out = net(x), fast(x)
    for name in slow_out:
        torch.testing.assert_close(fast_out[name], slow_out[name], atol=1e-4, rtol=1e-4)
    h = torch.randn(2, 3, 229, 5)
    torch.testing.assert_close(FreqPool()(h), torch.nn.MaxPool2d((2, 1))(h), atol=0, rtol=0)


def _impulse_response(model: torch.nn.Module, start: int, n_frames: int = 256) -> torch.Tensor:
    mel = torch.zeros(1, n_frames, 229)
    mel[0, start:start + 2, 40:80] = 3.0  # a two-frame burst
    with torch.no_grad():
        return model(mel)["frame"][0]  # (n_frames, 88)


@pytest.mark.parametrize("align, keeps_time", [("pad", True), ("resize", False)])
def test_paper_fcnn_impulse_stays_at_its_frame_anywhere_in_the_window(align, keeps_time):
    """The same burst early and late in a window gives the same response, shifted with it
    (shifts of 4 frames: the trunk pools time twice); the pre-0.3 resized head warped it."""
    torch.manual_seed(0)
    config = ModelConfig(arch="fcnn", width=0.25, head_align=align)
    model = build_model(config).eval()
    early, late = _impulse_response(model, 60), _impulse_response(model, 180)
    same = torch.allclose(early[30:100], late[150:220], atol=1e-5)
    assert same == keeps_time
    assert (early[30:100] - early[0]).abs().max() > 1e-3  # the burst is in the view


def test_checkpoints_before_head_align_keep_the_resized_head():
    from pianotx.config import model_config_from_dict, to_dict

    stored = {k: v for k, v in to_dict(ModelConfig(arch="fcnn")).items() if k != "head_align"}
    assert model_config_from_dict(stored).head_align == "resize"
    assert ModelConfig(arch="fcnn").head_align == "pad"
    # the frequency-pooling trunk has no head alignment: its old checkpoints are today's net,
    # so a shipped one can warm-start a new run of the same model
    freq = {k: v for k, v in to_dict(ModelConfig(arch="fcnn", trunk="freq")).items()
            if k != "head_align"}
    assert model_config_from_dict(freq) == ModelConfig(arch="fcnn", trunk="freq")
    with pytest.raises(ConfigError, match="head_align"):
        ModelConfig(head_align="stretch")


def test_harmonic_stack_puts_each_partial_on_its_key():
    from pianotx.config import HARMONIC_OFFSETS
    from pianotx.model.freqnet import harmonic_stack

    bands = torch.arange(1.0, 100.0).reshape(1, 1, 99, 1)  # band b holds b + 1
    stacked = harmonic_stack(bands)[0, :, :, 0]  # (offsets, 88)
    assert stacked.shape == (len(HARMONIC_OFFSETS), 88)
    octave, below = HARMONIC_OFFSETS.index(12), HARMONIC_OFFSETS.index(-12)
    assert stacked[HARMONIC_OFFSETS.index(0)].tolist() == list(range(1, 89))
    assert stacked[octave, 0].item() == 13 and stacked[octave, 86].item() == 99
    assert stacked[octave, 87].item() == 0  # above the last band
    assert stacked[below, :12].tolist() == [0] * 12 and stacked[below, 12].item() == 1


def test_harmonic_view_starts_silent_and_then_hears():
    """With its zero projection the branch adds nothing, so a model warm-started without
    it predicts as before; once the projection moves, the log-frequency bands count."""
    config = ModelConfig(arch="fcnn", heads="full", trunk="freq", width=0.25, hidden=16,
                         head_kernel=5)
    torch.manual_seed(0)
    plain = build_model(config).eval()
    harmonic = build_model(ModelConfig(**{**config.__dict__, "harmonic": True})).eval()
    result = harmonic.load_state_dict(plain.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert result.missing_keys and all(k.startswith("trunk.harmonic.") for k in result.missing_keys)
    features = torch.randn(2, 40, 229 + 99)
    with torch.no_grad():
        before, after = plain(features[..., :229]), harmonic(features)
        torch.testing.assert_close(after["onset"], before["onset"], atol=1e-6, rtol=0)
        torch.nn.init.normal_(harmonic.trunk.harmonic.project.weight)
        moved = harmonic(features)
        features[..., 229:] += 1.0
        assert not torch.allclose(moved["onset"], harmonic(features)["onset"])
    with pytest.raises(ConfigError, match="harmonic needs trunk='freq'"):
        ModelConfig(arch="fcnn", harmonic=True)
