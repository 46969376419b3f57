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
        import torch
        from rich.table import Table

        from pianotx import __version__
        from pianotx.bundled import bundled_models, default_model_name
        from pianotx.checkpoint import read_checkpoint, sha256_file
        from pianotx.inference import pick_device

        console.print(f"pianotx {__version__}", markup=False)
        console.print(
            f"python {platform.python_version()}, torch {torch.__version__}, "
            f"numpy {numpy.__version__}",
            markup=False,
        )
        console.print(f"device: {pick_device('auto')} (torch threads: {torch.get_num_threads()})")
        models = bundled_models()
        default = default_model_name()
        if default is not None:
            from pianotx.onnxrt import choose_engine, onnx_path_for

            engine = choose_engine("auto", "auto", models[default])
            console.print(f"transcribe engine for {default}: {engine}"
                          + ("" if engine == "onnx" or not onnx_path_for(models[default]).is_file()
                             else " (onnxruntime missing or a GPU is visible)"), markup=False)
        if not models:
            console.print("bundled models: none (pass --checkpoint PATH to transcribe)")
            return
        table = Table(title="bundled models")
        for column in ("name", "arch", "heads", "size", "trained", "sha256"):
            table.add_column(column)
        for name, path in models.items():
            data = read_checkpoint(path)
            config, summary = data["model_config"], data.get("train_summary", {})
            table.add_row(
                name + (" (default)" if name == default else ""),
                config["arch"], config["heads"], f"{path.stat().st_size / 1e6:.1f} MB",
                str(summary.get("steps", "?")) + " steps", sha256_file(path)[:12],
            )
        console.print(table)
