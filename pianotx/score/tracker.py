"""The learned beat tracker: notes -> beat/downbeat probabilities (ONNX Runtime) -> bars (DBN).

Two networks (:mod:`~pianotx.score.beatnets`: ``weights/beat-tracker.onnx``, frames, with
tempo, bar-length and division heads, and ``weights/beat-notes.onnx``, notes; trained on
ASAP's tuning part, they run without torch) give beat and downbeat probabilities; these are
mixed (decode setting ``note_weight``) and
:func:`~pianotx.score.dbn.track_bars` turns them into beats with their place in the bar,
choosing 2, 3 or 4 beats per bar; the beat's division (simple or compound) comes from the
division head where the network has one (the shipped one has not), else from the onsets
around the tracked beats.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from pianotx.errors import ScoreError
from pianotx.music.notes import Note
from pianotx.score.beatnets import head_probabilities, note_beat_probabilities, tracker_metadata
from pianotx.score.beats import within_notes
from pianotx.score.candidates import (CANDIDATES, FRAME_LENGTHS, LENGTHS, Track, candidate_features,
                                      candidate_scores, check_chooser)
from pianotx.score.dbn import track_bars
from pianotx.score.level import check_level_model, choose_step, halve_bars, level_features, thin
from pianotx.score.meter import Meter, beat_division
from pianotx.score.rhythm import BAR_LENGTHS, FPS, TEMPO_BPM


def _tempo_prior(tempo: np.ndarray, weight: float):
    """A log prior over tempi from the tempo head's mean over the piece, scaled by ``weight``."""
    mean = tempo.mean(axis=0)
    return lambda bpm: weight * np.log(np.interp(np.log(bpm), np.log(TEMPO_BPM), mean) + 1e-3)


DECODE_DEFAULTS = {
    "min_bpm": 40.0, "max_bpm": 240.0, "transition_lambda": 15.0, "observation_lambda": 8,
    "observation_threshold": None, "beat_width": None, "bar_log_prior": (0.0, 0.0, 0.0),
    "tempo_weight": 1.0, "meter_weight": 1.0, "division_threshold": 0.5, "time_scales": (1.0,),
    "note_weight": 0.0, "bars_from_frames": False, "switch_log_prob": None,
    "bar_bonus": 0.0, "level_model": None, "split_compound": True, "long_bars": False,
    "chooser": None,
}

LONG_BAR_LENGTHS = (6, 8)  # bars of tracked beats read as bars of 3 and 4 beats at half the rate


def decode_settings(path: Path | None = None, **options) -> dict:
    """The DBN settings for a network: :data:`DECODE_DEFAULTS`, then those stored with the
    network (its metadata's ``decode``, chosen on ASAP's held-out tuning folders), then
    ``options``; an unknown name is a :class:`ScoreError`."""
    stored = tracker_metadata(path).get("decode", {})
    unknown = sorted(set(stored) - set(DECODE_DEFAULTS)) + sorted(set(options) - set(DECODE_DEFAULTS))
    if unknown:
        raise ScoreError(f"unknown beat-tracker setting {unknown[0]!r}; use one of "
                         f"{', '.join(DECODE_DEFAULTS)}")
    return DECODE_DEFAULTS | stored | {k: v for k, v in options.items() if v is not None}


def dbn_arguments(settings: dict) -> dict:
    """The :func:`~pianotx.score.dbn.track_bars` arguments that come straight from decode
    ``settings`` (:func:`decode_settings`): tempo range, transition and observation model."""
    width = settings["beat_width"]
    return {"min_bpm": float(settings["min_bpm"]), "max_bpm": float(settings["max_bpm"]),
            "transition_lambda": float(settings["transition_lambda"]),
            "observation_lambda": int(settings["observation_lambda"]),
            "observation_threshold": settings["observation_threshold"],
            "beat_width": None if width is None else int(width),
            "switch_log_prob": None if settings["switch_log_prob"] is None else float(settings["switch_log_prob"]),
            "bar_bonus": float(settings["bar_bonus"])}


def track(notes: Sequence[Note], *, path: Path | None = None, note_path: Path | None = None,
          meter: tuple[int, int] | None = None, **options) -> tuple[np.ndarray, Meter]:
    """Beat times (s) and meter of a performance.

    Parameters
    ----------
    notes : sequence of Note
        The performance, sorted by onset.
    path : Path, optional
        The frame network (default: the shipped one).
    note_path : Path, optional
        The note network (default: the shipped one), heard where ``note_weight`` > 0.
    meter : (int, int), optional
        Beats per bar and division the user knows (:func:`~pianotx.score.meter.given_meter`):
        the DBN tracks bars of that many beats on the mixed probabilities and the meter is
        that one (:func:`given_track`: no level model, chooser, long bars or split of
        compound bars; not with ``switch_log_prob``).
    **options
        DBN settings over those stored with the network (:func:`decode_settings`):
        ``min_bpm``, ``max_bpm``, ``transition_lambda``, ``observation_lambda``,
        ``observation_threshold``, ``beat_width`` (:func:`~pianotx.score.dbn.track_bars`);
        ``bar_log_prior`` (three floats: 2, 3 and 4 beats per bar); for networks with tempo
        and meter heads ``tempo_weight`` and ``meter_weight`` (the weight of the tempo head's
        estimate as a log prior over tempi, and of the bar-length head's as a prior over bar
        lengths) and ``division_threshold`` (the division head's mean probability of a
        compound beat above which the beat is compound); ``time_scales``
        (:func:`head_probabilities`); ``note_weight`` (the note network's share of the beat
        and downbeat probabilities, :func:`note_beat_probabilities`) and ``bars_from_frames``
        (with a note network, choose the bar length on the frame network's probabilities alone,
        then track beats and bars of that length on the mixed ones); ``switch_log_prob`` (the
        bar length may change at a bar line, each change costing this log probability; then
        the bar length is not chosen on the frame network alone); ``bar_bonus`` (log weight
        of every bar line in the decode that chooses the bar length, against the DBN's
        preference for the longest bar, :func:`~pianotx.score.dbn.track_bars`); ``level_model``
        (with a note network and one bar length: the logistic model of
        :mod:`~pianotx.score.level` that may keep every second or third beat only; 0 turns
        the stored one off); ``split_compound`` (bars of four compound beats, 12/8, are
        written as two bars of two, 6/8: on ASAP's tuning part 12/8 came out 19 times and was
        right once, and 6/8 is five times as common; 0 keeps them); ``long_bars`` (where the bar
        length is chosen, bars of 6 and 8 tracked beats are candidates too, and such a bar
        is read as 3 or 4 beats at half the tracked rate, every second beat kept: the beats
        were tracked at twice the notated rate but the downbeats tell the bar; not with
        ``switch_log_prob``); ``chooser`` (the conditional logit of
        :mod:`~pianotx.score.candidates` that picks the bar length and the metrical level
        together among seven candidates; with it the bar length is not chosen on the frame
        network alone, the level model is not asked and there are no long bars or bar-length
        changes; 0 turns a stored one off).

    Returns
    -------
    beats_s : ndarray
        Increasing beat times in seconds, none more than half a beat before the first onset
        or after the last.
    meter : Meter
        Beats per bar and first downbeat from the DBN (with ``switch_log_prob``, the runs of
        bars of each length where it changes; with ``long_bars``, bars of 3 or 4 beats where
        it chose bars of 6 or 8; with ``level_model``, bars of half or a third
        as many beats where every second or third beat is kept; with ``split_compound``,
        bars of two compound beats instead of four); the division from the
        division head where the network has one, else from the onsets around the beats kept.
    """
    settings = decode_settings(path, **options)
    if meter is not None:
        return given_track(notes, settings, meter, path=path, note_path=note_path)
    if settings["chooser"]:
        return chosen_track(notes, settings, path=path, note_path=note_path)
    decoded = decode_beats(notes, settings, path=path, note_path=note_path)
    beats_s, positions, beats_per_bar = decoded.beats_s, decoded.positions, decoded.beats_per_bar
    bar_lengths = decoded.bar_lengths
    one_length = len(bar_runs(positions, bar_lengths)) < 2  # only then may the level or the bar change
    step = 1
    if beats_per_bar in LONG_BAR_LENGTHS:  # bars of 6 or 8 tracked beats: 3 or 4 at half the rate
        step = 2
    elif settings["level_model"] and decoded.note_probabilities is not None and len(beats_s) >= 4 and one_length:
        check_level_model(settings["level_model"])
        features = level_features(notes, beats_s, beats_per_bar, decoded.probabilities(), fps=FPS)
        step = choose_step(features, settings["level_model"])
    if step > 1:
        beats_s, positions, beats_per_bar = thin(beats_s, positions, beats_per_bar, step)
        bar_lengths = np.full(len(positions), beats_per_bar)
    if decoded.division is not None:
        division = decoded.division
    else:
        division = beat_division(notes, beats_s) if len(beats_s) > 1 else 2
    if settings["split_compound"] and division == 3 and beats_per_bar == 4 and one_length:
        positions, beats_per_bar = halve_bars(positions), 2
        bar_lengths = np.full(len(positions), beats_per_bar)
    return beats_s, bar_meter(positions, bar_lengths, beats_per_bar, division)


def given_track(notes: Sequence[Note], settings: dict, meter: tuple[int, int], *, path: Path | None = None,
                note_path: Path | None = None) -> tuple[np.ndarray, Meter]:
    """Beats and bars of the ``meter`` the user gives (beats per bar, division), tracked on the
    mixed probabilities at the level the DBN finds (no level model: on ASAP's test part it
    lowered downbeat F1 from 54.2 to 53.1 here, docs/SCORE.md)."""
    beats_per_bar, division = meter
    if settings["switch_log_prob"] is not None:
        raise ScoreError("a given time signature holds throughout; drop the meter changes")
    decoded = decode_beats(notes, settings, path=path, note_path=note_path, bar_length=beats_per_bar)
    return decoded.beats_s, bar_meter(decoded.positions, decoded.bar_lengths, beats_per_bar, division)


def chosen_track(notes: Sequence[Note], settings: dict, *, path: Path | None = None,
                 note_path: Path | None = None) -> tuple[np.ndarray, Meter]:
    """Beats and meter of the candidate the ``chooser`` of ``settings`` picks
    (:mod:`~pianotx.score.candidates`): the DBN decodes bars of each of
    :data:`~pianotx.score.candidates.LENGTHS` tracked beats on the mixed probabilities (and of
    2, 3 and 4 on the frame network's alone, for their log probabilities), each read at
    every beat or every second or third."""
    check_chooser(settings["chooser"])
    probabilities, tracks, frame_log_probs = candidate_tracks(notes, settings, path=path, note_path=note_path)
    kept, features = [], []
    for length, step in CANDIDATES:
        candidate = thin(tracks[length].beats_s, tracks[length].positions, length, step)
        if len(candidate.beats_s) < 4:
            continue
        division = beat_division(notes, candidate.beats_s)
        kept.append((candidate, division))
        features.append(candidate_features(notes, probabilities, tracks, frame_log_probs, length, step,
                                           candidate, division, fps=FPS))
    if not kept:  # too few beats for any candidate: the shortest bars as tracked
        track = tracks[min(tracks)]
        return track.beats_s, uniform_meter(track.positions, min(tracks),
                                            beat_division(notes, track.beats_s) if len(track.beats_s) > 1 else 2)
    (candidate, division) = kept[int(np.argmax(candidate_scores(np.array(features), settings["chooser"])))]
    return candidate.beats_s, uniform_meter(candidate.positions, candidate.beats_per_bar, division,
                                            split_compound=bool(settings["split_compound"]))


def candidate_tracks(notes: Sequence[Note], settings: dict, *, path: Path | None = None,
                     note_path: Path | None = None) -> tuple[tuple[np.ndarray, ...], dict[int, Track], dict[int, float]]:
    """The probabilities (mixed, frame network's, note network's; the frame network's again
    without a note network), the DBN's :class:`~pianotx.score.candidates.Track` of each of
    :data:`~pianotx.score.candidates.LENGTHS` on the mixed ones (beats within the notes) and
    its log probability of each of :data:`~pianotx.score.candidates.FRAME_LENGTHS` on the
    frame network's alone."""
    check_span(notes, float(settings["min_bpm"]))
    heads = head_probabilities(notes, path=path, time_scales=np.atleast_1d(settings["time_scales"]))
    frame, share = heads["beat"], float(settings["note_weight"])
    by_notes = note_beat_probabilities(notes, len(frame), path=note_path) if share > 0 else frame
    mixed = (1.0 - share) * frame + share * by_notes
    arguments = dbn_arguments(settings) | {"bar_bonus": 0.0}
    frame_log_probs = {length: track_bars(frame[:, 1:], fps=FPS, bar_lengths=[length], **arguments).log_prob
                       for length in FRAME_LENGTHS}
    tracks = {}
    for length in LENGTHS:
        bars = track_bars(mixed[:, 1:], fps=FPS, bar_lengths=[length], **arguments)
        keep = beats_within_notes(bars.beats_s, notes)
        tracks[length] = Track(bars.beats_s[keep], bars.positions[keep], bars.log_prob)
    return (mixed, frame, by_notes), tracks, frame_log_probs


def beats_within_notes(beats_s: np.ndarray, notes: Sequence[Note]) -> np.ndarray:
    """The mask of decoded beats within the notes, at their median period
    (:func:`~pianotx.score.beats.within_notes`)."""
    period = float(np.median(np.diff(beats_s))) if len(beats_s) > 1 else 0.0
    return within_notes(beats_s, notes, period)


def uniform_meter(positions: np.ndarray, beats_per_bar: int, division: int, *, split_compound: bool = True) -> Meter:
    """The :class:`Meter` of beats in bars of one length (``positions``: places in the bar,
    1 = downbeat); with ``split_compound`` a bar of four compound beats is two bars of two."""
    if split_compound and division == 3 and beats_per_bar == 4:
        positions, beats_per_bar = halve_bars(positions), 2
    return bar_meter(positions, np.full(len(positions), beats_per_bar), beats_per_bar, division)


def check_span(notes: Sequence[Note], min_bpm: float) -> None:
    """A :class:`ScoreError` where the notes last less than two beats at ``min_bpm``."""
    span_s = max(n.offset_s for n in notes) - min(n.onset_s for n in notes)
    if span_s < 2 * 60.0 / min_bpm:
        raise ScoreError(f"the performance lasts {span_s:.2f} s, too short to find beats and bars "
                         f"(at least {2 * 60.0 / min_bpm:.2f} s); give a longer performance")


class Decoded(NamedTuple):
    """The DBN's beats within the notes, their places in the bar, bar lengths (one per beat)
    and the bar length holding most beats; the probabilities decoded (after mixing), the frame
    network's and the note network's (None without one), per frame at ``FPS``; the division
    from the division head (None without one)."""

    beats_s: np.ndarray
    positions: np.ndarray
    bar_lengths: np.ndarray
    beats_per_bar: int
    mixed: np.ndarray
    frame_probabilities: np.ndarray
    note_probabilities: np.ndarray | None
    division: int | None

    def probabilities(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mixed, frame-network and note-network probabilities, as the level model reads them."""
        return self.mixed, self.frame_probabilities, self.note_probabilities


def decode_beats(notes: Sequence[Note], settings: dict, *, path: Path | None = None,
                 note_path: Path | None = None, bar_length: int | None = None) -> Decoded:
    """The networks' probabilities and the DBN's bars under ``settings`` (:func:`decode_settings`),
    before the metrical level is chosen (:func:`track`); bars of ``bar_length`` beats only
    where it is given."""
    check_span(notes, float(settings["min_bpm"]))
    heads = head_probabilities(notes, path=path, time_scales=np.atleast_1d(settings["time_scales"]))
    prior = np.asarray(settings["bar_log_prior"], dtype=float)
    if "bar" in heads:
        prior = prior + settings["meter_weight"] * np.log(heads["bar"].mean(axis=0) + 1e-3)
    tempo_prior = (_tempo_prior(heads["tempo"], settings["tempo_weight"])
                   if "tempo" in heads and settings["tempo_weight"] else None)

    def decode(beat: np.ndarray, lengths: Sequence[int], log_prior: np.ndarray):
        arguments = dbn_arguments(settings)
        if len(lengths) == 1:  # the bar length is chosen: no bonus for bar lines
            arguments["bar_bonus"] = 0.0
        return track_bars(beat[:, 1:], fps=FPS, bar_lengths=lengths, bar_log_prior=log_prior,
                          tempo_log_prior=tempo_prior, **arguments)

    share, lengths = float(settings["note_weight"]), list(BAR_LENGTHS)
    if bar_length is not None:
        prior, lengths = np.zeros(1), [int(bar_length)]
    elif settings["long_bars"] and settings["switch_log_prob"] is None:
        lengths += list(LONG_BAR_LENGTHS)
        prior = np.concatenate([prior, np.zeros(len(LONG_BAR_LENGTHS))])
    frame, by_notes, mixed = heads["beat"], None, heads["beat"]
    if share > 0:
        by_notes = note_beat_probabilities(notes, len(frame), path=note_path)
        if settings["bars_from_frames"] and settings["switch_log_prob"] is None and len(lengths) > 1:
            # the bar length as the frame network alone hears it
            chosen = decode(frame, lengths, prior).beats_per_bar
            prior, lengths = prior[[lengths.index(chosen)]], [chosen]
        mixed = (1.0 - share) * frame + share * by_notes
    bars = decode(mixed, lengths, prior)
    keep = beats_within_notes(bars.beats_s, notes)
    division = None
    if "division" in heads:
        division = 3 if heads["division"].mean(axis=0)[1] > settings["division_threshold"] else 2
    return Decoded(bars.beats_s[keep], bars.positions[keep], bars.bar_lengths[keep], bars.beats_per_bar,
                   mixed, frame, by_notes, division)


def bar_meter(positions: np.ndarray, bar_lengths: np.ndarray, beats_per_bar: int, division: int) -> Meter:
    """The :class:`Meter` of decoded beats from their places in the bar (1 = downbeat) and
    the length of their bars: its first downbeat starts the first bar of ``beats_per_bar``
    beats; its runs are :func:`bar_runs` where there is more than one."""
    runs = bar_runs(positions, bar_lengths)
    first = [start for start, length in runs if length == beats_per_bar]
    return Meter(beats_per_bar, division, first[0] if first else 0, runs if len(runs) > 1 else ())


def bar_runs(positions: np.ndarray, bar_lengths: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Runs of bars of equal length: (index of the beat that starts the run's first bar, bar
    length) for every downbeat (position 1) where the bar length differs from the bar before."""
    runs: list[tuple[int, int]] = []
    for index in np.flatnonzero(np.asarray(positions) == 1):
        if not runs or runs[-1][1] != int(bar_lengths[index]):
            runs.append((int(index), int(bar_lengths[index])))
    return tuple(runs)
