"""Pictures of a transcription: the log-mel, the piano roll, and hits/misses/false notes.

matplotlib is an optional extra (``pip install 'pianotx[plot]'``), imported only when a
picture is drawn, through its object API (no pyplot, no global backend change).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from pianotx.errors import PianotxError
from pianotx.files import atomic_path
from pianotx.music.notes import Note, pitch_name

MISSING_MATPLOTLIB = "matplotlib is not installed; pip install 'pianotx[plot]'"
COLOURS = {"notes": "#3566a8", "hit": "#2e9e44", "miss": "#d62728", "false": "#ff8c1a"}


class Matches(NamedTuple):
    """Indices into the estimated (``hit``, ``false``) and reference (``miss``) notes."""

    hit: list[int]
    miss: list[int]
    false: list[int]


def require_matplotlib() -> None:
    """Raise :class:`PianotxError` with the install line unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PianotxError(MISSING_MATPLOTLIB) from None


def match_onsets(ref: Sequence[Note], est: Sequence[Note], *, onset_tolerance_s: float = 0.05) -> Matches:
    """Match notes by pitch and onset within ``onset_tolerance_s``, as the onset F1 does."""
    from mir_eval.transcription import match_notes

    from pianotx.evaluation.metrics import note_arrays

    (ref_iv, ref_hz, _), (est_iv, est_hz, _) = note_arrays(ref), note_arrays(est)
    pairs = match_notes(ref_iv, ref_hz, est_iv, est_hz, onset_tolerance=onset_tolerance_s,
                        offset_ratio=None)
    hit_ref, hit_est = {int(r) for r, _ in pairs}, {int(e) for _, e in pairs}
    return Matches(sorted(hit_est), [i for i in range(len(ref)) if i not in hit_ref],
                   [i for i in range(len(est)) if i not in hit_est])


def plot_transcription(
    path: Path,
    notes: Sequence[Note],
    *,
    log_mel: np.ndarray | None = None,
    frame_rate: float = 100.0,
    ref: Sequence[Note] | None = None,
    width_px: int = 1200,
    height_px: int = 800,
    dpi: int = 100,
    title: str = "",
    overwrite: bool = False,
) -> None:
    """Draw a PNG of ``width_px`` x ``height_px`` pixels, written atomically to ``path``.

    Parameters
    ----------
    notes : sequence of Note
        The transcription (or the MIDI file) to draw as a piano roll.
    log_mel : np.ndarray, shape=(n_frames, n_mels), optional
        Drawn above the roll at ``frame_rate`` frames/s when given.
    ref : sequence of Note, optional
        Reference notes: matched notes are drawn green, missed references as red outlines,
        false notes orange.
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    if log_mel is not None:
        mel_ax, roll_ax = fig.subplots(2, 1, sharex=True, height_ratios=(1, 2))
        _draw_mel(mel_ax, log_mel, frame_rate)
    else:
        roll_ax = fig.subplots()
    end_s = log_mel.shape[0] / frame_rate if log_mel is not None else 0.0
    _draw_roll(roll_ax, notes, ref, end_s=end_s)
    if title:
        fig.suptitle(title)
    with atomic_path(Path(path), overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)


def _draw_mel(ax, log_mel: np.ndarray, frame_rate: float) -> None:  # type: ignore[no-untyped-def]
    n_frames, n_mels = log_mel.shape
    ax.imshow(log_mel.T, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
              extent=(0, n_frames / frame_rate, 0, n_mels))
    ax.set_ylabel("mel band")
    ax.set_title("log-mel spectrogram", loc="left", fontsize="medium")


def _draw_roll(ax, notes: Sequence[Note], ref: Sequence[Note] | None, *, end_s: float) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.patches import Patch

    if ref is None:
        _bars(ax, notes, COLOURS["notes"], filled=True)
        legend = [Patch(color=COLOURS["notes"], label=f"notes ({len(notes)})")]
    else:
        found = match_onsets(ref, notes)
        groups = (("hit", [notes[i] for i in found.hit], True), ("false", [notes[i] for i in found.false], True),
                  ("miss", [ref[i] for i in found.miss], False))
        legend = []
        for kind, group, filled in groups:
            _bars(ax, group, COLOURS[kind], filled=filled)
            legend.append(Patch(facecolor=COLOURS[kind] if filled else "none", edgecolor=COLOURS[kind],
                                label=f"{kind} ({len(group)})"))
    everything = list(notes) + list(ref or [])
    low, high = (min(n.pitch for n in everything), max(n.pitch for n in everything)) if everything else (60, 72)
    ax.set_ylim(low - 1.5, high + 1.5)
    named = (0,) if high - low > 24 else (0, 4, 7)  # C only, or C-E-G on a narrow range
    ticks = [p for p in range(low - 1, high + 2) if p % 12 in named] or [low]
    ax.set_yticks(ticks, [pitch_name(p) for p in ticks])
    ax.set_xlim(0, max([end_s, *(n.offset_s for n in everything)]) or 1.0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(handles=legend, loc="lower right", bbox_to_anchor=(1, 1), ncols=len(legend),
              fontsize="small", frameon=False)


def _bars(ax, notes: Sequence[Note], colour: str, *, filled: bool) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    boxes = [Rectangle((n.onset_s, n.pitch - 0.4), n.offset_s - n.onset_s, 0.8) for n in notes]
    ax.add_collection(PatchCollection(boxes, facecolor=colour if filled else "none", edgecolor=colour,
                                      linewidth=1.2 if not filled else 0.5))
