"""Audio blocks at the model's rate -> note and pedal events, with the least look-ahead the
model allows.

A :class:`LiveSession` runs the model on short windows: each keeps ``keep_frames`` frames
and has exactly the model's receptive field (``field`` frames) of context on each side, so
its probabilities equal those of offline transcription. A frame's probabilities are known
once the audio reaches ``field`` frames past it plus half an STFT window; the decoder then
needs one more frame to confirm an onset peak. With the default note model (field 8
frames) an onset is sent when the audio is about 0.15 s past it, plus up to one window
step (``keep_frames`` frames) and the compute time of one window.
"""

from __future__ import annotations

import numpy as np

from pianotx.audio.spectrum import n_frames
from pianotx.config import DecodeConfig
from pianotx.engine.windows import window_audio, window_span
from pianotx.errors import ConfigError
from pianotx.live.decoder import LiveDecoder, LiveEvent

KEEP_FRAMES = 4  # frames each model call adds (40 ms at 100 frames/s)


class LiveSession:
    """Feed mono float32 samples at the model's rate; get :class:`LiveEvent` lists back.
    Pedal events come unless ``pedal`` (default: the decode's mode) is ``none``."""

    def __init__(self, model, *, decode: DecodeConfig | None = None,  # type: ignore[no-untyped-def]
                 keep_frames: int = KEEP_FRAMES, pedal: str | None = None) -> None:
        from pianotx.engine.windows import receptive_frames

        config = model.model_config
        field = receptive_frames(config)
        if field is None or "onset" not in config.head_names:
            raise ConfigError(f"{model.name} cannot transcribe live: that needs a note model "
                              "with an onset head and a bounded context (the default fcnn-notes)")
        if keep_frames < 1:
            raise ConfigError(f"keep_frames must be at least 1, got {keep_frames}")
        self.features = model.feature_config
        self.run_batch = _runner(model)
        self.field, self.keep = field, keep_frames
        decode = decode or model.decode_config
        self.pedal = (pedal or decode.pedal) != "none"  # pedal events, unless the mode drops them
        self.decoder = LiveDecoder(config=decode,
                                   frame_rate=self.features.frame_rate,
                                   refine=config.soft_frames > 0)
        self.buffer = np.zeros(0, np.float32)
        self.offset = 0  # recording sample of buffer[0]
        self.seen = 0  # samples fed
        self.window = 0  # next window index

    @property
    def window_frames(self) -> int:
        return self.keep + 2 * self.field

    def feed(self, samples: np.ndarray) -> list[LiveEvent]:
        """Add samples; return the events they settle."""
        self.buffer = np.concatenate([self.buffer, np.asarray(samples, np.float32)])
        self.seen += len(samples)
        events: list[LiveEvent] = []
        while self._span(self.window)[1] <= self.seen:
            events += self._run(self.window, None)
            self.window += 1
            drop = max(0, self._span(self.window)[0] - self.offset)
            self.buffer, self.offset = self.buffer[drop:], self.offset + drop
        return events

    def finish(self) -> list[LiveEvent]:
        """End of the audio: the last frames (zero-padded, as offline) and every open note."""
        total = n_frames(self.seen, hop_length=self.features.hop_length)
        events: list[LiveEvent] = []
        while self.window * self.keep < total:
            events += self._run(self.window, total)
            self.window += 1
        return events + self.decoder.close()

    def _span(self, index: int) -> tuple[int, int]:
        """Recording samples ``[first, end)`` that window ``index`` reads."""
        return window_span(index * self.keep - self.field, window_frames=self.window_frames,
                           hop_length=self.features.hop_length, n_fft=self.features.n_fft)

    def _run(self, index: int, total: int | None) -> list[LiveEvent]:
        cfg = self.features
        start = index * self.keep - self.field
        audio = window_audio(self.buffer, start, window_frames=self.window_frames,
                             hop_length=cfg.hop_length, n_fft=cfg.n_fft, offset=self.offset)
        probs = self.run_batch(audio[None])
        n = self.keep if total is None else min(self.keep, total - index * self.keep)
        return self.decoder.push({name: p[0, self.field: self.field + n] for name, p in probs.items()
                                  if name != "pedal" or self.pedal})


def _runner(model):  # type: ignore[no-untyped-def]
    from pianotx.engine.onnx_engine import OnnxModel

    if isinstance(model, OnnxModel):
        from pianotx.engine.onnx_engine import batch_runner
    else:
        from pianotx.engine.torch_engine import batch_runner
    return batch_runner(model)


def events_to_notes(events: list[LiveEvent]):  # type: ignore[no-untyped-def]
    """Pair note_on/note_off and pedal_on/pedal_off events into a Transcription."""
    from pianotx.engine.decode import Transcription
    from pianotx.music.notes import Note, Pedal

    notes, pedals, open_notes, pedal_on = [], [], {}, None
    for event in events:
        if event.kind == "note_on":
            open_notes[event.note] = event
        elif event.kind == "note_off" and event.note in open_notes:
            on = open_notes.pop(event.note)
            notes.append(Note(on.time_s, event.time_s, on.pitch, on.velocity))
        elif event.kind == "pedal_on":
            pedal_on = event.time_s
        elif event.kind == "pedal_off" and pedal_on is not None:
            pedals.append(Pedal(pedal_on, event.time_s))
            pedal_on = None
    return Transcription(sorted(notes, key=lambda n: (n.onset_s, n.pitch)), sorted(pedals))
