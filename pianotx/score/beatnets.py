"""The beat tracker's two networks on ONNX Runtime (no torch): notes -> per-frame beat and
downbeat probabilities.

The frame network (``weights/beat-tracker.onnx``, :mod:`pianotx.model.beatnet`, trained by
:mod:`pianotx.training.beats`) reads the rhythm features of :mod:`~pianotx.score.rhythm` and
may hear the performance at several tempi; the note network (``weights/beat-notes.onnx``,
:mod:`pianotx.training.notebeats`) reads each note (:mod:`~pianotx.score.noterhythm`) and its
probabilities are placed on the frames. Each file's metadata holds its configs and, for the
frame network, the decode settings :mod:`~pianotx.score.tracker` reads.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from pianotx.errors import CheckpointError
from pianotx.music.notes import Note
from pianotx.score.noterhythm import N_NOTE_FEATURES, frame_activation, note_features, note_order
from pianotx.score.rhythm import FPS, N_FEATURES, rhythm_features

WEIGHTS_NAME = "beat-tracker.onnx"
NOTE_WEIGHTS_NAME = "beat-notes.onnx"


def tracker_path() -> Path:
    """The shipped frame network's path."""
    from pianotx.bundled import weights_dir

    return weights_dir() / WEIGHTS_NAME


def note_tracker_path() -> Path:
    """The shipped note network's path."""
    from pianotx.bundled import weights_dir

    return weights_dir() / NOTE_WEIGHTS_NAME


@functools.lru_cache(maxsize=4)
def _session(path: str):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # a small network: one thread is as fast and stays polite
    try:
        return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise CheckpointError(f"cannot load the beat tracker {path} ({exc}); reinstall pianotx") from None


def _checked_session(path: str, n_features: int):
    """The cached session of ``path``, which must take ``n_features`` features per step."""
    session = _session(path)
    width = session.get_inputs()[0].shape[-1]
    if width != n_features:
        raise CheckpointError(f"the beat tracker {path} takes {width} features, not {n_features}; "
                              "reinstall pianotx")
    return session


def tracker_metadata(path: Path | None = None) -> dict:
    """The metadata (configs, training data) stored in an ONNX file of either network."""
    session = _session(str(path or tracker_path()))
    return json.loads(session.get_modelmeta().custom_metadata_map.get("pianotx", "{}"))


def head_probabilities(notes: Sequence[Note], *, path: Path | None = None,
                       time_scales: Sequence[float] = (1.0,)) -> dict[str, np.ndarray]:
    """Per-frame probabilities of each head of the network, at ``FPS``: ``beat`` ``(n_frames,
    3)`` (no beat, beat, downbeat), and where it has them ``tempo`` ``(n_frames,
    len(TEMPO_BPM))``, ``bar`` ``(n_frames, 3)`` (2, 3, 4 beats) and ``division``
    ``(n_frames, 2)`` (simple, compound).

    With several ``time_scales`` the network also hears the performance played slower or
    faster (note times multiplied by each scale); each output is mapped back to the
    performance's frames and the probabilities are averaged.
    """
    session = _checked_session(str(path or tracker_path()), N_FEATURES)
    names = [output.name for output in session.get_outputs()]
    own = rhythm_features(notes)
    n_frames = own.shape[0]
    total: dict[str, np.ndarray] = {}
    for scale in time_scales:
        features = own if scale == 1.0 else rhythm_features(
            [Note(n.onset_s * scale, n.offset_s * scale, n.pitch, n.velocity) for n in notes])
        values = session.run(names, {"features": features[None]})
        at = np.arange(n_frames) * scale  # each performance frame's place in the scaled output
        for name, value in zip(names, values):
            frames = np.arange(len(value[0]))
            mapped = np.stack([np.interp(at, frames, column) for column in value[0].T], axis=1)
            key = "beat" if name == "probabilities" else name
            total[key] = total.get(key, 0.0) + mapped / len(time_scales)
    return total


def note_beat_probabilities(notes: Sequence[Note], n_frames: int, *,
                            path: Path | None = None) -> np.ndarray:
    """The note network's probabilities of no beat, beat and downbeat, per note, placed on
    ``n_frames`` frames at ``FPS`` (:func:`~pianotx.score.noterhythm.frame_activation`)."""
    session = _checked_session(str(path or note_tracker_path()), N_NOTE_FEATURES)
    onset = np.array([n.onset_s for n in notes], dtype=float)
    pitch = np.array([n.pitch for n in notes], dtype=int)
    order = note_order(onset, pitch)
    features = note_features(onset[order], np.array([notes[i].offset_s for i in order]), pitch[order],
                             np.array([notes[i].velocity for i in order], dtype=float))
    probabilities = session.run(None, {"features": features[None]})[0][0]
    return frame_activation(onset[order], probabilities, n_frames, fps=FPS)


def beat_probabilities(notes: Sequence[Note], *, path: Path | None = None) -> np.ndarray:
    """Per-frame probabilities ``(n_frames, 3)`` of no beat, beat and downbeat, at ``FPS``."""
    return head_probabilities(notes, path=path)["beat"]
