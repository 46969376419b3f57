"""Markdown tables for docs/RESULTS.md from `pianotx eval --format json` reports.

Usage:
  python scripts/results_tables.py paper EPOCH1.json EPOCH2.json   # Tables 1 and 3
  python scripts/results_tables.py plain REPORT.json [...]         # one row per source
  python scripts/results_tables.py notes SEEN.json HELDOUT.json    # issue 6's target table
  python scripts/results_tables.py curve RUN [KEY ...]             # a run's learning curve
"""

from __future__ import annotations

import json
import re
import sys

# The paper's published frame metrics (its F1 column is P*R/(P+R), without the factor 2).
PAPER = {
    1: {("crnn", "0.05"): (0.1903, 0.7435, 0.2563, 0.9811), ("crnn", "0.5"): (0.2252, 0.2997, 0.9102, 0.9495),
        ("crnn", "0.2"): (0.2940, 0.4863, 0.7453, 0.9763), ("fcnn", "0.05"): (0.2318, 0.6865, 0.3522, 0.9816),
        ("fcnn", "0.5"): (0.2326, 0.3129, 0.9096, 0.9524), ("fcnn", "0.2"): (0.2970, 0.4785, 0.7622, 0.9756)},
    2: {("crnn", "0.05"): (0.2673, 0.7791, 0.4069, None), ("crnn", "0.5"): (0.2366, 0.3176, 0.9319, None),
        ("crnn", "0.2"): (0.3101, 0.5100, 0.7925, None), ("fcnn", "0.05"): (0.2599, 0.7532, 0.3985, None),
        ("fcnn", "0.5"): (0.2461, 0.3371, 0.9134, None), ("fcnn", "0.2"): (0.3043, 0.4998, 0.7795, None)},
}


def _key(source: str) -> tuple[str, str]:
    match = re.search(r"(fcnn|crnn)-b([0-9.]+)", source)
    return (match.group(1), match.group(2)) if match else (source, "")


def _pct(value) -> str:  # type: ignore[no-untyped-def]
    return "-" if value is None else f"{100 * value:.1f}"


def paper_table(path: str, epoch: int, previous: dict | None = None) -> tuple[str, dict]:
    report = json.load(open(path))
    lines = ["| Arch | beta | Frame F1 | Frame P | Frame R | Frame Acc | Note P | Note R | Note F1 "
             "| +Off F1 | paper F1 as printed | paper F1 x2 | paper P | paper R |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    means = {}
    for source in report["results"]:
        arch, beta = _key(source["source"])
        m = source["mean"]
        means[(arch, beta)] = m
        f1 = _pct(m["frame/f1"])
        if previous and (arch, beta) in previous:
            f1 += f" ({100 * (m['frame/f1'] - previous[(arch, beta)]['frame/f1']):+.1f})"
        pf1, pp, pr, _ = PAPER[epoch][(arch, beta)]
        lines.append(
            f"| {arch.upper()} | {beta} | {f1} | {_pct(m['frame/precision'])} | "
            f"{_pct(m['frame/recall'])} | {_pct(m['frame/accuracy'])} | {_pct(m['note/precision'])} | "
            f"{_pct(m['note/recall'])} | {_pct(m['note/f1'])} | {_pct(m['note_offset/f1'])} | "
            f"{100 * pf1:.1f} | {100 * 2 * pf1:.1f} | {100 * pp:.1f} | {100 * pr:.1f} |")
    return "\n".join(lines), means


def plain_table(paths: list[str]) -> str:
    keys = [("note/f1", "Onset F1"), ("note_offset/f1", "+Off F1"), ("note_velocity/f1", "+Vel F1"),
            ("note_offset_velocity/f1", "+Off+Vel F1"), ("frame/f1", "Frame F1"),
            ("pedal/f1", "Pedal F1"), ("pedal_frame/f1", "Pedal frame F1")]
    lines = ["| source | split | pieces | " + " | ".join(h for _, h in keys) + " |",
             "|---|---|---|" + "---|" * len(keys)]
    for path in paths:
        report = json.load(open(path))
        for source in report["results"]:
            m = source["mean"]
            lines.append(f"| {source['name']} | {report['split']} | {source['n_pieces']} | "
                         + " | ".join(_pct(m.get(k)) for k, _ in keys) + " |")
    return "\n".join(lines)


TARGETS = [("note/f1", "note onset F1", 0.97, 0.93),
           ("note_offset/f1", "note onset+offset F1", 0.85, 0.80),
           ("frame/f1", "frame F1", 0.93, 0.90),
           ("note_velocity/f1", "note onset+velocity F1", None, None),
           ("pedal/f1", "pedal (press interval) F1", None, None),
           ("pedal_frame/f1", "pedal frame F1", None, None)]


def notes_table(seen_path: str, heldout_path: str) -> str:
    seen = json.load(open(seen_path))["results"][0]
    held = json.load(open(heldout_path))["results"][0]
    lines = [f"| metric | seen timbres ({seen['n_pieces']} pieces) | target | "
             f"held-out timbre ({held['n_pieces']} pieces) | target |", "|---|---|---|---|---|"]
    for key, name, t_seen, t_held in TARGETS:
        cells = []
        for source, target in ((seen, t_seen), (held, t_held)):
            value = source["mean"].get(key)
            mark = "" if target is None or value is None else (" (met)" if value >= target else
                                                                f" ({100 * (value - target):+.1f})")
            cells += [_pct(value) + mark, "report" if target is None else f"{100 * target:.0f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curve_table(run: str, keys: list[str]) -> str:
    """One row per validation of a training run (its metrics.jsonl): step, the CPU and wall
    hours spent by then (runs from before the log kept them show "-"), and the scores."""
    records = [json.loads(line) for line in open(f"{run}/metrics.jsonl") if line.strip()]
    keys = keys or ["frame/f1"]
    lines = ["| step | CPU-h | wall-h | " + " | ".join(keys) + " |", "|---" * (3 + len(keys)) + "|"]
    for record in records:
        if record.get("kind") != "val":
            continue
        hours = [f"{record[k]:.2f}" if k in record else "-" for k in ("cpu_h", "wall_h")]
        lines.append(f"| {record['step']} | " + " | ".join(hours + [_pct(record.get(k)) for k in keys])
                     + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "paper":
        first, means = paper_table(sys.argv[2], 1)
        second, _ = paper_table(sys.argv[3], 2, previous=means)
        print("### Table 1: after epoch 1\n\n" + first + "\n\n### Table 3: after epoch 2\n\n" + second)
    elif sys.argv[1] == "curve":
        print(curve_table(sys.argv[2], sys.argv[3:]))
    elif sys.argv[1] == "notes":
        print(notes_table(sys.argv[2], sys.argv[3]))
    else:
        print(plain_table(sys.argv[2:]))
