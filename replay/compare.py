"""Comparing learners on the same replay: a markdown table, a CSV, JSON and plots.

``livereplay compare --learners pop,repeat --out results`` runs each learner over the same
log and protocol (one after another, or in ``--jobs`` processes) and writes into ``results/``:
``results.md``, ``results.csv`` (one row per learner and split), ``results.json`` (every
result and how it was made: the data file's hash, the seeds, package versions, the machine)
and the plots of :mod:`replay.plots`.
"""
from __future__ import annotations

import argparse
import csv
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
from .data import default_data_path
from .errors import ReplayError
from .metrics import METRICS
from .results import Result
from .runner import load_data, run_learner

PACKAGES = ("livereplay", "numpy", "pandas", "pyarrow", "simpy", "tensorflow", "tensorflow-cpu",
            "matplotlib")


def _run_one(args: argparse.Namespace) -> Result:
    return run_learner(args, progress=False if args.quiet or args.jobs > 1 else None)


def provenance(args: argparse.Namespace, learners: list[str], seconds: float) -> dict[str, Any]:
    """How the comparison was made: data, seeds, options, package versions, machine."""
    path = Path(args.data) if args.data else default_data_path()
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return {
        "data": {"file": path.name, "blake2b": file_digest(path)},
        "learners": learners, "seed": args.seed, "protocol": args.protocol,
        "availability": args.availability or "log", "split": args.split,
        "window": args.window, "days": args.days, "users_sample": args.users_sample,
        "params": args.param, "jobs": args.jobs,
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


def compare(args: argparse.Namespace) -> list[Result]:
    """Run every learner of ``args.learners`` and write the outputs into ``args.out``."""
    from learners.registry import BUILTIN

    learners = [name.strip() for name in (args.learners or ",".join(BUILTIN)).split(",")
                if name.strip()]
    if not learners:
        raise ReplayError("--learners names no learner")
    if args.jobs < 1:
        raise ReplayError(f"--jobs must be at least 1, got {args.jobs}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    load_data(args)  # parse once and fill the cache before the learners start
    jobs = [argparse.Namespace(**{**vars(args), "learner": name}) for name in learners]
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(_run_one, jobs))
    else:
        results = [_run_one(job) for job in jobs]

    rows = table_rows(results)
    (out / "results.md").write_text(markdown(rows))
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "results.json").write_text(json.dumps(
        {"provenance": provenance(args, learners, time.perf_counter() - began),
         "results": [r.to_dict() for r in results]}, indent=2) + "\n")
    from .plots import plot_all

    plots = plot_all(results, out)
    if not args.quiet:
        print(markdown(rows), end="")
        print(f"\nwrote {out}/results.md, results.csv, results.json, "
              + ", ".join(p.name for p in plots))
    return results
