"""The paper's weighted binary cross-entropy, from logits, and the multi-head loss.

The paper (section 3.1) re-weighs BCE with a balance factor beta against an assumed 5% of
active keys: positives by ``beta / 0.05`` and negatives by ``(1 - beta) / 0.95``, so
``beta = 0.05`` is plain BCE and ``beta = 0.5`` fully re-balances a roll with 5% positives.
The equation as printed in the paper has the two ratios upside down (``0.05 / beta``), which
would *lower* recall as beta grows; the paper's code (positive weight 4.0 at beta 0.2) and its
Table 1 (beta 0.5 -> recall 0.91) use the form implemented here. Written with ``softplus`` on
logits so it never takes ``log(0)``.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from pianotx.config import MIN_MIDI
from pianotx.errors import ConfigError

PRIOR_POSITIVE = 0.05  # the paper's assumed share of active keys per frame


def weighted_bce(
    logits: torch.Tensor, targets: torch.Tensor, *, beta: float | None = None,
    positive_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean weighted BCE between ``logits`` and soft or hard ``targets`` in [0, 1].

    Parameters
    ----------
    logits, targets : torch.Tensor, same shape
    beta : float in (0, 1) or None
        The paper's balance factor; None gives plain (unweighted) BCE.
    positive_weights : torch.Tensor or None
        Per-cell factors on the positive term (same shape), e.g. :func:`soft_onset_weights`.

    Returns
    -------
    torch.Tensor, scalar
        ``-mean(w_pos * y * log(sigmoid(z)) + w_neg * (1 - y) * log(1 - sigmoid(z)))`` with
        ``w_pos = beta / 0.05`` and ``w_neg = (1 - beta) / 0.95``.
    """
    if beta is None and positive_weights is None:
        return F.binary_cross_entropy_with_logits(logits, targets)
    if beta is None:
        w_pos, w_neg = 1.0, 1.0
    elif not 0.0 < beta < 1.0:
        raise ConfigError(f"beta must lie strictly between 0 and 1, got {beta}")
    else:
        w_pos = beta / PRIOR_POSITIVE
        w_neg = (1.0 - beta) / (1.0 - PRIOR_POSITIVE)
    if positive_weights is not None:
        w_pos = w_pos * positive_weights
    loss = w_pos * targets * F.softplus(-logits) + w_neg * (1.0 - targets) * F.softplus(logits)
    return loss.mean()


SOFT_VELOCITY = 0.5  # onsets below velocity 64 / 127 count as soft for ``soft_onset_weight``
SOFT_REACH = 2  # frames either side of a labelled onset that share its velocity (soft targets)


def soft_onset_weights(velocity: torch.Tensor, gain: float) -> torch.Tensor:
    """Per-cell weights of the onset head's positive term: ``1 + gain * softness``.

    ``velocity`` is the velocity roll ``(batch, frames, 88)`` (``velocity / 127`` at each
    note's onset frame, 0 elsewhere). Each onset's velocity is spread over the
    ``SOFT_REACH`` frames either side (where soft onset targets are also positive) and its
    softness is ``clamp((0.5 - v) / 0.5, 0, 1)``: 0 at velocity 64 and above, 1 at velocity
    0. Cells with no onset nearby get weight 1 (their positive term is 0 anyway).
    """
    near = F.max_pool1d(velocity.transpose(1, 2), 2 * SOFT_REACH + 1, stride=1,
                        padding=SOFT_REACH).transpose(1, 2)  # pools each key along time
    softness = ((SOFT_VELOCITY - near) / SOFT_VELOCITY).clamp(0.0, 1.0) * (near > 0)
    return 1.0 + gain * softness


BASS_TOP = 48  # C3: keys below weigh more under ``bass_weight``
BASS_SPAN = 24  # semitones over which the bass weight ramps from 1 up to 1 + G


def bass_weights(n_keys: int, gain: float) -> torch.Tensor:
    """Per-key weights ``(n_keys,)`` of the positive term for ``bass_weight``.

    Key ``k`` is MIDI ``21 + k``; its weight is ``1 + gain * clamp((48 - midi) / 24, 0, 1)``:
    1 from C3 up, ``1 + gain / 2`` at C2, ``1 + gain`` at C1 and below. The lowest two
    octaves, whose fundamentals fall within one or two mel bins, are where the note model
    misses most notes (``bench/misses.py``).
    """
    midi = torch.arange(n_keys, dtype=torch.float32) + MIN_MIDI
    return 1.0 + gain * ((BASS_TOP - midi) / BASS_SPAN).clamp(0.0, 1.0)


def transcription_loss(
    logits: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    *,
    beta: float | None = None,
    soft_onset_weight: float = 0.0,
    bass_weight: float = 0.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum of per-head losses and the per-head values (for logging).

    Frame, onset and offset heads use :func:`weighted_bce`; the velocity head uses BCE
    against ``velocity / 127`` counted only at onset frames (where the velocity target is
    set, Kong et al.); the pedal head (about half its frames positive) plain BCE.
    ``soft_onset_weight`` G > 0 multiplies the onset head's positive term by
    :func:`soft_onset_weights` (up to 1 + G for the softest notes), so that quiet onsets,
    which the frame head hears and the onset head misses, cost more to miss.
    ``bass_weight`` G > 0 multiplies the positive term of the frame and onset heads by
    :func:`bass_weights` (up to 1 + G at C1 and below), so that missed bass notes cost more.
    """
    parts: dict[str, torch.Tensor] = {}
    for name, head_logits in logits.items():
        target = targets[name].to(head_logits.dtype)
        weights = None
        if name == "onset" and soft_onset_weight > 0 and "velocity" in targets:
            weights = soft_onset_weights(targets["velocity"].to(head_logits.dtype), soft_onset_weight)
        if name in ("frame", "onset") and bass_weight > 0:
            bass = bass_weights(head_logits.shape[-1], bass_weight).to(head_logits)
            weights = bass if weights is None else weights * bass
        if weights is not None:
            parts[name] = weighted_bce(head_logits, target, beta=beta,
                                       positive_weights=weights.expand_as(head_logits))
        elif name == "pedal":
            parts[name] = F.binary_cross_entropy_with_logits(head_logits, target)
        elif name == "velocity":
            mask = (targets["velocity"] > 0).to(head_logits.dtype)
            per_cell = F.binary_cross_entropy_with_logits(head_logits, target, reduction="none")
            parts[name] = (per_cell * mask).sum() / mask.sum().clamp(min=1.0)
        else:
            parts[name] = weighted_bce(head_logits, target, beta=beta)
    total = torch.stack(list(parts.values())).sum()
    return total, {name: float(value.detach()) for name, value in parts.items()}
