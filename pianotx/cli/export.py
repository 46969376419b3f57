"""``pianotx export``: a checkpoint to ONNX for the torch-free CPU engine."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import console, fail, user_errors


@app.command()
def export(
    source: Optional[str] = typer.Argument(
        None, help="A bundled model name or a .pt checkpoint [default: the default model]."),
    out: Optional[Path] = typer.Option(
        None, "-o", "--out", help="Output .onnx file [default: beside the checkpoint]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
) -> None:
    """Export a model to ONNX; transcribe then runs it with ONNX Runtime on the CPU."""
    if out is not None and out.suffix.lower() != ".onnx":  # an output problem, as for every -o
        raise fail(f"output {out} must end in .onnx")
    with user_errors():
        from pianotx.errors import require

        require("torch", "exporting a checkpoint")
        from pianotx.api import load_model
        from pianotx.model.export import export_onnx
        from pianotx.engine.onnx_engine import onnx_path_for

        loaded = load_model(source, device="cpu", optimize=False, engine="torch")
        target = out if out is not None else onnx_path_for(loaded.path)
        from pianotx.files import check_output

        check_output(target, overwrite=overwrite, inputs=(loaded.path,) if loaded.path else ())  # before the export
        result = export_onnx(loaded, target, overwrite=overwrite)
    console.print(f"{loaded.path} -> {target}: {result['bytes'] / 1e6:.1f} MB, largest "
                  f"difference from torch {result['max_abs_diff']:.1e}", markup=False)
