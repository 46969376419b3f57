"""The paper's weighted BCE, computed from logits."""

from __future__ import annotations

import math

import pytest
import torch

from pianotx.errors import ConfigError
from pianotx.model.loss import transcription_loss, weighted_bce


def test_beta_005_is_plain_bce():
    logits, targets = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([1.0, 0.0, 1.0])
    plain = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    assert torch.allclose(weighted_bce(logits, targets, beta=0.05), plain)
    assert torch.allclose(weighted_bce(logits, targets), plain)


def test_paper_weights_literal():
    # one positive and one negative at p=0.5, beta=0.2: weights 4.0 and 0.8/0.95 (the
    # paper's code; its printed equation has the ratios inverted)
    got = weighted_bce(torch.zeros(2), torch.tensor([1.0, 0.0]), beta=0.2)
    assert got.item() == pytest.approx((4.0 + 0.8 / 0.95) * math.log(2) / 2)


def test_larger_beta_favours_recall():
    logits, targets = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 0.0])
    grads = []
    for beta in (0.05, 0.2, 0.5):
        z = logits.clone().requires_grad_(True)
        weighted_bce(z, targets, beta=beta).backward()
        grads.append(-z.grad[0].item())  # push on the positive's logit
    assert grads[0] < grads[1] < grads[2]


def test_extreme_logits_stay_finite():
    got = weighted_bce(torch.tensor([-200.0, 200.0]), torch.tensor([1.0, 0.0]), beta=0.5)
    assert torch.isfinite(got) and got.item() == pytest.approx((10 * 200 + 0.5 / 0.95 * 200) / 2)


def test_bad_beta():
    with pytest.raises(ConfigError, match="beta"):
        weighted_bce(torch.zeros(1), torch.zeros(1), beta=1.0)


def test_velocity_counts_only_at_onsets_and_pedal_is_plain_bce():
    logits = {"frame": torch.zeros(1, 2, 88), "velocity": torch.full((1, 2, 88), 2.0),
              "pedal": torch.zeros(1, 2, 1)}
    velocity = torch.zeros(1, 2, 88)
    velocity[0, 0, 0] = 1.0  # the only onset; every other cell has no velocity to learn
    targets = {"frame": torch.zeros(1, 2, 88), "velocity": velocity,
               "pedal": torch.tensor([[[1.0], [0.0]]])}
    total, parts = transcription_loss(logits, targets, beta=0.2)
    assert parts["velocity"] == pytest.approx(math.log1p(math.exp(-2.0)), rel=1e-5)
    assert parts["pedal"] == pytest.approx(math.log(2), rel=1e-5)  # beta does not weigh it
    assert total.item() == pytest.approx(sum(parts.values()), rel=1e-5)


def test_soft_onset_weights_spread_each_onsets_softness_over_its_soft_target():
    from pianotx.model.loss import soft_onset_weights

    velocity = torch.zeros(1, 9, 2)
    velocity[0, 4, 0] = 32 / 127  # soft: softness (0.5 - 0.252) / 0.5
    velocity[0, 4, 1] = 100 / 127  # loud: weight 1
    weights = soft_onset_weights(velocity, 2.0)
    soft = 1.0 + 2.0 * (0.5 - 32 / 127) / 0.5
    assert torch.allclose(weights[0, :, 0], torch.tensor([1, 1, soft, soft, soft, soft, soft, 1, 1]))
    assert torch.equal(weights[0, :, 1], torch.ones(9))


def test_soft_onset_weight_raises_only_the_onset_heads_loss_of_soft_notes():
    logits = {"onset": torch.zeros(1, 9, 2), "frame": torch.zeros(1, 9, 2)}
    targets = {"onset": torch.zeros(1, 9, 2), "frame": torch.ones(1, 9, 2),
               "velocity": torch.zeros(1, 9, 2)}
    targets["onset"][0, 4] = 1.0
    targets["velocity"][0, 4] = torch.tensor([0.0, 1.0])  # key 0 velocity 0 (softest), key 1 loud
    plain, plain_parts = transcription_loss(logits, targets, beta=0.2)
    weighted, parts = transcription_loss(logits, targets, beta=0.2, soft_onset_weight=3.0)
    assert parts["frame"] == plain_parts["frame"]
    # velocity 0 marks no onset in the velocity roll, so key 0 keeps weight 1 as well
    assert parts["onset"] == pytest.approx(plain_parts["onset"])
    assert float(weighted) == pytest.approx(float(plain))
    targets["velocity"][0, 4, 0] = 1 / 127
    _, parts = transcription_loss(logits, targets, beta=0.2, soft_onset_weight=3.0)
    positive = 0.2 / 0.05 * math.log(2.0) / 18  # one positive cell of 18 at logit 0
    gain = 3.0 * (0.5 - 1 / 127) / 0.5
    assert parts["onset"] == pytest.approx(plain_parts["onset"] + gain * positive, rel=1e-5)


def test_bass_weights_ramp_from_c3_down_to_c1():
    from pianotx.model.loss import bass_weights

    weights = bass_weights(88, 2.0)  # key k is MIDI 21 + k
    assert weights[48 - 21] == 1.0 and weights[87] == 1.0  # C3 and C8
    assert weights[36 - 21] == pytest.approx(2.0)  # C2: 1 + G / 2
    assert weights[24 - 21] == pytest.approx(3.0) and weights[0] == pytest.approx(3.0)  # C1, A0


def test_bass_weight_raises_the_frame_and_onset_loss_of_bass_keys_only():
    from pianotx.model.loss import bass_weights

    logits = {name: torch.zeros(1, 4, 88) for name in ("onset", "frame", "offset")}
    targets = {name: torch.zeros(1, 4, 88) for name in logits}
    for name in logits:
        targets[name][0, 1, [0, 60]] = 1.0  # A0 and A5
    _, plain = transcription_loss(logits, targets, beta=0.2)
    _, parts = transcription_loss(logits, targets, beta=0.2, bass_weight=2.0)
    positive = 0.2 / 0.05 * math.log(2.0) / (4 * 88)  # one positive cell at logit 0
    for name in ("onset", "frame"):
        assert parts[name] == pytest.approx(plain[name] + 2.0 * positive, rel=1e-5)
    assert parts["offset"] == plain["offset"]
    assert bass_weights(88, 0.0).eq(1.0).all()
