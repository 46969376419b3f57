"""The optional libraries of the score chain, imported only when a score is made."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

from pianotx.errors import missing_extra


def require(module: str) -> ModuleType:
    """Import ``module`` (e.g. ``"partitura.score"``) or raise one line naming the extra
    (``pip install 'pianotx[score]'``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError:
        raise missing_extra(module.split(".")[0], "sheet music") from None
