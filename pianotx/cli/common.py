"""What every command shares: the consoles and the turn from errors to exit codes.

The CLI is the only part of pianotx that prints. Library errors (:class:`PianotxError`)
become one line on stderr and exit code 1; usage errors exit 2 through Typer/Click.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import typer
from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


# the score options of ``pianotx score`` and ``transcribe`` (MusicXML), one definition for both
METER_CHANGES = typer.Option(
    False, "--meter-changes",
    help="Score: let the bar length change at bar lines, with a new time signature (learned "
         "tracker only; off by default: on ASAP it finds changes in some pieces that have none).")
TIME_SIGNATURE = typer.Option(
    None, "--time-signature", metavar="N/D",
    help="Score: the piece's time signature, if you know it (2/4, 3/4, 4/4, 6/8, 9/8 or 12/8): "
         "beats and bars are tracked in it [default: found from the notes].")


def check_time_signature(time_signature: str | None, *, meter_changes: bool) -> None:
    """Before any file is read: ``--time-signature`` is one the score writes and does not come
    with ``--meter-changes`` (a :class:`~pianotx.errors.ScoreError` otherwise)."""
    if time_signature is None:
        return
    from pianotx.errors import ScoreError
    from pianotx.score.meter import given_meter

    given_meter(time_signature)
    if meter_changes:
        raise ScoreError("--time-signature holds throughout; drop --meter-changes")


KEY_CHANGES = typer.Option(
    False, "--key-changes",
    help="Score: let the key signature change where the pitch content moves to another key for "
         "long enough (off by default: on ASAP's test pieces one key held throughout is right "
         "at more beats).")


INTERRUPTED = "interrupted; files already finished stay, no half-written file is left"


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    err_console.print(f"error: {message}", markup=False)
    return typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a :class:`PianotxError` (or Ctrl-C) raised inside into one line and an exit code."""
    from pianotx.errors import PianotxError

    try:
        yield
    except PianotxError as exc:
        raise fail(str(exc)) from None
    except ModuleNotFoundError as exc:  # an optional extra a deeper import needed
        from pianotx.errors import EXTRAS, missing_extra

        if (exc.name or "").split(".")[0] not in EXTRAS:
            raise
        raise fail(str(missing_extra(exc.name, "this command"))) from None
    except KeyboardInterrupt:
        raise fail(INTERRUPTED, code=130) from None
