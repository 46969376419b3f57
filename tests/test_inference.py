"""Windowed inference equals one pass over the whole file; device choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pianotx.model.checkpoint import LoadedModel
from pianotx.config import DecodeConfig, FeatureConfig, ModelConfig
from pianotx.errors import ConfigError
from pianotx.audio.features import LogMel
from pianotx.engine.torch_engine import pick_device, predict_rolls, window_starts


class PerFrame(torch.nn.Module):
    """Each output frame depends only on its own input frame, so windows must not matter."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(229, 88)

    def forward(self, mel: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"frame": self.linear(mel)}


def per_frame_model() -> LoadedModel:
    return LoadedModel(PerFrame(), ModelConfig(heads="frame"), FeatureConfig(), DecodeConfig(), "test")


@pytest.mark.parametrize("n_samples", [1, 1600, 159_999, 160_000, 411_111])
def test_windows_stitch_to_the_whole(n_samples):
    audio = (0.1 * np.random.default_rng(1).standard_normal(n_samples)).astype(np.float32)
    model = per_frame_model()
    got = predict_rolls(model, audio, batch_size=3, window_frames=400)["frame"]
    with torch.no_grad():
        expected = torch.sigmoid(model.net(LogMel()(torch.from_numpy(audio)[None]))["frame"])[0]
    assert got.shape == (1 + n_samples // 160, 88)
    np.testing.assert_allclose(got, expected.numpy(), atol=2e-5)


@pytest.mark.parametrize("n_samples", [1, 60_000, 411_111])
def test_freq_fcnn_windows_with_small_margins_equal_the_whole(n_samples):
    from pianotx.engine.torch_engine import window_margin
    from pianotx.model.networks import build_model

    config = ModelConfig(arch="fcnn", heads="full", trunk="freq", width=0.25, hidden=16,
                         head_kernel=5)
    torch.manual_seed(0)
    model = LoadedModel(build_model(config).eval(), config, FeatureConfig(), DecodeConfig(), "t")
    assert window_margin(config, 400) == 16  # receptive field 8 frames, twice that dropped
    audio = (0.1 * np.random.default_rng(2).standard_normal(n_samples)).astype(np.float32)
    got = predict_rolls(model, audio, batch_size=3, window_frames=400)
    with torch.no_grad():
        whole = model.net(LogMel()(torch.from_numpy(audio)[None]))
    # The first and last 8 frames differ by design: windows see silence past the file's
    # ends, a single pass sees the convolutions' zero padding.
    inner = slice(8, -8)
    for name in ("onset", "pedal"):
        expected = torch.sigmoid(whole[name])[0].numpy()
        assert got[name].shape == expected.shape
        np.testing.assert_allclose(got[name][inner], expected[inner], atol=2e-5)


@pytest.mark.parametrize("n_samples", [60_000, 411_111])
def test_dilated_diff_fcnn_windows_equal_the_whole(n_samples):
    from pianotx.engine.torch_engine import window_margin
    from pianotx.model.networks import build_model

    config = ModelConfig(arch="fcnn", heads="full", trunk="freq", width=0.25, hidden=16,
                         diff_input=True, temporal_head="dilated")
    torch.manual_seed(0)
    model = LoadedModel(build_model(config).eval(), config, FeatureConfig(), DecodeConfig(), "t")
    assert window_margin(config, 400) == 40  # receptive field 4 + 15 + 1 frames
    audio = (0.1 * np.random.default_rng(2).standard_normal(n_samples)).astype(np.float32)
    got = predict_rolls(model, audio, batch_size=3, window_frames=400)
    with torch.no_grad():
        whole = model.net(LogMel()(torch.from_numpy(audio)[None]))
    inner = slice(20, -20)  # the file's ends differ by design (see above)
    for name in ("onset", "pedal"):
        expected = torch.sigmoid(whole[name])[0].numpy()
        assert got[name].shape == expected.shape
        np.testing.assert_allclose(got[name][inner], expected[inner], atol=2e-5)


@pytest.mark.parametrize("block", [1_000, 16_000, 77_777])
def test_streamed_blocks_give_the_same_rolls(block):
    from pianotx.engine.torch_engine import stream_rolls

    audio = (0.1 * np.random.default_rng(3).standard_normal(300_001)).astype(np.float32)
    model = per_frame_model()
    whole = predict_rolls(model, audio, batch_size=2, window_frames=400)["frame"]
    blocks = [audio[i : i + block] for i in range(0, len(audio), block)]
    chunks = list(stream_rolls(model, blocks, batch_size=2, window_frames=400))
    firsts = [first for first, _ in chunks]
    assert firsts == sorted(firsts) and firsts[0] == 0
    np.testing.assert_array_equal(np.concatenate([c["frame"] for _, c in chunks]), whole)


def test_progress_and_window_plan():
    assert window_starts(1000, window_frames=400, margin=16) == [-16, 352, 720]
    assert window_starts(1000, window_frames=400) == [-100, 100, 300, 500, 700]
    calls = []
    predict_rolls(per_frame_model(), np.zeros(16_000, np.float32), batch_size=2,
                  window_frames=40, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 6), (4, 6), (6, 6)]
    with pytest.raises(ConfigError, match="multiple of 4"):
        predict_rolls(per_frame_model(), np.zeros(10, np.float32), window_frames=10)


def test_device_choice():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ConfigError, match="unknown device"):
        pick_device("toaster")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            pick_device("cuda")
