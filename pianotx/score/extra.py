"""The optional libraries of the score chain, imported only when a score is made."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

from pianotx.errors import PianotxError

INSTALL = 'pip install "pianotx[score]"'


def require(module: str) -> ModuleType:
    """Import ``module`` (e.g. ``"partitura.score"``) or raise one line naming the extra."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError:
        raise PianotxError(
            f"the score chain needs {module.split('.')[0]}; install it with {INSTALL}") from None
