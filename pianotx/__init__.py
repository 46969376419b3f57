"""pianotx: piano recordings to MIDI.

The public API is small and imports nothing heavy until used::

    import pianotx
    model = pianotx.load_model()            # bundled default, or a checkpoint path
    notes, pedals = pianotx.transcribe("song.wav", model=model)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.8.0"
__all__ = ["Note", "Pedal", "PianotxError", "Transcription", "__version__", "load_model",
           "transcribe"]

_LAZY = {
    "Note": ("pianotx.music.notes", "Note"),
    "Pedal": ("pianotx.music.notes", "Pedal"),
    "PianotxError": ("pianotx.errors", "PianotxError"),
    "Transcription": ("pianotx.engine.decode", "Transcription"),
    "load_model": ("pianotx.api", "load_model"),
    "transcribe": ("pianotx.api", "transcribe"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'pianotx' has no attribute {name!r}")
