"""What every command shares: the consoles and the turn from errors to exit codes.

The CLI is the only part of pianotx that prints. Library errors (:class:`PianotxError`)
become one line on stderr and exit code 1 (a problem with an input or an output); usage
errors exit 2, through Typer/Click or through the ``check_*`` functions here and
``fail(message, code=2)``, before any file is read or model loaded.
"""

from __future__ import annotations

import contextlib
import re
from typing import Iterable, Iterator

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
    with ``--meter-changes`` (a usage error, exit 2, otherwise)."""
    if time_signature is None:
        return
    from pianotx.errors import ScoreError
    from pianotx.score.meter import given_meter

    try:
        given_meter(time_signature)
    except ScoreError as exc:
        raise fail(str(exc), code=2) from None
    if meter_changes:
        raise fail("--time-signature holds throughout; drop --meter-changes", code=2)


# what ``--device`` may name; whether this machine has it is checked when a model loads (exit 1)
DEVICE_NAME = re.compile(r"auto|(cpu|cuda|mps)(:\d+)?")


def check_device(device: str) -> None:
    """Before any model loads: ``--device`` names a kind of device (a usage error, exit 2,
    otherwise)."""
    if not DEVICE_NAME.fullmatch(device):
        raise fail(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps", code=2)


def check_engine(engine: str, *, device: str) -> None:
    """Before any model loads: ``--engine`` is one of the engines and, for ``onnx``, the
    device is the CPU (a usage error, exit 2, otherwise). A missing onnxruntime or export
    is found when the model loads (exit 1)."""
    from pianotx.engine.onnx_engine import ENGINES

    if engine not in ENGINES:
        raise fail(f"unknown engine {engine!r}; use {', '.join(ENGINES)}", code=2)
    if engine == "onnx" and device not in ("auto", "cpu"):
        raise fail(f"the onnx engine runs on the CPU only, not {device!r}; use --engine torch "
                   "for a GPU", code=2)


def check_timbres(names: Iterable[str]) -> None:
    """Before anything is read: each name is a timbre pianotx knows (a usage error, exit 2,
    otherwise); whether it is installed is found later (exit 1)."""
    from pianotx.data.synth.timbres import TIMBRES

    for name in names:
        if name not in TIMBRES:
            raise fail(f"unknown timbre {name!r}; choose from {', '.join(TIMBRES)}", code=2)


def check_decode(**changes: float | str) -> None:
    """Before any model loads: decode settings given as options (``onset_threshold=0.4``)
    lie in range (a usage error naming the option, exit 2, otherwise)."""
    from pianotx.config import DecodeConfig
    from pianotx.errors import ConfigError

    try:
        DecodeConfig(**changes)  # type: ignore[arg-type]  (each field has its own type)
    except ConfigError as exc:
        raise fail(flag_named(str(exc), changes), code=2) from None


def flag_named(message: str, fields: Iterable[str]) -> str:
    """``message`` with the field of ``fields`` it begins with (``onset_threshold must...``)
    named as the option that sets it (``--onset-threshold must...``)."""
    for field in fields:
        if message.startswith(f"{field} "):
            return "--" + field.replace("_", "-") + message[len(field):]
    return message


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
