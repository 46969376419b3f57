"""Evaluation reports: a mean over fewer pieces than its row shows how many it covers."""

from __future__ import annotations

from pianotx.cli.eval_report import to_csv, to_markdown, rows

REPORT = {"name": "m", "n_pieces": 3, "covered": {"pedal/f1": 2},
          "mean": {"note/f1": 0.5, "pedal/f1": 0.25}, "pieces": []}


def test_markdown_marks_a_mean_over_fewer_pieces() -> None:
    text = to_markdown(rows([REPORT], per_piece=False))
    assert text.splitlines()[2] == "| m | mean | 3 | 50.0 | 25.0 (2) |"


def test_csv_carries_the_counts_as_columns() -> None:
    lines = to_csv(rows([REPORT], per_piece=False)).splitlines()
    assert lines == ["name,piece,pieces,note/f1,pedal/f1,pedal/f1/pieces", "m,mean,3,0.5,0.25,2"]
