"""Export a checkpoint to ONNX for the torch-free engine (:mod:`pianotx.engine.onnx_engine`).

The exported graph is the inference form of the network (BatchNorm folded for note models)
plus the sigmoid, from log-mel input to one probability roll per head, with batch and frame
count dynamic. The export is checked against torch on two window lengths before it is
written; the configs and the checkpoint's sha256 go into its metadata.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pianotx import __version__
from pianotx.model.checkpoint import LoadedModel
from pianotx.config import to_dict
from pianotx.errors import CheckpointError, ConfigError
from pianotx.files import sha256_file, write_bytes_atomic
from pianotx.engine.onnx_engine import METADATA_KEY

TOLERANCE = 1e-3  # largest probability difference allowed between torch and the export


class _Probabilities(nn.Module):
    def __init__(self, net: nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.net, self.names = net, names

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.net(mel)
        return tuple(torch.sigmoid(out[name]) for name in self.names)


def export_onnx(loaded: LoadedModel, target: Path, *, overwrite: bool = False) -> dict:
    """Write ``loaded`` (a checkpoint loaded on the CPU) as ONNX to ``target``.

    Returns the largest difference from torch and the file size.

    Raises
    ------
    ConfigError
        If the onnx package is missing.
    CheckpointError
        If the export does not reproduce the torch model within :data:`TOLERANCE`.
    """
    try:
        import onnx
        import onnxruntime as ort
    except ImportError:
        raise ConfigError("pianotx export needs onnx and onnxruntime: "
                          "pip install 'pianotx[export]'") from None
    import io

    from pianotx.model.freqnet import for_inference

    net = for_inference(loaded.net.cpu().eval())
    names = loaded.model_config.head_names
    wrapper = _Probabilities(net, names).eval()
    n_mels = loaded.feature_config.n_features
    buffer = io.BytesIO()
    axes = {"mel": {0: "batch", 1: "frames"}} | {n: {0: "batch", 1: "frames"} for n in names}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (torch.zeros(2, 1000, n_mels),), buffer, input_names=["mel"],
                          output_names=list(names), dynamic_axes=axes, opset_version=17,
                          dynamo=False)
    proto = onnx.load_from_string(buffer.getvalue())
    meta = {"model_config": to_dict(loaded.model_config),
            "feature_config": to_dict(loaded.feature_config),
            "decode_config": to_dict(loaded.decode_config),
            "checkpoint_sha256": sha256_file(loaded.path) if loaded.path else None,
            "train_summary": loaded.metadata.get("train_summary"),
            "pianotx_version": __version__}
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta, sort_keys=True)
    data = proto.SerializeToString()

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    worst = 0.0
    rng = np.random.default_rng(0)
    for frames in (1000, 612):
        mel = rng.normal(-4.0, 2.0, (1, frames, n_mels)).astype(np.float32)
        with torch.inference_mode():
            want = [t.numpy() for t in wrapper(torch.from_numpy(mel))]
        got = session.run(list(names), {"mel": mel})
        worst = max(worst, *(float(np.nan_to_num(np.abs(a - b), nan=np.inf).max()) for a, b in zip(want, got)))
    if worst > TOLERANCE:
        raise CheckpointError(f"the ONNX export of {loaded.name} differs from torch by {worst:.2g} "
                              f"(more than {TOLERANCE}); this architecture does not export "
                              "cleanly, use --engine torch")
    write_bytes_atomic(Path(target), data, overwrite=overwrite)
    return {"max_abs_diff": worst, "bytes": len(data)}
