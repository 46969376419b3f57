"""The optional libraries of the score chain, imported only when a score is made."""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType

from pianotx.errors import missing_extra


def require(module: str) -> ModuleType:
    """Import ``module`` (e.g. ``"partitura.score"``) or raise one line naming the extra
    (``pip install 'pianotx[score]'``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if module.split(".")[0] == "partitura" and "partitura" not in sys.modules:
                _import_partitura_offline()
            return importlib.import_module(module)
    except ImportError:
        raise missing_extra(module.split(".")[0], "sheet music") from None


def _import_partitura_offline() -> None:
    """Import partitura without its synthesizer: when pyfluidsynth is installed, importing
    partitura downloads a 40 MB soundfont (and fails offline); pianotx never synthesizes
    with it, so fluidsynth is hidden from partitura's import and restored afterwards."""
    saved = sys.modules.get("fluidsynth")
    sys.modules["fluidsynth"] = None  # type: ignore[assignment]  # its import now fails
    try:
        importlib.import_module("partitura")
    finally:
        if saved is None:
            del sys.modules["fluidsynth"]
        else:
            sys.modules["fluidsynth"] = saved
