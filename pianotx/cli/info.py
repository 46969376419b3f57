"""``pianotx info``: versions, the compute device, and the bundled checkpoints."""

from __future__ import annotations

import platform

from pianotx.cli.app import app
from pianotx.cli.common import console, user_errors


@app.command()
def info() -> None:
    """Show versions, the device pianotx would use, and the bundled models."""
    with user_errors():
        import numpy
        from rich.table import Table

        from pianotx import __version__
        from pianotx.errors import PianotxError
        from pianotx.bundled import bundled_models, default_model_name
        from pianotx.files import sha256_file
        from pianotx.engine.onnx_engine import choose_engine, onnx_path_for, torch_available

        console.print(f"pianotx {__version__}", markup=False)
        if torch_available():
            import torch

            from pianotx.engine.torch_engine import pick_device

            torch_line = f"torch {torch.__version__}"
            device = f"{pick_device('auto')} (torch threads: {torch.get_num_threads()})"
        else:
            torch_line = "torch not installed (pip install 'pianotx[torch]' to train or use a GPU)"
            device = "cpu (ONNX Runtime)"
        console.print(f"python {platform.python_version()}, numpy {numpy.__version__}, "
                      f"{torch_line}", markup=False)
        console.print(f"device: {device}", markup=False)
        models = bundled_models()
        default = default_model_name()
        if default is not None:
            engine = choose_engine("auto", "auto", models[default])
            console.print(f"transcribe engine for {default}: {engine}"
                          + ("" if engine == "onnx" or not onnx_path_for(models[default]).is_file()
                             else " (onnxruntime missing or a GPU is visible)"), markup=False)
        if not models:
            console.print("bundled models: none (pass --checkpoint PATH to transcribe)")
            return
        if default is None:
            console.print("default model: none installed (weights/DEFAULT names a model that is "
                          "not there); reinstall pianotx or pass --model", markup=False)
        table = Table(title="bundled models")
        for column in ("name", "arch", "heads", "pedal", "size", "steps", "sha256"):
            table.add_column(column)
        for name, path in models.items():
            try:
                data = _metadata(path)
            except PianotxError as exc:  # one damaged file: its row says so, the rest still show
                table.add_row(name, "damaged", "", "", f"{path.stat().st_size / 1e6:.1f} MB", "",
                              f"reinstall pianotx ({str(exc)[:40]})")
                continue
            config, summary = data["model_config"], data.get("train_summary") or {}
            table.add_row(
                name + (" (default)" if name == default else ""),
                config["arch"], config["heads"], (data.get("decode_config") or {}).get("pedal", "?"),
                f"{path.stat().st_size / 1e6:.1f} MB",
                str(summary.get("steps", "?")), sha256_file(path)[:12],
            )
        console.print(table)


def _metadata(path):  # type: ignore[no-untyped-def]
    """A bundled model's metadata: from the checkpoint with torch, else its ONNX export."""
    from pianotx.engine.onnx_engine import load_onnx, onnx_path_for, torch_available

    if torch_available():
        from pianotx.model.checkpoint import read_checkpoint

        return read_checkpoint(path)
    return load_onnx(onnx_path_for(path), threads=1).metadata
