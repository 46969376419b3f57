"""Weight averaging of checkpoints from one run (stochastic weight averaging, SWA).

Averaging snapshots taken along a run at a still-high learning rate lands nearer the centre
of the basin the run wanders in, which tends to generalise like a run whose learning rate
was decayed (Izmailov et al. 2018). Floating-point weights are averaged; integer buffers
(BatchNorm's ``num_batches_tracked``) come from the last snapshot. The averaged weights
change every BatchNorm layer's input statistics, so :func:`recalibrate_batchnorm` recomputes
the running means and variances from training crops afterwards.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import torch
from torch import nn

from pianotx.errors import CheckpointError

# Metadata that must agree between snapshots for their weights to be averaged.
SAME_KEYS = ("model_config", "feature_config")


def average_states(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors over ``states`` (in float32, cast
    back to the first state's dtype); other tensors are taken from the last state.

    Raises
    ------
    CheckpointError
        If ``states`` is empty or the states differ in names or shapes.
    """
    if not states:
        raise CheckpointError("no checkpoints to average; give at least one")
    names = list(states[0])
    differ = sorted(set().union(*states) - set(names)) + [
        name for name in names
        if any(name not in state or state[name].shape != states[0][name].shape for state in states)
    ]
    if differ:
        raise CheckpointError(
            f"the checkpoints differ at {differ[0]!r}; average snapshots of one run only"
        )
    out: dict[str, torch.Tensor] = {}
    for name in names:
        values = [state[name] for state in states]
        if values[0].is_floating_point():
            out[name] = torch.stack([v.float() for v in values]).mean(dim=0).to(values[0].dtype)
        else:
            out[name] = values[-1].clone()
    return out


def average_checkpoints(datas: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A checkpoint dictionary whose weights are the mean of ``datas``' weights; metadata
    and decoding from the last, its ``train_summary`` naming the averaged steps.

    Raises
    ------
    CheckpointError
        If the checkpoints describe different models or features.
    """
    if not datas:
        raise CheckpointError("no checkpoints to average; give at least one")
    for key in SAME_KEYS:
        if any(data[key] != datas[0][key] for data in datas):
            raise CheckpointError(
                f"the checkpoints have different {key}; average snapshots of one run only"
            )
    out = {key: value for key, value in datas[-1].items() if key != "training"}
    out["state_dict"] = average_states([data["state_dict"] for data in datas])
    steps = [(data.get("train_summary") or {}).get("steps") for data in datas]
    out["train_summary"] = dict(datas[-1].get("train_summary") or {},
                                averaged_steps=[s for s in steps if s is not None],
                                averaged=len(datas))
    return out


def recalibrate_batchnorm(
    net: nn.Module, inputs: Iterable[torch.Tensor], *, features: nn.Module | None = None,
) -> int:
    """Recompute every BatchNorm layer's running statistics as the plain mean over the
    batches of ``inputs`` (audio through ``features``, or features as they are); the
    weights do not change. Returns the number of batches seen (0 leaves ``net`` as it was).
    """
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return 0
    saved = [(m.momentum, m.running_mean.clone(), m.running_var.clone()) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
    was_training = net.training
    net.train()
    seen = 0
    with torch.no_grad():
        for batch in inputs:
            net(features(batch) if features is not None else batch)
            seen += 1
    net.train(was_training)
    for m, (momentum, mean, var) in zip(norms, saved):
        m.momentum = momentum
        if not seen:
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
    return seen
