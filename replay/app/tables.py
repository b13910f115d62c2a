"""The outputs of a sweep, written one way for ``compare`` and ``tune``: a markdown table
(``results.md``), one CSV row per record (``results.csv``) and everything in JSON
(``results.json``).

>>> print(markdown_table(["learner", "hr@1"], [["pop", "0.0415"], ["repeat", "0.1549"]]), end="")
| learner | hr@1 |
|---|---:|
| pop | 0.0415 |
| repeat | 0.1549 |
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..folders import staged_file


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *,
                   align: str | None = None) -> str:
    """A markdown table; ``align`` has an ``l`` (names) or ``r`` (figures) per column,
    default the first column left and the others right."""
    align = align or "l" + "r" * (len(header) - 1)
    rules = ["---" if side == "l" else "---:" for side in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rules) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def estimate(value: float, low: float | str, high: float | str) -> str:
    """``value`` to 4 decimals, with ± half its 95% interval ``[low, high]`` when it has one
    (``low`` empty: none).

    >>> estimate(0.15, 0.14, 0.16), estimate(0.15, "", "")
    ('0.1500 ±0.0100', '0.1500')
    """
    return f"{value:.4f}" + (f" ±{(high - low) / 2:.4f}" if low != "" else "")


def write_results(out: Path, table: str, rows: Sequence[Mapping[str, Any]],
                  record: Mapping[str, Any]) -> list[Path]:
    """``results.md`` (``table``), ``results.csv`` (``rows``, their keys the columns) and
    ``results.json`` (``record``) in ``out``, each written aside and renamed into place."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.md", out / "results.csv", out / "results.json"]
    with staged_file(paths[0]) as staged:
        staged.write_text(table)
    with staged_file(paths[1]) as staged, open(staged, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with staged_file(paths[2]) as staged:
        staged.write_text(json.dumps(record, indent=2) + "\n")
    return paths
