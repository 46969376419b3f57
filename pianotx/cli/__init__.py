"""Command-line interface: ``pianotx transcribe|train|eval|synth|plot|render|info``.

Each command lives in its own module and registers on :data:`pianotx.cli.app.app`;
heavy libraries (torch, librosa) are imported inside the commands so ``--help`` is instant.
"""

from __future__ import annotations

from pianotx.cli import evaluate, info, plot, render, synth, train, transcribe  # noqa: F401  (registers the commands)
from pianotx.cli.app import app


def main() -> None:
    """Entry point of the ``pianotx`` console script."""
    app()
