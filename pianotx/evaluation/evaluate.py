"""Score models, or MIDI files made by any transcriber, against a dataset's references.

References come from :func:`pianotx.data.readers.load_reference` (pedal-extended notes and the
sustain intervals). A model's notes are decoded from its probability rolls with the same
:func:`pianotx.engine.decode.extract_notes` that ``pianotx transcribe`` uses; a prediction MIDI is
pedal-extended when it carries CC64, like the references. Scores are computed per piece
(:func:`pianotx.evaluation.metrics.piece_scores`, always at 100 frames/s) and averaged over pieces.
Nothing here prints: progress goes to an ``on_progress(done, total, title)`` callback.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from pianotx.config import FRAME_RATE, DecodeConfig, FeatureConfig
from pianotx.errors import DatasetError
from pianotx.evaluation.matching import find_prediction  # noqa: F401  (its old home)
from pianotx.evaluation.matching import expected_names, find_predictions, piece_names
from pianotx.evaluation.metrics import (frame_scores, mean_scores, note_scores, piece_scores,
                                        score_counts)
from pianotx.music.notes import Note, Pedal, extend_by_pedal, notes_to_rolls

Progress = Callable[[int, int, str], None]
DEFAULT_GRID = {
    "onset_threshold": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
    "frame_threshold": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
}
OFFSET_GRID = (0.2, 0.3, 0.5)  # offset thresholds tried by the default sweep of note models
# Onset-threshold rises per octave below middle C (DecodeConfig.onset_bass_slope) tried by
# the default sweep of note models; on maps-dev 0.1-0.15 gained more than a point of onset
# F1 over none (python bench/decode_options.py ../shared/data/maps-dev).
ONSET_BASS_SLOPE_GRID = (0.0, 0.05, 0.1, 0.15, 0.2)
# Frame-started notes (DecodeConfig.frame_note_min_s) off and on in the default sweep of
# note models; on maps-dev they added 3-4 points of onset F1.
FRAME_NOTE_GRID = (0.0, 0.1)


class PieceResult(NamedTuple):
    """The scores of one piece: its name (the audio stem, or where items share a stem its
    path below their common folder; see :func:`~pianotx.evaluation.matching.piece_names`),
    its title, and flat ``scores``."""

    piece: str
    title: str
    scores: dict[str, float]


class SweepResult(NamedTuple):
    """A sweep's outcome: the chosen ``decode``, the ``swept`` fields, the ``metric`` it
    maximized with its mean ``score``, and each grid point's mean in ``table``."""

    decode: DecodeConfig
    swept: tuple[str, ...]
    metric: str
    score: float
    table: list[tuple[DecodeConfig, float]]


def _report(on_progress: Progress | None, done: int, total: int, title: str) -> None:
    if on_progress is not None:
        on_progress(done, total, title)


def load_items(root: Path, *, split: str | None = None, limit: int | None = None) -> list:
    """Return the dataset items of ``split`` under ``root``, the first ``limit`` of them.

    Raises
    ------
    DatasetError
        If the split holds no pieces, or ``limit`` is not positive.
    """
    from pianotx.data import readers as data

    if limit is not None and limit < 1:
        raise DatasetError(f"--limit must be at least 1, got {limit}")
    items = list(data.find_items(Path(root), split=split))
    if not items:
        where = f"split {split!r} of {root}" if split else str(root)
        raise DatasetError(f"no pieces found in {where}; check --data and --split")
    return items[:limit] if limit is not None else items


def summarize(results: Sequence[PieceResult]) -> dict[str, float]:
    """Mean of every score over the pieces (see :func:`pianotx.evaluation.metrics.mean_scores`)."""
    return mean_scores([result.scores for result in results])


def coverage(results: Sequence[PieceResult]) -> dict[str, int]:
    """Pieces each mean covers, for the scores some pieces lack (pedal scores exist only
    where the reference has presses); empty when every score covers every piece."""
    counts = score_counts([result.scores for result in results])
    return {key: n for key, n in counts.items() if n < len(results)}


def evaluate_model(
    model: Any,
    items: Sequence,
    *,
    decode: DecodeConfig | None = None,
    batch_size: int = 8,
    on_progress: Progress | None = None,
) -> list[PieceResult]:
    """Transcribe each item's audio with ``model`` and score it against the reference.

    Parameters
    ----------
    model : LoadedModel
        A model from :func:`pianotx.api.load_model` or :func:`pianotx.model.checkpoint.load_checkpoint`.
    items : sequence of Item
        Dataset pieces (:func:`load_items`).
    decode : DecodeConfig, optional
        Thresholds to decode with; the model's own ``decode_config`` by default.
    batch_size : int > 0
        Windows per forward pass.
    on_progress : callable, optional
        Called as ``on_progress(done, total, title)`` after each piece.

    Returns
    -------
    list of PieceResult
        One per item, in order. ``frame/*`` scores the frame head thresholded at the
        decode's ``frame_threshold`` (the paper's metric); ``note_frame/*`` the decoded
        notes redrawn at 100 frames/s, as for any other transcriber's MIDI.
    """
    decode = decode or model.decode_config
    results, names = [], piece_names(items)
    for i, (item, probs) in enumerate(_predictions(model, items, batch_size=batch_size)):
        notes, pedals = _decoded_as_heard(model, probs, decode)
        ref_notes, ref_pedals = _reference(item)
        scored_pedals = pedals if _outputs_pedal(model, decode) else None
        est_frame = probs["frame"] >= decode.frame_threshold
        scores = piece_scores(ref_notes, ref_pedals, notes, scored_pedals, frame_rate=FRAME_RATE,
                              n_frames=len(est_frame), est_frame=est_frame)
        results.append(PieceResult(names[i], item.title, scores))
        _report(on_progress, i + 1, len(items), item.title)
    return results


def _outputs_pedal(model: Any, decode: DecodeConfig) -> bool:
    """Whether the model transcribes the pedal as CC64 presses (a pedal head, mode cc64);
    its pedal scores then count every reference press, predicted or not."""
    return "pedal" in model.model_config.head_names and decode.pedal == "cc64"


def _decoded_as_heard(model: Any, probs: Any, decode: DecodeConfig) -> tuple[list[Note], list[Pedal]]:
    """Decode one piece's rolls; with pedal events, notes are held as the pedal holds them
    (scored as the written MIDI sounds, like another transcriber's CC64)."""
    from pianotx.engine.decode import apply_pedal_mode, decode_rolls

    notes, pedals = decode_rolls(probs, config=decode, refine=model.model_config.soft_frames > 0,
                                 frame_rate=model.feature_config.frame_rate)
    notes, pedals = apply_pedal_mode(notes, pedals, mode=decode.pedal)
    return (extend_by_pedal(notes, pedals) if pedals else notes), pedals


def _predictions(model: Any, items: Sequence, *, batch_size: int):
    """Yield ``(item, probability rolls)`` one piece at a time (audio is not kept)."""
    from pianotx.audio.load import load_audio
    from pianotx.engine.torch_engine import predict_rolls

    for item in items:
        yield item, predict_rolls(model, load_audio(item.audio_path), batch_size=batch_size)


def _reference(item: Any) -> tuple[list[Note], list[Pedal]]:
    from pianotx.data import readers as data

    notes, pedals = data.load_reference(item)
    return list(notes), list(pedals)


def evaluate_predictions(
    pred_dir: Path,
    items: Sequence,
    *,
    suffix: str = "",
    missing_as_empty: bool = False,
    root: Path | None = None,
    on_progress: Progress | None = None,
) -> list[PieceResult]:
    """Score MIDI files made by any transcriber against the items' references.

    Parameters
    ----------
    pred_dir : Path
        Folder holding one MIDI file per item, matched by name (see
        :func:`~pianotx.evaluation.matching.find_predictions`).
    items : sequence of Item
        Dataset pieces (:func:`load_items`).
    suffix : str
        Text the transcriber appends to the stem of its output files.
    missing_as_empty : bool
        Score an item without a prediction as an empty transcription (all 0.0) instead of
        failing; the mean stays over the same pieces, so tools remain comparable.
    root : Path, optional
        The dataset folder, whose layout ``pred_dir`` may repeat (``pred/a/take.mid`` for
        the item ``a/take.wav``); the items' common folder by default.
    on_progress : callable, optional
        Called as ``on_progress(done, total, title)`` after each piece.

    Raises
    ------
    DatasetError
        If ``pred_dir`` is not a folder, several files match one item, or predictions
        are missing and not ``missing_as_empty`` (the message names the first few).
    """
    from pianotx.music.midi import read_midi

    paths = find_predictions(pred_dir, items, suffix=suffix, root=root)
    wanted = expected_names(items, suffix=suffix, root=root)
    missing = [name for name, path in zip(wanted, paths) if path is None]
    if missing and not missing_as_empty:
        names = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        where = " at its path in the dataset folder" if any("/" in n for n in missing) else ""
        raise DatasetError(
            f"{len(missing)} of {len(items)} pieces have no prediction in {pred_dir} (no {names}); "
            f"name each MIDI file after its audio file{where}, or pass --missing-as-empty"
        )
    results, pieces = [], piece_names(items)
    for i, (item, path) in enumerate(zip(items, paths)):
        est_notes: list[Note] = []
        est_pedals: list[Pedal] = []  # a MIDI file without CC64 predicts no press
        if path is not None:
            performance = read_midi(path)
            est_notes, est_pedals = performance.notes, list(performance.pedals)
            if est_pedals:
                est_notes = extend_by_pedal(est_notes, est_pedals)
        ref_notes, ref_pedals = _reference(item)
        scores = piece_scores(ref_notes, ref_pedals, est_notes, est_pedals, frame_rate=FRAME_RATE,
                              n_frames=_audio_frames(item))
        results.append(PieceResult(pieces[i], item.title, scores))
        _report(on_progress, i + 1, len(items), item.title)
    return results


def _audio_frames(item: Any) -> int | None:
    """The item's audio length in frames, as the models predict them, or None when the
    header does not say (the rolls then end at the last offset)."""
    from pianotx.audio.load import audio_seconds
    from pianotx.audio.spectrum import n_frames

    features = FeatureConfig()
    seconds = audio_seconds(Path(item.audio_path))
    if seconds is None:
        return None
    return n_frames(int(seconds * features.sample_rate), hop_length=features.hop_length)


def grid_configs(base: DecodeConfig, grid: Mapping[str, Sequence[float]]) -> list[DecodeConfig]:
    """Every combination of ``grid`` values applied to ``base``, in grid order.

    Raises
    ------
    ConfigError
        If a grid key is not a :class:`DecodeConfig` field or a value is out of range.
    """
    from pianotx.errors import ConfigError

    known = {f.name for f in dataclasses.fields(DecodeConfig)}
    unknown = sorted(set(grid) - known)
    if unknown:
        raise ConfigError(f"DecodeConfig has no field(s) {', '.join(unknown)}")
    names = list(grid)
    return [
        dataclasses.replace(base, **dict(zip(names, values)))
        for values in itertools.product(*(grid[name] for name in names))
    ]


ONSET_FREE = ("frame_threshold", "offset_threshold")  # decode fields that never move onsets


def sweep_thresholds(
    model: Any,
    items: Sequence,
    *,
    grid: Mapping[str, Sequence[float]] | None = None,
    batch_size: int = 8,
    on_progress: Progress | None = None,
    exhaustive: bool = False,
) -> SweepResult:
    """Choose decode thresholds that maximize the mean score over ``items``.

    Models with an onset head maximize note (onset) F1, and among the grid points that
    tie on it onset+offset F1; the default grid then also tries offset thresholds and
    onset-threshold rises in the bass, and frame-started notes off and on
    (:data:`OFFSET_GRID`, :data:`ONSET_BASS_SLOPE_GRID`, :data:`FRAME_NOTE_GRID`).
    Frame-only models maximize frame F1 and ignore ``onset_threshold``. Remaining ties go
    to the earlier grid point.

    Onsets do not depend on the frame and offset thresholds (:data:`ONSET_FREE`), so for
    note models the search is staged and still finds the grid's best: a first pass over
    the other fields (with the first frame and offset values) keeps the values that reach
    the best note F1, a second pass tries every frame and offset value with those. Each
    pass predicts every piece once (memory stays flat) and re-decodes it per grid point:
    7 + 21 decodes per piece instead of 147 for the default grid. ``exhaustive`` decodes
    the whole grid in one pass.

    Parameters
    ----------
    model : LoadedModel
        The model to tune; its ``decode_config`` supplies the values not in ``grid``.
    items : sequence of Item
        Tuning pieces, normally the validation split.
    grid : mapping of str to sequence of float, optional
        DecodeConfig field -> candidate values; :data:`DEFAULT_GRID` by default.
    batch_size : int > 0
        Windows per forward pass.
    on_progress : callable, optional
        Called as ``on_progress(done, total, title)`` after each piece is predicted.
    exhaustive : bool
        Decode every grid point (no staging).

    Returns
    -------
    SweepResult
        ``decode`` is ``model.decode_config`` with the best grid values; ``table`` holds
        the grid points decoded.

    Raises
    ------
    ConfigError
        If a grid key is not a :class:`DecodeConfig` field or a value is out of range.
    """
    heads = tuple(model.model_config.head_names)
    metric = "note/f1" if "onset" in heads else "frame/f1"
    default = grid is None
    grid = dict(DEFAULT_GRID if grid is None else grid)
    if metric == "frame/f1":
        grid.pop("onset_threshold", None)
    elif default:
        grid["onset_bass_slope"] = ONSET_BASS_SLOPE_GRID
        grid["frame_note_min_s"] = FRAME_NOTE_GRID
        if "offset" in heads:
            grid["offset_threshold"] = OFFSET_GRID
    free = [name for name in ONSET_FREE if name in grid and len(grid[name]) > 1]
    staged = metric == "note/f1" and bool(free) and not exhaustive
    passes = 2 if staged else 1
    progress = _pass_progress(on_progress, len(items), passes)
    if not staged:
        configs = grid_configs(model.decode_config, grid)
        means, ties = _grid_means(model, items, configs, metric, batch_size, progress(0))
    else:
        first = grid_configs(model.decode_config, {**grid, **{n: grid[n][:1] for n in free}})
        first_means, _ = _grid_means(model, items, first, metric, batch_size, progress(0))
        top = max(first_means)
        configs = [config for winner, mean in zip(first, first_means) if mean == top
                   for config in grid_configs(winner, {n: grid[n] for n in free})]
        means, ties = _grid_means(model, items, configs, metric, batch_size, progress(1))
    best = max(range(len(configs)), key=lambda k: (means[k], ties[k], -k))
    return SweepResult(configs[best], tuple(grid), metric, means[best], list(zip(configs, means)))


def _pass_progress(on_progress: Progress | None, n_items: int, passes: int):  # type: ignore[no-untyped-def]
    """Per pass, a progress callback counting pieces over all passes."""
    def for_pass(k: int) -> Progress | None:
        if on_progress is None:
            return None
        return lambda done, total, title: on_progress(k * n_items + done, passes * n_items, title)
    return for_pass


def _grid_means(
    model: Any, items: Sequence, configs: Sequence[DecodeConfig], metric: str, batch_size: int,
    on_progress: Progress | None,
) -> tuple[list[float], list[float]]:
    """Mean ``metric`` and tie-break (onset+offset F1 for note models) of each config,
    predicting each piece once."""
    totals = [0.0] * len(configs)
    tie_totals = [0.0] * len(configs)
    for i, (item, probs) in enumerate(_predictions(model, items, batch_size=batch_size)):
        ref_notes, _ = _reference(item)
        if metric == "frame/f1":  # the frame head thresholded: no notes to decode
            ref_frame = notes_to_rolls(ref_notes, len(probs["frame"]), frame_rate=FRAME_RATE).frame
        for k, config in enumerate(configs):
            if metric == "frame/f1":
                est_frame = probs["frame"] >= config.frame_threshold
                score, tie = frame_scores(ref_frame, est_frame)["frame/f1"], 0.0
            else:
                notes, _ = _decoded_as_heard(model, probs, config)
                score, tie = _sweep_score(ref_notes, notes)
            totals[k] += score
            tie_totals[k] += tie
        _report(on_progress, i + 1, len(items), item.title)
    n = max(len(items), 1)
    return [t / n for t in totals], [t / n for t in tie_totals]


def _sweep_score(ref_notes: Sequence[Note], est_notes: Sequence[Note]) -> tuple[float, float]:
    """Note (onset) F1 and its tie-break onset+offset F1, without the other metrics' cost."""
    scores = note_scores(ref_notes, est_notes, metrics=("note", "note_offset"))
    return scores["note/f1"], scores["note_offset/f1"]
