"""Storing the decoding a sweep chose as a checkpoint's defaults, its ONNX export included.

An export beside a checkpoint (``model.onnx`` for ``model.pt``, see
:func:`pianotx.engine.onnx_engine.onnx_path_for`) records the sha256 of the checkpoint it was
made from and the decode settings; rewriting the checkpoint alone would leave it stale, and
``pianotx transcribe`` would refuse it. So the export is made again from the saved file.
"""

from __future__ import annotations

from pathlib import Path

from pianotx.config import DecodeConfig
from pianotx.errors import PianotxError, require


def check_save_decode(checkpoint: Path) -> None:
    """Before any slow work: raise unless the export beside ``checkpoint``, if any, can be
    made again (``onnx`` and ``onnxruntime`` installed).

    Raises
    ------
    MissingExtraError
        If there is an export and a package that makes one is missing.
    """
    from pianotx.engine.onnx_engine import onnx_path_for

    exported = onnx_path_for(checkpoint)
    if exported.is_file():
        for module in ("onnx", "onnxruntime"):
            require(module, f"--save-decode into {checkpoint} (to export {exported} again)")


def save_decode(checkpoint: Path, decode: DecodeConfig) -> Path | None:
    """Store ``decode`` as the checkpoint's decode defaults, then export it again where an
    export lies beside it.

    Returns
    -------
    Path or None
        The export made again, or None when the checkpoint has none.

    Raises
    ------
    PianotxError
        If the checkpoint cannot be read or written, or the export fails (the checkpoint is
        saved then; the message says how to export it again).
    """
    from pianotx.engine.onnx_engine import onnx_path_for
    from pianotx.model.checkpoint import load_checkpoint, save_decode_defaults

    save_decode_defaults(checkpoint, decode)
    exported = onnx_path_for(checkpoint)
    if not exported.is_file():
        return None
    from pianotx.model.export import export_onnx

    try:
        export_onnx(load_checkpoint(checkpoint, device="cpu"), exported, overwrite=True)
    except PianotxError as exc:
        raise type(exc)(f"saved the decode defaults into {checkpoint} but could not export "
                        f"{exported} again ({exc}); run pianotx export {checkpoint} -o "
                        f"{exported} --overwrite") from None
    return exported
