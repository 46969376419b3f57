"""``pianotx listen``: transcribe live audio (an input device or raw PCM on standard input)
as it arrives, sending notes to a MIDI port, JSON lines and a MIDI file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import check_engine, console, err_console, fail, user_errors


@app.command("listen")
def listen(
    stdin: bool = typer.Option(False, "--stdin", help="Read raw PCM from standard input."),
    rate: int = typer.Option(16000, "--rate", min=1, help="--stdin sample rate in Hz."),
    channels: int = typer.Option(1, "--channels", min=1, help="--stdin interleaved channels."),
    fmt: str = typer.Option("s16le", "--format", metavar="FMT", help="--stdin samples: s16le or f32le."),
    realtime: bool = typer.Option(
        False, "--realtime",
        help="--stdin arrives at real-time pace (a live pipe): drop audio rather than fall behind."),
    device: Optional[str] = typer.Option(
        None, "--device", metavar="NAME|INDEX", help="Input device (default: the system's; needs pianotx[live])."),
    list_devices: bool = typer.Option(False, "--list-devices", help="List input devices and exit."),
    out: Optional[Path] = typer.Option(
        None, "-o", "--out", help="MIDI file written when listening stops (also on Ctrl-C)."),
    port: Optional[str] = typer.Option(
        None, "--port", metavar="NAME",
        help="Send notes to this MIDI output port (a new virtual port if none has the name; "
             "needs pianotx[live])."),
    as_json: bool = typer.Option(
        False, "--json",
        help="Print one JSON line per event: type, pitch, velocity, time_s (audio time of the "
             "onset or release), emitted_s (audio time when sent) and latency_s."),
    model: Optional[str] = typer.Option(None, "--model", help="Bundled note model (see info)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="A .pt checkpoint."),
    engine: str = typer.Option("auto", "--engine", metavar="ENGINE", help="torch, onnx or auto."),
    threads: int = typer.Option(
        1, "--threads", min=0,
        help="Inference threads (0: one per core). One keeps up with real time at a fraction "
             "of a core and leaves the others to the rest of the machine (a DAW, training)."),
    pedal: Optional[str] = typer.Option(
        None, "--pedal", metavar="MODE",
        help="Predicted sustain pedal: cc64 (sent and written as CC64), extend (the file's notes "
             "held by it; CC64 on the port) or none [default: the model's]."),
    max_lag: float = typer.Option(
        0.5, "--max-lag", min=0.05, metavar="S",
        help="Real-time sources: drop a block when more than S seconds of audio wait."),
    tempo: float = typer.Option(120.0, "--tempo", min=4.0, max=1000.0, help="Tempo of the MIDI file."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing -o file."),
) -> None:
    """Transcribe live piano audio: notes out as they are played (about 0.2 s behind)."""
    if threads:  # before numpy loads: idle BLAS threads spin, and would take a core each
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, str(threads))
    if model is not None and checkpoint is not None:
        raise fail("--model and --checkpoint exclude each other; give one", code=2)
    if list_devices:
        with user_errors():
            _print_devices()
        return
    if stdin and device is not None:
        raise fail("--stdin and --device exclude each other; give one", code=2)
    from pianotx.config import PEDAL_MODES
    from pianotx.live.sources import FORMATS

    if pedal is not None and pedal not in PEDAL_MODES:
        raise fail(f"unknown --pedal {pedal!r}; use {', '.join(PEDAL_MODES)}", code=2)
    if fmt not in FORMATS:
        raise fail(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}", code=2)
    check_engine(engine, device="cpu")  # the model runs on the CPU
    with user_errors():
        from pianotx.api import load_model
        from pianotx.errors import AudioError
        from pianotx.live.session import LiveSession
        from pianotx.live.sources import device_blocks, pcm_blocks, run_live, stdin_binary

        _check_out(out, overwrite=overwrite)
        # every setup error before the model loads: the source is checked (a device opened)
        if stdin:
            blocks, lag = pcm_blocks(stdin_binary(), rate=rate, channels=channels, fmt=fmt), (
                max_lag if realtime else None)
        else:
            blocks, lag = device_blocks(_device_id(device)), max_lag
        send = _port(port) if port else None
        loaded = load_model(checkpoint if checkpoint is not None else model, device="cpu",
                            engine=engine, threads=threads)
        mode = pedal or loaded.decode_config.pedal
        LiveSession(loaded, pedal=mode)  # refuses a model that cannot stream, before any audio
        err_console.print("listening; Ctrl-C stops", markup=False)

        def on_event(event, emitted_s: float, latency_s: float) -> None:  # type: ignore[no-untyped-def]
            if send is not None:
                send(event)
            if as_json:
                console.print(json.dumps({
                    "type": event.kind, "pitch": event.pitch, "velocity": event.velocity,
                    "note": event.note, "time_s": round(event.time_s, 4),
                    "emitted_s": round(emitted_s, 4), "latency_s": round(latency_s, 4)}),
                    markup=False)

        unreported = {"s": 0.0, "at": -1.0}

        def on_drop(seconds: float) -> None:  # one warning a second at most, with what it sums
            unreported["s"] += seconds
            now = time.monotonic()
            if now - unreported["at"] >= 1.0:
                err_console.print(f"warning: falling behind; dropped {unreported['s'] * 1000:.0f} ms of audio",
                                  markup=False)
                unreported.update(s=0.0, at=now)

        stats = run_live(blocks, lambda: LiveSession(loaded, pedal=mode), on_event=on_event,
                         max_lag_s=lag, on_drop=on_drop)
        if stats.audio_s == 0 and (stats.error is not None or not stats.interrupted):
            raise stats.error or AudioError(  # nothing heard: no empty file, no summary
                "no audio arrived on standard input; check the pipe" if stdin
                else "no audio arrived from the input device")
        notes = _write(out, stats, mode=mode, tempo=tempo, overwrite=overwrite)
        summary = (f"{notes} notes in {stats.audio_s:.1f} s of audio; real-time factor "
                   f"{stats.real_time_factor:.1f}x" + (f"; dropped {stats.dropped} blocks "
                                                       f"({stats.dropped_s:.2f} s)" if stats.dropped else "")
                   + (f"; wrote {out}" if out is not None else ""))
        err_console.print(summary, markup=False)
        if stats.error is not None:
            raise stats.error
        if stats.interrupted:
            raise typer.Exit(130)


def _write(out: Path | None, stats, *, mode: str, tempo: float, overwrite: bool) -> int:  # type: ignore[no-untyped-def]
    """Write the notes sent as a MIDI file (with the pedal mode applied); their count."""
    from pianotx.engine.decode import apply_pedal_mode
    from pianotx.live.session import events_to_notes

    notes, pedals = apply_pedal_mode(*events_to_notes([event for event, _, _ in stats.events]),
                                     mode=mode)
    if out is not None:
        from pianotx.cli.outputs import write_outputs

        write_outputs(notes, pedals, {"mid": out}, tempo_bpm=tempo, overwrite=overwrite)
    return len(notes)


def _device_id(device: str | None):  # type: ignore[no-untyped-def]
    return int(device) if device is not None and device.isdigit() else device


def _check_out(out: Path | None, *, overwrite: bool) -> None:
    """Refuse an ``-o`` that is not a new (or, with ``overwrite``, any) .mid or .midi file."""
    from pianotx.files import check_output

    if out is not None:
        check_output(out, overwrite=overwrite, suffixes=(".mid", ".midi"))


def _print_devices() -> None:
    from pianotx.live.sources import input_devices

    for index, name, channels, rate in input_devices():
        console.print(f"{index}: {name} ({channels} channels, {rate:.0f} Hz)", markup=False)


def _port(name: str):  # type: ignore[no-untyped-def]
    """A function sending live events to MIDI output port ``name`` (opened or created)."""
    import mido

    from pianotx.errors import OutputError

    try:
        names = mido.get_output_names()
        port = mido.open_output(name) if name in names else mido.open_output(name, virtual=True)
    except (OSError, ImportError) as exc:
        raise OutputError(f"cannot open MIDI port {name!r} ({exc}); install pianotx[live] "
                          "and check the port name") from None
    sounding: dict[int, int] = {}  # pitch -> the note number sounding on it

    def send(event) -> None:  # type: ignore[no-untyped-def]
        if event.kind == "note_on":
            if event.pitch in sounding:  # its release waits for the offset head: end it now
                port.send(mido.Message("note_off", note=event.pitch))
            sounding[event.pitch] = event.note
            port.send(mido.Message("note_on", note=event.pitch, velocity=event.velocity))
        elif event.kind == "note_off" and sounding.get(event.pitch) == event.note:
            del sounding[event.pitch]
            port.send(mido.Message("note_off", note=event.pitch))
        elif event.kind in ("pedal_on", "pedal_off"):
            value = 127 if event.kind == "pedal_on" else 0
            port.send(mido.Message("control_change", control=64, value=value))

    return send
