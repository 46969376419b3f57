"""Training the note-level beat network on annotated performances (ASAP).

The same changed performances as the frame network's (:func:`pianotx.training.beats.augment`),
read as note sequences: a window of ``crop_notes`` notes -> note features ->
:class:`~pianotx.model.beatnet.NoteBeatNet` -> cross-entropy against each note's class (no
beat, beat, downbeat). The loop keeps ``best.pt`` by the held-out loss over whole
performances; ``export_note_beatnet`` writes the ONNX file the tracker runs.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from pianotx.errors import TrainingError
from pianotx.model.beatnet import NoteBeatNet, NoteBeatNetConfig
from pianotx.score.noterhythm import note_features, note_order, note_targets
from pianotx.training.beats import (BeatTrainConfig, Piece, augment, draw_chances, export_onnx,
                                    load_members, training_loop)


def note_example(piece: Piece) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A whole performance as features ``(n, F)``, classes ``(n,)`` and loss mask ``(n,)``."""
    order = note_order(piece.onset_s, piece.pitch)
    onset = piece.onset_s[order]
    classes, mask = note_targets(onset, piece.beats_s, piece.downbeats_s)
    return (note_features(onset, piece.offset_s[order], piece.pitch[order], piece.velocity[order]),
            classes, mask)


def crop_notes(example: tuple[np.ndarray, ...], start: int, n_notes: int) -> tuple[np.ndarray, ...]:
    """``n_notes`` notes from ``start``; a shorter performance is padded with masked zeros."""
    out = []
    for column in example:
        part = column[start : start + n_notes]
        pad = [(0, n_notes - len(part))] + [(0, 0)] * (part.ndim - 1)
        out.append(np.pad(part, pad))
    return tuple(out)


def note_count(piece: Piece) -> float:
    return float(len(piece.onset_s))


def sample_note_batch(pieces: Sequence[Piece], rng: np.random.Generator,
                      config: BeatTrainConfig, chances: np.ndarray | None = None) -> tuple[torch.Tensor, ...]:
    """A batch of augmented windows of ``config.crop_notes`` notes, pieces drawn by
    ``chances`` (default: in proportion to their number of notes)."""
    if chances is None:
        chances = draw_chances(pieces, (), 0.0, note_count)
    out = []
    for index in rng.choice(len(pieces), size=config.batch_size, p=chances):
        example = note_example(augment(pieces[index], rng, config))
        start = int(rng.integers(0, max(len(example[0]) - config.crop_notes, 0) + 1))
        out.append(crop_notes(example, start, config.crop_notes))
    return tuple(torch.from_numpy(np.stack(column)) for column in zip(*out))


def note_loss(logits: torch.Tensor, classes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each note's class, summed over the unmasked notes, divided by their count."""
    each = torch.nn.functional.cross_entropy(logits.reshape(-1, 3), classes.reshape(-1), reduction="none")
    return (each * mask.reshape(-1)).sum() / mask.sum().clamp(min=1.0)


@torch.no_grad()
def held_out_note_loss(net: NoteBeatNet, examples: Sequence[tuple[np.ndarray, ...]]) -> float:
    """The loss over every unmasked note of whole held-out performances."""
    net.eval()
    total, count = 0.0, 0.0
    for features, classes, mask in examples:
        weight = float(mask.sum())
        logits = net(torch.from_numpy(features)[None])
        total += note_loss(logits, torch.from_numpy(classes)[None], torch.from_numpy(mask)[None]).item() * weight
        count += weight
    net.train()
    return total / max(count, 1.0)


def train_note_beatnet(fit: Sequence[Piece], check: Sequence[Piece], out: Path, *,
                       extra: Sequence[Piece] = (),
                       config: BeatTrainConfig = BeatTrainConfig(),
                       net_config: NoteBeatNetConfig = NoteBeatNetConfig(),
                       on_event: Callable[[dict], None] | None = None, resume: bool = False) -> Path:
    """Train on ``fit`` (Adam, warm-up then cosine), keep ``out/best.pt`` by the held-out loss
    on ``check``; return its path. ``extra`` pieces are drawn for ``config.extra_share`` of
    the windows. ``out/metrics.jsonl`` logs the losses. ``resume``: go on
    from ``out/last.pt`` (:func:`~pianotx.training.beats.training_loop`)."""
    if not fit or not check:
        raise TrainingError("the beat tracker needs training and held-out performances")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    net = NoteBeatNet(net_config)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    examples = [note_example(piece) for piece in check]
    pieces = [*fit, *extra]
    chances = draw_chances(fit, extra, config.extra_share, note_count)

    def batch_loss() -> torch.Tensor:
        features, classes, mask = sample_note_batch(pieces, rng, config, chances)
        return note_loss(net(features), classes, mask)

    return training_loop(net, optimizer, batch_loss, lambda: {"beat": held_out_note_loss(net, examples)},
                         out, config=config, net_config=asdict(net_config), rng=rng, on_event=on_event,
                         resume=resume)


def load_note_beatnet(path: Path) -> NoteBeatNet:
    """A trained network from a checkpoint of :func:`train_note_beatnet` (strict)."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    net = NoteBeatNet(NoteBeatNetConfig(**saved["net_config"]))
    net.load_state_dict(saved["state_dict"], strict=True)
    return net.eval()


def export_note_beatnet(checkpoint: Path | Sequence[Path], target: Path, *,
                        metadata: dict | None = None) -> None:
    """Write the network as ONNX (``features (1, n_notes, F)`` -> ``probabilities (1,
    n_notes, 3)``, a softmax; notes dynamic), with ``metadata`` as JSON. Several checkpoints
    (with the same features) make one ensemble: the probabilities are their mean."""

    nets = load_members(checkpoint, load_note_beatnet)
    if any(net.config.n_features != nets[0].config.n_features for net in nets):
        raise TrainingError("an ensemble needs networks with the same features")

    class Probabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.nets = torch.nn.ModuleList(nets)

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            return sum(torch.softmax(net(features), dim=-1) for net in self.nets) / len(self.nets)

    export_onnx(Probabilities().eval(), torch.zeros(1, 50, nets[0].config.n_features), target,
                outputs=["probabilities"], axis="notes", metadata=metadata)
