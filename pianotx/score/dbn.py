"""Beats and bars from frame-wise beat/downbeat activations: a dynamic Bayesian network.

A bar of ``B`` beats is a state space in which every beat has, for each beat interval ``tau``
(frames per beat, log-spaced integers), ``tau`` position states (Krebs, Böck & Widmer, "An
efficient state space model for joint tempo and meter tracking", ISMIR 2015). Within a beat the
position advances one state a frame; from the last state of a beat the path moves to the first
state of the next beat, changing its interval with probability proportional to
``exp(-transition_lambda * |tau_new / tau_old - 1|)``. The first ``1 / observation_lambda`` of
each beat observes the downbeat activation (beat 1) or the beat activation (beats 2..B), the rest
observes neither (Böck, Krebs & Widmer, "Joint beat and downbeat tracking with recurrent neural
networks", ISMIR 2016; madmom's ``DBNDownBeatTrackingProcessor``). Every bar length is decoded by
Viterbi and the most probable path wins; or (``switch_log_prob``) the bar lengths' state spaces
are joined, the last beat of every bar leading to the first beat of a bar of any length, so the
meter may change at a bar line. Only beat-end -> beat-start transitions branch, so a frame costs
one ``(B, K, K)`` maximum over the ``K`` intervals per bar length and a shift of the other states.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from pianotx.errors import ScoreError

FLOOR = 1e-10  # smallest probability, so that no log is -inf


class BarTrack(NamedTuple):
    """Decoded beats: times, place in the bar (1 = downbeat), the bar length (the one that
    holds the most beats where it may change), the path's log probability, and the length of
    the bar each beat is in."""

    beats_s: np.ndarray
    positions: np.ndarray
    beats_per_bar: int
    log_prob: float
    bar_lengths: np.ndarray


def beat_intervals(fps: float, min_bpm: float, max_bpm: float, num_tempi: int) -> np.ndarray:
    """The beat intervals in frames: ``num_tempi`` log-spaced integers (deduplicated) between the
    rounded intervals of ``max_bpm`` and ``min_bpm``."""
    low = max(int(round(60.0 * fps / max_bpm)), 1)
    high = max(int(round(60.0 * fps / min_bpm)), low)
    grid = np.exp(np.linspace(np.log(low), np.log(high), num_tempi))
    return np.unique(np.round(grid).astype(int))


def tempo_log_transitions(intervals: np.ndarray, transition_lambda: float) -> np.ndarray:
    """``(K, K)`` log probability of moving from interval ``i`` (row) to ``j`` at a beat boundary:
    ``exp(-transition_lambda * |tau_j / tau_i - 1|)``, normalised over ``j``."""
    ratio = intervals[None, :] / intervals[:, None]
    log_prob = -transition_lambda * np.abs(ratio - 1.0)  # 0 on the diagonal: no overflow below
    return log_prob - np.log(np.exp(log_prob).sum(axis=1, keepdims=True))


def observation_log_densities(activations: np.ndarray, observation_lambda: int,
                              threshold: float | None = None) -> np.ndarray:
    """``(T, 3)`` log densities of a non-beat, a beat and a downbeat state in every frame.

    A non-beat state observes ``(1 - beat - down)`` scaled so that a beat state is the more
    likely where the (down)beat activation exceeds ``threshold``; madmom's density, ``(1 -
    beat - down) / (observation_lambda - 1)``, is ``threshold = 1 / observation_lambda``.
    """
    beat, down = activations[:, 0], activations[:, 1]
    if threshold is None:
        threshold = 1.0 / observation_lambda
    none = (1.0 - beat - down) * threshold / (1.0 - threshold)
    return np.log(np.maximum(np.stack([none, beat, down], axis=1), FLOOR))


def _bar_states(intervals: np.ndarray, bar_length: int, observation_lambda: int,
                beat_width: int | None, offset: int) -> dict:
    """One bar length's block of states from ``offset``: segment starts, observed column, and
    the ``(B, K)`` last state of every (beat, interval) segment."""
    n_tempi = len(intervals)
    lengths = np.tile(intervals, bar_length)  # one segment of positions per (beat, interval)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    position = np.arange(int(lengths.sum())) - np.repeat(starts, lengths)
    first_beat = np.repeat(np.arange(len(lengths)) < n_tempi, lengths)
    if beat_width is None:
        on_beat = position * observation_lambda < np.repeat(lengths, lengths)
    else:
        on_beat = position < beat_width
    return {"length": bar_length, "offset": offset, "starts": starts + offset,
            "kind": np.where(on_beat, np.where(first_beat, 2, 1), 0),  # column of ``log_obs``
            "ends": (starts + lengths - 1 + offset).reshape(bar_length, n_tempi)}


def _viterbi(log_obs: np.ndarray, intervals: np.ndarray, log_trans: np.ndarray,
             bar_lengths: Sequence[int], observation_lambda: int, beat_width: int | None = None,
             log_switch: np.ndarray | None = None, log_start: np.ndarray | None = None,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Beat frames, their beat numbers (1..B), the bar length at each beat and the log
    probability of the best path through the bars of ``bar_lengths``; a bar of length ``i``
    is followed by one of length ``j`` with log probability ``log_switch[i, j]`` (default:
    one bar length only), the first bar has length ``i`` with ``log_start[i]`` added."""
    n_tempi, n_frames = len(intervals), len(log_obs)
    blocks, offset = [], 0
    for length in bar_lengths:
        blocks.append(_bar_states(intervals, int(length), observation_lambda, beat_width, offset))
        offset += int(blocks[-1]["kind"].size)
    n_states, n_blocks = offset, len(blocks)
    joined = log_switch is not None
    kind = np.concatenate([block["kind"] for block in blocks])
    # row b of a block: the last states of beat b - 1, which lead to the first states of beat b
    previous_ends = [np.roll(block["ends"], 1, axis=0) for block in blocks]
    bar_ends = np.stack([block["ends"][-1] for block in blocks])  # (blocks, K)
    if joined:
        log_switch = np.asarray(log_switch, dtype=float)

    delta = log_obs[0, kind] - np.log(n_states)
    if log_start is not None:
        delta += np.repeat(np.asarray(log_start, dtype=float), [block["kind"].size for block in blocks])
    shifted = np.empty_like(delta)
    index = np.min_scalar_type(max(n_tempi, n_blocks) - 1)
    back = [np.zeros((n_frames, block["length"], n_tempi), dtype=index) for block in blocks]
    came_from = np.zeros((n_frames, n_blocks, n_tempi), dtype=index)  # block of the previous bar
    for t in range(1, n_frames):
        shifted[1:] = delta[:-1]
        if joined:
            into_bar = delta[bar_ends][:, None, :] + log_switch[:, :, None]  # (from block, to block, K)
        for j, block in enumerate(blocks):
            ending = delta[previous_ends[j]]
            if joined:
                came_from[t, j] = into_bar[:, j].argmax(axis=0)
                ending[0] = np.take_along_axis(into_bar[:, j], came_from[t, j][None], axis=0)[0]
            candidates = ending[:, :, None] + log_trans  # (beat, from, to)
            best = candidates.argmax(axis=1)
            back[j][t] = best
            shifted[block["starts"]] = np.take_along_axis(candidates, best[:, None, :], axis=1).ravel()
        shifted += log_obs[t, kind]
        delta, shifted = shifted, delta

    state = int(np.argmax(delta))
    j = int(np.searchsorted([block["offset"] for block in blocks], state, side="right")) - 1
    segment = int(np.searchsorted(blocks[j]["starts"], state, side="right")) - 1
    beat, tempo = divmod(segment, n_tempi)
    t, pos = n_frames - 1, state - int(blocks[j]["starts"][segment])
    frames, numbers, lengths = [], [], []
    while t - pos >= 0:  # jump from beat start to beat start
        start = t - pos
        frames.append(start)
        numbers.append(beat + 1)
        lengths.append(blocks[j]["length"])
        if start == 0:
            break
        tempo_before = int(back[j][start, beat, tempo])
        if beat == 0:
            j = int(came_from[start, j, tempo_before])
        beat = (beat - 1) % blocks[j]["length"]
        tempo = tempo_before
        t, pos = start - 1, int(intervals[tempo]) - 1
    return (np.array(frames[::-1], dtype=int), np.array(numbers[::-1], dtype=int),
            np.array(lengths[::-1], dtype=int), float(delta[state]))


def track_bars(
    activations: np.ndarray, *, fps: float, bar_lengths: Sequence[int] = (2, 3, 4),
    min_bpm: float = 40.0, max_bpm: float = 240.0, num_tempi: int = 60,
    transition_lambda: float = 100.0, observation_lambda: int = 16,
    bar_log_prior: Sequence[float] | None = None,
    tempo_log_prior: Callable[[np.ndarray], np.ndarray] | None = None,
    observation_threshold: float | None = None,
    beat_width: int | None = None,
    switch_log_prob: float | None = None,
    bar_bonus: float = 0.0,
) -> BarTrack:
    """Beats and their place in the bar from beat/downbeat activations.

    Parameters
    ----------
    activations : ndarray, shape (T, 2)
        Per frame, the probability of a beat that is not a downbeat (column 0) and of a
        downbeat (column 1), as madmom's ``RNNDownBeatProcessor`` gives them.
    fps : float
        Frames per second of ``activations``.
    bar_lengths : sequence of int
        Candidate beats per bar; each is decoded and the most probable is kept.
    min_bpm, max_bpm, num_tempi : float, float, int
        Tempo range and the number of (log-spaced) beat intervals in it.
    transition_lambda : float
        Tempo stability: larger values make tempo changes between beats less likely.
    observation_lambda : int
        The first ``1 / observation_lambda`` of each beat observes the (down)beat activation.
    bar_log_prior : sequence of float, optional
        Added to the log probability of each bar length before choosing (default all 0).
    tempo_log_prior : callable, optional
        Maps tempi (BPM, an array) to log prior weights, added each time a beat starts at
        that tempo (e.g. from a network's tempo estimate); the metrical level it favours
        costs less at every beat.
    observation_threshold : float, optional
        The activation above which a frame favours a beat state over a non-beat state
        (default ``1 / observation_lambda``, madmom's); higher values keep activations
        between the beats from pulling the path to a faster metrical level.
    switch_log_prob : float, optional
        Where given (a negative log probability), one path runs through bars of all
        ``bar_lengths`` and may change its bar length at any bar line, each change costing
        ``switch_log_prob``; ``bar_log_prior`` then weighs the first bar's length. By default
        each bar length is decoded alone and the most probable path is kept.
    bar_bonus : float
        Added to the log probability at every bar line. The path that explains weak downbeat
        activations best has the fewest downbeats, so without it the longest bar wins where
        the network is unsure; a positive bonus evens that out (and also favours, less,
        faster tempi).

    Returns
    -------
    BarTrack
        Beat times (frame / fps), positions 1..``beats_per_bar`` (1 = downbeat), the chosen bar
        length (with ``switch_log_prob``: the one holding the most beats) and the Viterbi log
        probability of its path (without ``bar_log_prior``), the bar length at each beat.
    """
    activations = np.asarray(activations, dtype=float)
    if activations.ndim != 2 or activations.shape[1] != 2:
        raise ScoreError(f"activations must have shape (frames, 2) (beat, downbeat), got "
                         f"{activations.shape}")
    if not np.all(np.isfinite(activations)):
        raise ScoreError("activations contain NaN or infinite values")
    if not fps > 0 or not 0 < min_bpm < max_bpm or observation_lambda < 2 or not bar_lengths \
            or min(bar_lengths) < 1:
        raise ScoreError("need fps > 0, 0 < min_bpm < max_bpm, observation_lambda >= 2 and at "
                         "least one bar length, each >= 1")
    prior = np.zeros(len(bar_lengths)) if bar_log_prior is None else np.asarray(bar_log_prior, float)
    if prior.shape != (len(bar_lengths),):
        raise ScoreError(f"bar_log_prior needs one value per bar length ({len(bar_lengths)}), "
                         f"got {len(prior)}")
    intervals = beat_intervals(fps, min_bpm, max_bpm, num_tempi)
    if len(activations) < intervals[-1]:
        raise ScoreError(f"{len(activations)} frames are fewer than one beat at {min_bpm} BPM "
                         f"({intervals[-1]} frames at {fps} fps)")
    if switch_log_prob is not None and not (len(bar_lengths) - 1) * np.exp(switch_log_prob) < 1:
        raise ScoreError(f"switch_log_prob must be a log probability below log(1 / {len(bar_lengths) - 1}), "
                         f"got {switch_log_prob}")
    if observation_threshold is not None and not 0 < observation_threshold < 1:
        raise ScoreError(f"observation_threshold must be between 0 and 1, got {observation_threshold}")
    log_obs = observation_log_densities(activations, observation_lambda, observation_threshold)
    log_trans = tempo_log_transitions(intervals, transition_lambda)
    if tempo_log_prior is not None:
        weights = np.asarray(tempo_log_prior(60.0 * fps / intervals), dtype=float)
        if weights.shape != intervals.shape or not np.all(np.isfinite(weights)):
            raise ScoreError("tempo_log_prior must give one finite value per tempo")
        log_trans = log_trans + weights[None, :]
    if switch_log_prob is not None and len(bar_lengths) > 1:
        stay = 1.0 - (len(bar_lengths) - 1) * np.exp(switch_log_prob)
        log_switch = np.full((len(bar_lengths),) * 2, float(switch_log_prob))
        np.fill_diagonal(log_switch, np.log(stay))
        log_switch += bar_bonus
        frames, numbers, lengths, log_prob = _viterbi(log_obs, intervals, log_trans, bar_lengths,
                                                      observation_lambda, beat_width, log_switch, prior)
        held = [int(np.sum(lengths == length)) for length in bar_lengths]
        return BarTrack(frames / float(fps), numbers, int(bar_lengths[int(np.argmax(held))]), log_prob,
                        lengths)
    bonus = np.full((1, 1), float(bar_bonus)) if bar_bonus else None
    tracks = [_viterbi(log_obs, intervals, log_trans, [int(length)], observation_lambda, beat_width, bonus)
              for length in bar_lengths]
    choice = int(np.argmax([track[3] + bonus for track, bonus in zip(tracks, prior)]))
    frames, numbers, lengths, log_prob = tracks[choice]
    return BarTrack(frames / float(fps), numbers, int(bar_lengths[choice]), log_prob, lengths)
