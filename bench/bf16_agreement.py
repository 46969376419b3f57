"""Print how far bf16 autocast moves a training step from fp32: loss, gradients, probabilities.

Run: ``python bench/bf16_agreement.py RUN_FOLDER [--checkpoint PATH] [--batches 4]``.
The run folder's config.json gives the training data, crop length, batch size and
augmentation; the checkpoint (default the run's ``last.pt``) gives the weights. For each
batch of training crops (an epoch the run has not reached, so crops it has not seen in this
order) the loss and gradients are computed once in fp32 and once under
``torch.autocast("cpu", dtype=torch.bfloat16)``, as :func:`pianotx.training.loop.train_step`
does. Printed per batch: both losses, their relative difference, the cosine between the two
gradient vectors, the ratio of their norms, and the largest onset-probability difference.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from pianotx.audio.features import LogMel
from pianotx.config import from_dict
from pianotx.model.checkpoint import load_checkpoint
from pianotx.model.loss import transcription_loss
from pianotx.training.config import TrainConfig


def loss_and_grad(net, features, targets, beta: float, bf16: bool):
    net.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = net(features)
    logits = {name: value.float() for name, value in logits.items()}
    loss, _ = transcription_loss(logits, targets, beta=beta)
    loss.backward()
    grad = torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None])
    return loss.item(), grad, torch.sigmoid(logits["onset"]).detach()


def main() -> None:
    from pianotx.training.distributed import setup
    from pianotx.training.setup import build_datasets

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--batches", type=int, default=4)
    args = parser.parse_args()
    config = from_dict(TrainConfig, json.loads((args.run / "config.json").read_text())["train"])
    loaded = load_checkpoint(args.checkpoint or args.run / "last.pt")
    net = loaded.net.train()
    features = LogMel(loaded.feature_config)
    dataset, _ = build_datasets(config, setup("cpu"))
    dataset.set_epoch(10_000)
    print(f"{'batch':>5} {'loss fp32':>10} {'loss bf16':>10} {'rel diff':>9} {'grad cos':>9} "
          f"{'norm ratio':>10} {'max |d onset p|':>15}")
    for b in range(args.batches):
        crops = [dataset[b * config.batch_size + k] for k in range(config.batch_size)]
        batch = {name: torch.stack([c[name] for c in crops]) for name in crops[0]}
        targets = {name: roll for name, roll in batch.items() if name != "audio"}
        with torch.no_grad():
            mel = features(batch["audio"])
        torch.manual_seed(b)
        loss32, grad32, p32 = loss_and_grad(net, mel, targets, config.beta, bf16=False)
        torch.manual_seed(b)
        loss16, grad16, p16 = loss_and_grad(net, mel, targets, config.beta, bf16=True)
        cosine = torch.nn.functional.cosine_similarity(grad32, grad16, dim=0).item()
        print(f"{b:>5} {loss32:10.5f} {loss16:10.5f} {abs(loss16 - loss32) / loss32:9.2e} "
              f"{cosine:9.5f} {grad16.norm().item() / grad32.norm().item():10.4f} "
              f"{(p16 - p32).abs().max().item():15.4f}")


if __name__ == "__main__":
    main()
