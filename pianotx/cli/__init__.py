"""Command-line interface: ``pianotx transcribe|listen|score|train|eval|synth|timbres|plot|render|export|info``.

Each command lives in its own module and registers on :data:`pianotx.cli.app.app`;
heavy libraries (torch, librosa) are imported inside the commands so ``--help`` is instant.
"""

from __future__ import annotations

from pianotx.cli import (  # noqa: F401  (registers the commands)
    evaluate, export, info, listen, plot, render, score, synth, timbres, train, transcribe,
)
from pianotx.cli.app import app


def main() -> None:
    """Entry point of the ``pianotx`` console script."""
    import sys

    from pianotx.cli.batch import bare_ray

    app(args=bare_ray(sys.argv[1:]), prog_name="pianotx")
