"""The learned beat tracker: notes -> beat/downbeat probabilities (ONNX Runtime) -> bars (DBN).

The network (:mod:`pianotx.model.beatnet`, trained on ASAP's tuning part by
:mod:`pianotx.training.beats`) ships as ``weights/beat-tracker.onnx`` and runs without
torch; :func:`~pianotx.score.dbn.track_bars` turns its probabilities into beats with their
place in the bar, choosing 2, 3 or 4 beats per bar; the beat's division (simple or
compound) comes from where the onsets fall between the beats.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from pianotx.errors import CheckpointError, ScoreError
from pianotx.music.notes import Note
from pianotx.score.beats import within_notes
from pianotx.score.dbn import track_bars
from pianotx.score.meter import Meter, beat_division
from pianotx.score.rhythm import BAR_LENGTHS, FPS, N_FEATURES, TEMPO_BPM, rhythm_features

WEIGHTS_NAME = "beat-tracker.onnx"


def tracker_path() -> Path:
    """The shipped network's path."""
    from pianotx.bundled import weights_dir

    return weights_dir() / WEIGHTS_NAME


@functools.lru_cache(maxsize=2)
def _session(path: str):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # a small network: one thread is as fast and stays polite
    try:
        session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise CheckpointError(f"cannot load the beat tracker {path} ({exc}); reinstall pianotx") from None
    width = session.get_inputs()[0].shape[-1]
    if width != N_FEATURES:
        raise CheckpointError(f"the beat tracker {path} takes {width} features, not {N_FEATURES}; "
                              "reinstall pianotx")
    return session


def tracker_metadata(path: Path | None = None) -> dict:
    """The metadata (configs, training data) stored in the ONNX file."""
    session = _session(str(path or tracker_path()))
    return json.loads(session.get_modelmeta().custom_metadata_map.get("pianotx", "{}"))


def head_probabilities(notes: Sequence[Note], *, path: Path | None = None) -> dict[str, np.ndarray]:
    """Per-frame probabilities of each head of the network, at ``FPS``: ``beat`` ``(n_frames,
    3)`` (no beat, beat, downbeat), and where it has them ``tempo`` ``(n_frames,
    len(TEMPO_BPM))``, ``bar`` ``(n_frames, 3)`` (2, 3, 4 beats) and ``division``
    ``(n_frames, 2)`` (simple, compound)."""
    features = rhythm_features(notes)
    session = _session(str(path or tracker_path()))
    names = [output.name for output in session.get_outputs()]
    values = session.run(names, {"features": features[None]})
    return {"beat" if name == "probabilities" else name: value[0] for name, value in zip(names, values)}


def beat_probabilities(notes: Sequence[Note], *, path: Path | None = None) -> np.ndarray:
    """Per-frame probabilities ``(n_frames, 3)`` of no beat, beat and downbeat, at ``FPS``."""
    return head_probabilities(notes, path=path)["beat"]


def _tempo_prior(tempo: np.ndarray, weight: float):
    """A log prior over tempi from the tempo head's mean over the piece, scaled by ``weight``."""
    mean = tempo.mean(axis=0)
    return lambda bpm: weight * np.log(np.interp(np.log(bpm), np.log(TEMPO_BPM), mean) + 1e-3)


def track(notes: Sequence[Note], *, path: Path | None = None, min_bpm: float = 40.0,
          max_bpm: float = 240.0, transition_lambda: float = 15.0, observation_lambda: int = 8,
          bar_log_prior: Sequence[float] = (0.0, 0.0, 0.0), tempo_weight: float = 1.0,
          meter_weight: float = 1.0) -> tuple[np.ndarray, Meter]:
    """Beat times (s) and meter of a performance.

    Parameters
    ----------
    notes : sequence of Note
        The performance, sorted by onset.
    min_bpm, max_bpm, transition_lambda, observation_lambda : float, float, float, int
        Tempo range, tempo stability and beat width of the DBN
        (:func:`~pianotx.score.dbn.track_bars`); ``transition_lambda`` and
        ``observation_lambda`` were chosen on ASAP's held-out tuning folders (beat F1 66.6
        against 60.1 with madmom's 100 and 16).
    bar_log_prior : three floats
        Log prior of 2, 3 and 4 beats per bar.
    tempo_weight, meter_weight : float
        For networks with tempo and meter heads: the weight of the tempo head's estimate (a
        log prior over tempi for the DBN) and of the bar-length head's (added to
        ``bar_log_prior``); the division then comes from the division head.

    Returns
    -------
    beats_s : ndarray
        Increasing beat times in seconds, none more than half a beat before the first onset
        or after the last.
    meter : Meter
        Beats per bar and first downbeat from the DBN; the division from the division head
        where the network has one, else from the onsets.
    """
    span_s = max(n.offset_s for n in notes)
    if span_s < 2 * 60.0 / min_bpm:
        raise ScoreError(f"the performance lasts {span_s:.1f} s, too short to find beats and bars "
                         f"(at least {2 * 60.0 / min_bpm:.1f} s); give a longer performance")
    heads = head_probabilities(notes, path=path)
    prior = np.asarray(bar_log_prior, dtype=float)
    if "bar" in heads:
        prior = prior + meter_weight * np.log(heads["bar"].mean(axis=0) + 1e-3)
    tempo_prior = _tempo_prior(heads["tempo"], tempo_weight) if "tempo" in heads else None
    bars = track_bars(heads["beat"][:, 1:], fps=FPS, bar_lengths=BAR_LENGTHS, min_bpm=min_bpm,
                      max_bpm=max_bpm, transition_lambda=transition_lambda,
                      observation_lambda=int(observation_lambda), bar_log_prior=prior,
                      tempo_log_prior=tempo_prior)
    period = float(np.median(np.diff(bars.beats_s))) if len(bars.beats_s) > 1 else 0.0
    keep = within_notes(bars.beats_s, notes, period)
    beats_s, positions = bars.beats_s[keep], bars.positions[keep]
    first = np.flatnonzero(positions == 1)
    if "division" in heads:
        division = 3 if heads["division"].mean(axis=0)[1] > 0.5 else 2
    else:
        division = beat_division(notes, beats_s) if len(beats_s) > 1 else 2
    meter = Meter(bars.beats_per_bar, division, int(first[0]) if len(first) else 0)
    return beats_s, meter
