"""Weight averaging of snapshots and the BatchNorm pass after it."""

import pytest
import torch
from torch import nn

from pianotx.errors import CheckpointError
from pianotx.training.average import average_checkpoints, average_states, recalibrate_batchnorm


def test_floats_are_averaged_and_counters_come_from_the_last_state():
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(7)}
    out = average_states([a, b])
    assert out["w"].tolist() == [2.0, 4.0]
    assert out["n"].item() == 7


def test_half_weights_are_averaged_in_float32_and_stay_half():
    a = {"w": torch.tensor([2049.0], dtype=torch.float16)}  # rounds to 2048 in fp16
    b = {"w": torch.tensor([2047.0], dtype=torch.float16)}
    out = average_states([a, b])
    assert out["w"].dtype == torch.float16
    assert out["w"].item() == 2048.0


@pytest.mark.parametrize("other", [{"w": torch.zeros(3)}, {"v": torch.zeros(2)},
                                   {"w": torch.zeros(2), "v": torch.zeros(1)}])
def test_states_of_different_models_are_refused(other):
    with pytest.raises(CheckpointError, match="differ"):
        average_states([{"w": torch.zeros(2)}, other])


def test_nothing_to_average_is_refused():
    with pytest.raises(CheckpointError, match="at least one"):
        average_states([])


def _ckpt(value, steps, arch="fcnn"):
    return {"model_config": {"arch": arch}, "feature_config": {}, "decode_config": {"t": steps},
            "train_summary": {"steps": steps}, "state_dict": {"w": torch.tensor([value])},
            "training": {"optimizer": "dropped"}}


def test_checkpoints_average_their_weights_and_name_the_steps():
    out = average_checkpoints([_ckpt(1.0, 100), _ckpt(2.0, 200), _ckpt(6.0, 300)])
    assert out["state_dict"]["w"].item() == 3.0
    assert out["train_summary"]["averaged_steps"] == [100, 200, 300]
    assert out["decode_config"] == {"t": 300}
    assert "training" not in out


def test_checkpoints_of_different_architectures_are_refused():
    with pytest.raises(CheckpointError, match="model_config"):
        average_checkpoints([_ckpt(1.0, 100), _ckpt(2.0, 200, arch="crnn")])


def test_batchnorm_statistics_become_the_mean_over_the_batches():
    net = nn.Sequential(nn.BatchNorm1d(1))
    net.eval()
    before = [p.clone() for p in net.parameters()]
    batches = [torch.tensor([[1.0], [3.0]]), torch.tensor([[5.0], [7.0]])]
    assert recalibrate_batchnorm(net, batches) == 2
    norm = net[0]
    # each batch's mean (2, 6) and unbiased variance (2, 2), averaged over the batches
    assert norm.running_mean.item() == pytest.approx(4.0)
    assert norm.running_var.item() == pytest.approx(2.0)
    assert norm.momentum == 0.1 and not net.training
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters()))


def test_batchnorm_pass_without_batches_keeps_the_statistics():
    net = nn.Sequential(nn.BatchNorm1d(1))
    net[0].running_mean.fill_(5.0)
    assert recalibrate_batchnorm(net, []) == 0
    assert net[0].running_mean.item() == 5.0
