"""Evaluation reports as a rich table, Markdown, JSON or CSV (pure: text in, text out).

A report is a list of per-source dicts: ``name``, ``kind``, ``source``, ``decode``,
``n_pieces``, ``mean`` (flat scores), ``covered`` (pieces each mean covers, for scores that
some pieces lack: pedal scores exist only where the reference has presses) and ``pieces``
(``piece``, ``title``, ``scores``). JSON and CSV carry every score as a fraction in [0, 1];
the table and Markdown show the usual columns in percent, a mean over fewer pieces than
the row's with that count in brackets.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

COLUMNS = (  # score key -> column heading, shown in table and Markdown
    ("frame/precision", "Frame P"),
    ("frame/recall", "Frame R"),
    ("frame/f1", "Frame F1"),
    ("frame/accuracy", "Frame Acc"),
    ("note_frame/f1", "Note-roll F1"),
    ("note/precision", "Note P"),
    ("note/recall", "Note R"),
    ("note/f1", "Note F1"),
    ("note_offset/f1", "+Off F1"),
    ("note_offset_velocity/f1", "+Off+Vel F1"),
    ("pedal/f1", "Pedal F1"),
    ("pedal_frame/f1", "Pedal frame F1"),
)
MEAN = "mean"
COVERED = "covered"  # row key: pieces each mean covers, where fewer than the row's


def rows(reports: list[dict], *, per_piece: bool) -> list[dict[str, Any]]:
    """Flat rows: per source its pieces (with ``per_piece``) then its mean row."""
    out = []
    for report in reports:
        if per_piece:
            for piece in report["pieces"]:
                out.append({"name": report["name"], "piece": piece["piece"], "pieces": 1,
                            **piece["scores"]})
        out.append({"name": report["name"], "piece": MEAN, "pieces": report["n_pieces"],
                    **report["mean"], COVERED: report.get("covered", {})})
    return out


def _shown(table: list[dict]) -> list[tuple[str, str]]:
    return [(key, head) for key, head in COLUMNS if any(key in row for row in table)]


def _percent(row: dict, key: str) -> str:
    if key not in row:
        return "-"
    n = row.get(COVERED, {}).get(key)
    return f"{100 * row[key]:.1f}" + (f" ({n})" if n is not None else "")


def render(reports: list[dict], *, fmt: str, per_piece: bool, split: str) -> Any:
    """The report in ``fmt`` (a rich Table for ``table``, otherwise a string)."""
    if fmt == "json":
        return to_json(reports, per_piece=per_piece, split=split)
    table = rows(reports, per_piece=per_piece)
    if fmt == "csv":
        return to_csv(table)
    if fmt == "markdown":
        return to_markdown(table)
    return to_rich(table, split=split)


def to_json(reports: list[dict], *, per_piece: bool, split: str) -> str:
    """JSON with the split and, per source, its mean (and pieces with ``per_piece``)."""
    kept = [r if per_piece else {k: v for k, v in r.items() if k != "pieces"} for r in reports]
    return json.dumps({"split": split, "results": kept}, indent=2) + "\n"


def to_csv(table: list[dict]) -> str:
    """CSV of every score, one row per table row; missing scores are empty cells."""
    table = [_flat_counts(row) for row in table]
    keys = list(dict.fromkeys(key for row in table for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def _flat_counts(row: dict) -> dict:
    """The row with its ``covered`` counts as ``KEY/pieces`` columns."""
    counts = row.get(COVERED, {})
    flat = {k: v for k, v in row.items() if k != COVERED}
    flat.update({f"{key}/pieces": n for key, n in counts.items()})
    return flat


def to_markdown(table: list[dict]) -> str:
    """A Markdown pipe table of the usual columns in percent."""
    shown = _shown(table)
    head = ["Model", "Piece", "Pieces", *(h for _, h in shown)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---:|" * len(shown)]
    for row in table:
        cells = [str(row["name"]), str(row["piece"]), str(row["pieces"])]
        lines.append("| " + " | ".join(cells + [_percent(row, k) for k, _ in shown]) + " |")
    return "\n".join(lines) + "\n"


def to_rich(table: list[dict], *, split: str) -> Any:
    """A rich Table of the usual columns in percent, headings stacked to stay narrow."""
    from rich import box
    from rich.table import Table

    shown = _shown(table)
    out = Table(title=f"{split} split, scores in %, mean over pieces", box=box.SIMPLE_HEAD)
    out.add_column("Model", no_wrap=True)
    out.add_column("Piece", no_wrap=True)
    for head in ("Pieces", *(h for _, h in shown)):
        out.add_column(head.replace(" ", "\n", 1), justify="right", no_wrap=True)
    for row in table:
        cells = [str(row["name"]), str(row["piece"]), str(row["pieces"])]
        out.add_row(*cells, *(_percent(row, k) for k, _ in shown))
    return out
