"""Checkpoints: a plain state_dict plus primitive metadata, loaded safely and strictly.

A checkpoint is a dict saved with ``torch.save``: ``pianotx_format`` (int),
``pianotx_version``, ``model_config``, ``feature_config``, ``decode_config`` (dicts of
primitives), ``train_summary`` (dict), ``state_dict``, and for training checkpoints
``training`` (optimizer state, step, RNG states). It loads with ``weights_only=True`` and
``load_state_dict(strict=True)``; anything else is a :class:`CheckpointError`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pianotx.config import (DecodeConfig, FeatureConfig, ModelConfig, from_dict,
                            model_config_from_dict, to_dict)
from pianotx.errors import CheckpointError, ConfigError
from pianotx.files import sha256_file, write_bytes_atomic  # noqa: F401  (re-exported)

FORMAT_VERSION = 1
REQUIRED_KEYS = ("model_config", "feature_config", "decode_config", "state_dict")


@dataclass
class LoadedModel:
    """A model ready for inference with the configs it was trained with."""

    net: nn.Module
    model_config: ModelConfig
    feature_config: FeatureConfig
    decode_config: DecodeConfig
    name: str
    path: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        """Device the network's parameters live on."""
        return next(self.net.parameters()).device


def checkpoint_dict(
    net: nn.Module,
    *,
    model_config: ModelConfig,
    feature_config: FeatureConfig,
    decode_config: DecodeConfig,
    train_summary: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    half: bool = False,
) -> dict[str, Any]:
    """Return the checkpoint dictionary for ``net`` (weights copied to CPU)."""
    from pianotx import __version__

    state = {
        k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
        for k, v in net.state_dict().items()
    }
    data: dict[str, Any] = {
        "pianotx_format": FORMAT_VERSION,
        "pianotx_version": __version__,
        "model_config": to_dict(model_config),
        "feature_config": to_dict(feature_config),
        "decode_config": to_dict(decode_config),
        "train_summary": dict(train_summary or {}),
        "state_dict": state,
    }
    if training is not None:
        data["training"] = training
    return data


def save_checkpoint(path: Path, data: dict[str, Any], *, overwrite: bool = True) -> None:
    """Write a checkpoint dictionary to ``path`` atomically."""
    buffer = io.BytesIO()
    torch.save(data, buffer)
    write_bytes_atomic(Path(path), buffer.getvalue(), overwrite=overwrite)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load and validate a checkpoint dictionary (weights only, CPU)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder; give the .pt file in it")
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}; check the path")
    if path.suffix.lower() == ".onnx":
        raise CheckpointError(f"{path} is an ONNX export; give the .pt checkpoint it was exported from "
                              "(its .onnx beside it is used for you)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated or foreign files
        reason = _first_sentence(exc)
        raise CheckpointError(
            f"cannot read {path} as a pianotx checkpoint{f' ({reason})' * bool(reason)}; "
            "is it truncated or from another program?"
        ) from None
    if not isinstance(data, dict) or "pianotx_format" not in data:
        raise CheckpointError(
            f"{path} is not a pianotx checkpoint (no 'pianotx_format' entry); "
            "use a checkpoint written by pianotx train"
        )
    if data["pianotx_format"] != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {data['pianotx_format']}, this pianotx reads "
            f"{FORMAT_VERSION}; upgrade pianotx or re-export the checkpoint"
        )
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}; the file is incomplete")
    return data


def _first_sentence(exc: Exception) -> str:
    """The first line of an error's text, cut at its first sentence (torch's are long); empty
    where it says nothing (a bare number)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text.split(". ")[0].rstrip(".")[:160]
    return text if any(c.isalpha() for c in text) else ""


def non_finite(state: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors of a state_dict holding NaN or infinity."""
    return [name for name, value in state.items()
            if torch.is_tensor(value) and value.is_floating_point() and not bool(torch.isfinite(value).all())]


def load_checkpoint(path: Path, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Build the model a checkpoint describes and load its weights strictly.

    Raises
    ------
    CheckpointError
        If the file is missing, unreadable, foreign, of another format, or its weights do
        not match the architecture its metadata names.
    """
    from pianotx.model.networks import build_model

    path = Path(path)
    data = read_checkpoint(path)
    try:
        model_config = model_config_from_dict(data["model_config"])
        feature_config = from_dict(FeatureConfig, data["feature_config"])
        decode_config = from_dict(DecodeConfig, data["decode_config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path} has invalid metadata: {exc}") from None
    if feature_config.logfreq_bands != model_config.feature_config().logfreq_bands:
        raise CheckpointError(
            f"{path} has {feature_config.logfreq_bands} log-frequency bands but its model "
            f"reads {model_config.feature_config().logfreq_bands}; the file was edited")
    net = build_model(model_config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in data["state_dict"].items()}
    damaged = non_finite(state)
    if damaged:
        raise CheckpointError(f"{path} has non-finite weights ({len(damaged)} tensors, first {damaged[0]}); "
                              "the training diverged or the file is damaged: use another checkpoint")
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise CheckpointError(
            f"{path} does not match its architecture ({detail[:160]}); the file is damaged "
            "or was edited"
        ) from None
    net.to(device).eval()
    metadata = {k: v for k, v in data.items() if k not in ("state_dict", "training")}
    return LoadedModel(net, model_config, feature_config, decode_config, path.stem, path, metadata)


def save_decode_defaults(path: Path, decode_config: DecodeConfig) -> None:
    """Store ``decode_config`` as the decode defaults inside an existing checkpoint."""
    data = read_checkpoint(path)
    data["decode_config"] = to_dict(decode_config)
    save_checkpoint(Path(path), data, overwrite=True)
