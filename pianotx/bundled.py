"""The checkpoints shipped inside the package (``weights/`` in the source tree).

``weights/`` is installed as the package ``pianotx.weights``. Every ``NAME.pt`` there is a
bundled model called NAME; the one-line file ``DEFAULT`` names the default.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pianotx.errors import CheckpointError


def weights_dir() -> Path:
    """Folder holding the bundled checkpoints.

    An installed pianotx has them as ``pianotx.weights``. Python run inside a source tree
    imports the tree's ``pianotx/`` instead (a Ray ``working_dir``, ``python -c`` in the
    checkout), where they are the sibling folder ``weights/``.

    Raises
    ------
    CheckpointError
        If neither exists.
    """
    try:
        return Path(str(resources.files("pianotx.weights")))
    except ModuleNotFoundError:
        tree = Path(__file__).resolve().parent.parent / "weights"
        if tree.is_dir():
            return tree
        raise CheckpointError(
            f"pianotx imported from {Path(__file__).resolve().parent} has no bundled weights "
            "(pianotx.weights); install pianotx (pip install pianotx) and run it outside a "
            "copy of its source tree") from None


def bundled_models() -> dict[str, Path]:
    """Map of bundled model name -> checkpoint path, sorted by name."""
    folder = weights_dir()
    return {path.stem: path for path in sorted(folder.glob("*.pt"))}


def default_model_name() -> str | None:
    """Name of the default bundled model, or None when none is shipped."""
    marker = weights_dir() / "DEFAULT"
    if marker.is_file():
        name = marker.read_text().strip()
        if name in bundled_models():
            return name
    return None


def resolve_model(name: str | None) -> Path:
    """Path of bundled model ``name`` (the default when None).

    Raises
    ------
    CheckpointError
        If no such model is bundled.
    """
    models = bundled_models()
    if name is None:
        name = default_model_name()
        if name is None and models:  # a DEFAULT naming a model that is not there
            raise CheckpointError(
                f"the default model named in {weights_dir() / 'DEFAULT'} is not installed; "
                f"reinstall pianotx, or name one of {', '.join(models)} (--model)"
            )
        if name is None:
            raise CheckpointError(
                "no bundled model is installed in this pianotx; pass --checkpoint PATH "
                "(train one with pianotx train)"
            )
    if name not in models:
        available = ", ".join(models) or "none"
        raise CheckpointError(f"no bundled model named {name!r} (available: {available})")
    return models[name]
