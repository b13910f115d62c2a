"""The outputs of a sweep, written one way for ``compare`` and ``tune``: a markdown table
(``results.md``), one CSV row per record (``results.csv``) and everything in JSON
(``results.json``); and the generated blocks of the README and the docs pages, which the
benchmark scripts rewrite (:func:`update_blocks`).

>>> print(markdown_table(["learner", "hr@1"], [["pop", "0.0415"], ["repeat", "0.1549"]]), end="")
| learner | hr@1 |
|---|---:|
| pop | 0.0415 |
| repeat | 0.1549 |
"""
from __future__ import annotations

import csv
import json
import os
import platform
import re
from datetime import date
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


def provenance(command: str, seconds: float) -> str:
    """How a measurement was made, for a generated page: the command, livereplay's version,
    the machine and the date."""
    from .. import __version__

    return (f"Measured by `{command}` with livereplay {__version__} on {platform.machine()} "
            f"({os.cpu_count()} cores, {platform.system()}) on {date.today().isoformat()}, in "
            f"{seconds:,.0f} s")


def block_pattern(kind: str) -> re.Pattern:
    """The generated blocks of a kind in a page: ``<!-- KIND: NAME -->`` ... ``<!-- end
    KIND -->`` (groups: the opening line, ``name``, ``body``, the closing marker)."""
    return re.compile(rf"(<!-- {kind}: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end {kind} -->)",
                      re.DOTALL)


def used_blocks(pages: Sequence[Path], kind: str) -> dict[Path, list[str]]:
    """Page -> the names of the blocks of ``kind`` it holds, for the pages that hold any."""
    pattern = block_pattern(kind)
    return {page: names for page in pages
            if (names := [m["name"] for m in pattern.finditer(page.read_text())])}


def update_blocks(pages: Sequence[Path], fresh: Mapping[str, str], kind: str, *,
                  write: bool) -> list[Path]:
    """The pages whose blocks of ``kind`` differ from ``fresh`` (name -> text), rewritten if
    ``write``; a block ``fresh`` does not name is left as it is."""
    stale = []
    for page in pages:
        text = page.read_text()
        updated = block_pattern(kind).sub(
            lambda m: m[1] + fresh[m["name"]] + m[4] if m["name"] in fresh else m[0], text)
        if updated != text:
            stale.append(page)
            if write:
                page.write_text(updated)
    return stale
