"""The results tables on the embedded sample, written into README.md and the docs.

Every table of results on the embedded sample lives between the markers
``<!-- table: NAME -->`` and ``<!-- end table -->`` in README.md or a page of docs/, and is
written by this script alone, with a caption that states what was run. It also draws
docs/assets/sample_span.png.

``--check`` (what the test suite runs) recomputes every table and fails where a checked-in
one differs. A run gives the same bytes on every run on one machine, and the NumPy learners'
on every x86-64 machine; the TensorFlow learners' online training amplifies any last bit a
TensorFlow kernel rounds differently on another CPU model, so on a machine other than the
one that wrote the tables their figures are checked to lie within the checked-in 95% interval
(see docs/reproducibility.md), their half-widths to within a quarter, and their stars are not
compared. Every other line must be the same text.

    python benchmarks/sample_tables.py            # compute and write the tables
    python benchmarks/sample_tables.py --check    # compute and compare, write nothing
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from livereplay import RunSpec
from livereplay.app.executors import execute
from livereplay.app.tables import (block_pattern, estimate, markdown_table, update_blocks,
                                   used_blocks)
from livereplay.learners.registry import BUILTIN
from livereplay.metrics import METRICS
from livereplay.results import Result

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BASELINE = "repeat"
DAYS = (32, 42)
PLOT = ROOT / "docs" / "assets" / "sample_span.png"
#: learners trained with TensorFlow (``blend`` trains a ``liverec``), whose figures depend on
#: the CPU model in their last digits
TENSORFLOW = ("mf", "fpmc", "lstm", "liverec", "blend")
#: how far a TensorFlow learner's half-width may move, as a share of the checked-in one
HALF_WIDTH_SHARE = 0.25
FIGURE = re.compile(r"(?P<value>-?[0-9.]+) ±(?P<half>[0-9.]+)\**")


@dataclass(frozen=True)
class Table:
    """One table: a run of every built-in learner, and what its caption says it is."""

    spec: RunSpec
    command: str
    what: str


DAYS_TEXT = f"{DAYS[0]}-{DAYS[1]}"
TABLES = {
    "span": Table(RunSpec(availability="span", days=DAYS),
                  f"livereplay compare --days {DAYS_TEXT}",
                  "`starts` with the leak-free `span` candidates (the default)"),
    "others": Table(RunSpec(availability="others", days=DAYS),
                    f"livereplay compare --availability others --days {DAYS_TEXT}",
                    "`starts` with the leak-free `others` candidates"),
    "log": Table(RunSpec(availability="log", days=DAYS),
                 f"livereplay compare --availability log --days {DAYS_TEXT}",
                 "`starts` with the paper's `log` candidates (A_t), which leak the target"),
    "next": Table(RunSpec(protocol="next", days=DAYS),
                  f"livereplay compare --protocol next --days {DAYS_TEXT}",
                  "`next` with the streamers live at the revealed step (`log`)"),
    "holdout": Table(RunSpec(protocol="holdout"), "livereplay compare --protocol holdout",
                     "`holdout`, the paper's protocol, on its test period (candidates `log`)"),
}


def cells(result: Result, baseline: Result, metrics: list[tuple[str, str]]) -> list[str]:
    """Each (split, metric) to 4 decimals, ± half its 95% interval, * where the paired test
    against the baseline excludes 0."""
    tests = result.paired_test(baseline) if result is not baseline else {}
    values = result.metrics()
    out = []
    for split, metric in metrics:
        star = "*" * bool(tests and tests[split].significant[METRICS.index(metric)])
        out.append(estimate(values[split][metric], *result.intervals[split][metric]) + star)
    return out


def render(table: Table, results: list[Result]) -> str:
    """The caption and the markdown table of one set of runs."""
    baseline = next(r for r in results if r.learner == BASELINE)
    metrics = baseline.metrics()
    _, new = baseline.splits
    header = ["learner", "hr@1", "hr@10", "ndcg@10", "mrr", f"{new} hr@10"]
    shown = [("all", m) for m in ("hr@1", "hr@10", "ndcg@10", "mrr")] + [(new, "hr@10")]
    rows = [[f"`{r.learner}`", *cells(r, baseline, shown)] for r in results]
    where = (f"its test period (steps {baseline.window[0]}-{baseline.window[1] - 1})"
             if table.spec.protocol == "holdout" else f"days {DAYS_TEXT}")
    caption = (f"{table.what}, on {where} of the embedded sample: "
               f"{metrics['all']['n']:,} events ({metrics[new]['n']:,} {new}), coverage "
               f"{metrics['all']['coverage']:.3f}. Each figure ± half its 95% interval "
               f"(bootstrap over users, {baseline.bootstrap:,} resamples, seed "
               f"{baseline.seed}); * where the paired test against `{BASELINE}` on the same "
               f"events excludes 0. Made by `{table.command}`.")
    return f"{caption}\n\n{markdown_table(header, rows)}"


def compute(names: list[str], jobs: int, *, draw: bool = True) -> dict[str, str]:
    """Table name -> its generated text, every run in one sweep; ``draw``: the README's
    picture too."""
    specs = [TABLES[name].spec.with_learner(learner) for name in names for learner in BUILTIN]
    results = execute(specs, jobs=jobs, progress=None)
    size = len(BUILTIN)
    runs = {name: results[i * size:(i + 1) * size] for i, name in enumerate(names)}
    if draw and "span" in runs:
        plot(runs["span"])
    return {name: render(TABLES[name], runs[name]) for name in names}


def plot(results: list[Result]) -> None:
    """hr@1 and hr@10 of every learner with their intervals (the README's picture)."""
    from livereplay.app.plots import metrics_by_split, summary

    PLOT.parent.mkdir(parents=True, exist_ok=True)
    metrics_by_split([summary(result) for result in results], PLOT)


def used_tables(pages: list[Path]) -> dict[Path, list[str]]:
    """Page -> the names of the tables it holds, for the pages that hold any."""
    return used_blocks(pages, "table")


def update(pages: list[Path], fresh: dict[str, str], *, write: bool) -> list[Path]:
    """The pages whose tables differ from ``fresh`` (name -> text), rewritten if ``write``."""
    return update_blocks(pages, fresh, "table", write=write)


def row_learner(line: str) -> str | None:
    """The learner a table row is about (``| `name` | ...``), None for any other line."""
    match = re.match(r"\| `([\w-]+)` \|", line)
    return match[1] if match else None


def disagreements(checked: str, fresh: str) -> tuple[list[str], float]:
    """The lines of a checked-in table that a fresh one contradicts, and the largest move of a
    TensorFlow learner's figure as a share of its checked-in half-width."""
    old, new = checked.splitlines(), fresh.splitlines()
    if len(old) != len(new):
        return [f"{len(old)} lines checked in, {len(new)} computed"], 0.0
    wrong, moved = [], 0.0
    for line, computed in zip(old, new):
        if line == computed:
            continue
        learner = row_learner(line)
        figures = [(FIGURE.fullmatch(a.strip()), FIGURE.fullmatch(b.strip()))
                   for a, b in zip(line.split("|")[2:-1], computed.split("|")[2:-1])]
        if (learner in TENSORFLOW and learner == row_learner(computed)
                and all(a and b for a, b in figures)):
            shares = [(abs(float(a["value"]) - float(b["value"])) / float(a["half"]),
                       abs(float(a["half"]) - float(b["half"])) / float(a["half"]))
                      for a, b in figures]
            moved = max([moved, *(value for value, _ in shares)])
            if all(value <= 1 and half <= HALF_WIDTH_SHARE for value, half in shares):
                continue
        wrong.append(f"{line}  ->  {computed}")
    return wrong, moved


def check(pages: dict[Path, list[str]], fresh: dict[str, str]) -> tuple[list[str], float]:
    """What each page's tables contradict in the fresh ones (see :func:`disagreements`), as
    ``page table: line`` lines, and the largest move of a TensorFlow learner's figure."""
    wrong, moved = [], 0.0
    for page in pages:
        for block in block_pattern("table").finditer(page.read_text()):
            lines, share = disagreements(block["body"], fresh[block["name"]])
            wrong += [f"{page.relative_to(ROOT)} {block['name']}: {line}" for line in lines]
            moved = max(moved, share)
    return wrong, moved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the checked-in tables with fresh ones; write nothing")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    pages = used_tables(PAGES)
    named = {name for names in pages.values() for name in names}
    if named - set(TABLES):
        print(f"unknown tables: {', '.join(sorted(named - set(TABLES)))} (known: "
              f"{', '.join(TABLES)})", file=sys.stderr)
        return 2
    fresh = compute([name for name in TABLES if name in named], args.jobs, draw=not args.check)
    if args.check:
        wrong, moved = check(pages, fresh)
        if wrong:
            print("tables out of date (checked in -> computed now):\n" + "\n".join(wrong)
                  + "\nrun python benchmarks/sample_tables.py", file=sys.stderr)
            return 1
        print(f"{len(fresh)} tables checked in {len(pages)} pages (0 out of date; "
              f"TensorFlow learners' figures moved at most {moved:.2f} of a half-width)")
        return 0
    stale = update(list(pages), fresh, write=True)
    print(f"{len(fresh)} tables written in {len(pages)} pages ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
