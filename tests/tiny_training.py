"""A few-second training run on synthetic tones, so CLI tests have a real trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from pianotx.model.checkpoint import checkpoint_dict, save_checkpoint
from pianotx.config import DecodeConfig, FeatureConfig, ModelConfig
from pianotx.audio.features import LogMel, n_frames
from pianotx.model.loss import transcription_loss
from pianotx.model.networks import build_model
from pianotx.music.notes import notes_to_rolls


def train_tiny_model(
    path: Path, *, render_tones: Callable, tone_notes: Callable, steps: int = 120,
    arch: str = "fcnn", heads: str = "frame", width: float = 0.25, lr: float = 1e-2,
    seed: int = 0, clip_s: float = 4.0,
) -> None:
    """Train a paper-size model on 4 synthetic clips and save it to ``path``."""
    torch.manual_seed(seed)
    features_cfg, model_cfg = FeatureConfig(), ModelConfig(arch=arch, heads=heads, width=width)
    clips = []
    for clip_seed in range(4):
        notes = tone_notes(seed=clip_seed)
        audio = render_tones(notes)
        rolls = notes_to_rolls(notes, n_frames(len(audio), hop_length=160))
        clips.append((torch.from_numpy(audio), {k: torch.from_numpy(v) for k, v in rolls._asdict().items()}))
    length = min(min(len(a) for a, _ in clips), int(clip_s * 16_000))
    frames = n_frames(length, hop_length=160)
    audio = torch.stack([a[:length] for a, _ in clips])
    targets = {k: torch.stack([r[k][:frames] for _, r in clips]) for k in clips[0][1]}
    net, mel = build_model(model_cfg), LogMel(features_cfg)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    spec = mel(audio)
    for _ in range(steps):
        loss, _ = transcription_loss(net(spec), targets, beta=0.2)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 3.0)
        optimizer.step()
    data = checkpoint_dict(
        net, model_config=model_cfg, feature_config=features_cfg, decode_config=DecodeConfig(),
        train_summary={"steps": steps, "data": "synthetic tones (tests)"},
    )
    save_checkpoint(path, data)
