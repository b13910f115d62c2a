"""Comparing learners on the same replay: a markdown table, a CSV, JSON and plots.

``livereplay compare --learners pop,repeat --out results`` runs each learner over the same
log and protocol (one after another, or in ``--jobs`` processes) and writes into ``results/``:
``results.md``, ``results.csv`` (one row per learner and split), ``results.json`` (every
result and how it was made: the data file's hash, the seeds, package versions, the machine)
and the plots of :mod:`livereplay.plots`. From Python:

>>> from livereplay.runner import RunSpec
>>> import tempfile
>>> results = compare(RunSpec(window=(5000, 5200), cache=False), ["pop", "repeat"],
...                   out=tempfile.mkdtemp(), quiet=True)
>>> [(r.learner, r.n_events) for r in results]
[('pop', 1846), ('repeat', 1846)]
"""
from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .cache import file_digest
from .errors import ReplayError
from .metrics import METRICS
from .results import Result
from .runner import RunSpec, load_data, run

PACKAGES = ("livereplay", "numpy", "pandas", "pyarrow", "simpy", "tensorflow", "tensorflow-cpu",
            "matplotlib")


def _run_quietly(spec: RunSpec) -> Result:
    return run(spec, progress=False)


def provenance(spec: RunSpec, learners: list[str], jobs: int, seconds: float) -> dict[str, Any]:
    """How the comparison was made: data, seeds, options, package versions, machine."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    options = {name: value for name, value in dataclasses.asdict(spec).items()
               if name not in ("learner", "data", "cache", "cache_dir")}
    return {
        "data": {"file": spec.data_path.name, "blake2b": file_digest(spec.data_path)},
        "learners": learners, **options, "jobs": jobs,
        "packages": versions,
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
    }


def table_rows(results: list[Result]) -> list[dict[str, Any]]:
    """One row per learner and split: n, every metric, speed and memory."""
    rows = []
    for result in results:
        summary = result.to_dict()
        for split, metrics in summary["metrics"].items():
            rows.append({"learner": result.learner, "protocol": result.protocol,
                         "availability": result.availability, "split": split, **metrics,
                         "events_per_second": summary["events_per_second"],
                         "seconds": summary["seconds"], "peak_rss_mb": summary["peak_rss_mb"]})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table (metrics to 4 decimals)."""
    columns = ["learner", "split", "n", *METRICS, "events_per_second"]
    header = ["learner", "split", "n", *METRICS, "events/s"]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|"]
    for row in rows:
        cells = [f"{row[c]:.4f}" if c in METRICS else
                 f"{row[c]:,.0f}" if c == "events_per_second" else
                 f"{row[c]:,}" if c == "n" else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def compare(spec: RunSpec, learners: list[str] | None = None, *, jobs: int = 1,
            out: str | Path = "livereplay-results", quiet: bool = False) -> list[Result]:
    """Run ``spec`` for every learner of ``learners`` (default: every built-in one) and write
    the outputs into ``out``."""
    from livereplay.learners.registry import BUILTIN

    learners = list(BUILTIN) if learners is None else [name for name in learners if name]
    if not learners:
        raise ReplayError("--learners names no learner")
    if jobs < 1:
        raise ReplayError(f"--jobs must be at least 1, got {jobs}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    load_data(spec)  # parse once and fill the cache before the learners start
    specs = [spec.with_learner(name) for name in learners]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_run_quietly, specs))
    else:
        results = [run(one, progress=False if quiet else None) for one in specs]

    rows = table_rows(results)
    (out / "results.md").write_text(markdown(rows))
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "results.json").write_text(json.dumps(
        {"provenance": provenance(spec, learners, jobs, time.perf_counter() - began),
         "results": [r.to_dict() for r in results]}, indent=2) + "\n")
    from .plots import plot_all

    plots = plot_all(results, out)
    if not quiet:
        print(markdown(rows), end="")
        print(f"\nwrote {out}/results.md, results.csv, results.json, "
              + ", ".join(p.name for p in plots))
    return results
