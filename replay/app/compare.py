"""Comparing learners on the same replay: a markdown table, a CSV, JSON and plots.

``livereplay compare --learners pop,repeat --out results`` runs each learner over the same
log and protocol (one after another, or in ``--jobs`` processes) and writes into ``results/``:
``results.md``, ``results.csv`` (one row per learner and split), ``results.json`` (every
result and how it was made: the data file's hash, the seeds, package versions, the machine)
and the plots of :mod:`livereplay.app.plots`. Every metric carries a 95% interval from a bootstrap
over users, and each learner is tested against a baseline (default ``repeat``) by a paired
bootstrap on the same events (:mod:`livereplay.intervals`). From Python:

>>> from livereplay.app.runner import RunSpec
>>> import tempfile
>>> results = compare(RunSpec(window=(5000, 5200), cache=False), ["pop", "repeat"],
...                   out=tempfile.mkdtemp(), quiet=True)
>>> [(r.learner, r.n_events) for r in results]
[('pop', 1846), ('repeat', 1846)]
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..cache import log_digest
from ..checkpoint import CheckpointPolicy
from ..errors import ReplayError
from ..folders import locked_folder
from ..metrics import EVENT_METRICS, METRICS
from ..results import Result
from .runner import RunSpec
from .tables import estimate, markdown_table, write_results

#: The CSV columns of the paired test of the chosen metric against the baseline.
TEST_COLUMNS = ("test_metric", "difference", "difference_low", "difference_high", "p_value",
                "significant")
PACKAGES = ("livereplay", "numpy", "pandas", "pyarrow", "simpy", "tensorflow", "tensorflow-cpu",
            "matplotlib", "ray", "optuna")


def provenance(spec: RunSpec, learners: list[str], jobs: int, seconds: float,
               engine: str = "local") -> dict[str, Any]:
    """How the comparison was made: data, seeds, options, package versions, machine, engine."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    options = {name: value for name, value in dataclasses.asdict(spec).items()
               if name not in ("learner", "data", "cache", "cache_dir")}
    return {
        "data": {"file": spec.data_path.name, "blake2b": log_digest(spec.data_path)},
        "learners": learners, **options, "jobs": jobs, "engine": engine,
        "packages": versions,
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
    }


def paired_tests(results: list[Result], baseline: str) -> dict[str, Any]:
    """Every other learner minus ``baseline``, for each split and metric of :data:`METRICS`:
    the difference, its 95% interval, p-value and whether the interval excludes 0."""
    base = next(result for result in results if result.learner == baseline)
    tests = []
    for result in results:
        if result is base:
            continue
        for split, test in result.paired_test(base).items():
            tests += [{"learner": result.learner, "split": split, "metric": metric,
                       "difference": float(test.difference[i]),
                       "ci": [float(test.low[i]), float(test.high[i])],
                       "p_value": float(test.p_value[i]),
                       "significant": bool(test.significant[i])}
                      for i, metric in enumerate(METRICS)]
    return {"baseline": baseline, "metric_tests": tests}


def table_rows(results: list[Result], paired: dict[str, Any] | None = None,
               test_metric: str = "hr@10") -> list[dict[str, Any]]:
    """One row per learner and split: n, every metric, speed and memory, then coverage, each
    metric's 95% interval and the paired test of ``test_metric`` against the baseline (cells
    left empty where there is none)."""
    tests = {(test["learner"], test["split"]): test
             for test in (paired["metric_tests"] if paired else []) if test["metric"] == test_metric}
    rows = []
    for result in results:
        summary = result.to_dict()
        for split, metrics in summary["metrics"].items():
            ci = metrics.get("ci", {})
            test = tests.get((result.learner, split))
            test_cells = (dict(zip(TEST_COLUMNS, (test_metric, test["difference"], *test["ci"],
                                                  test["p_value"], test["significant"])))
                          if test else dict.fromkeys(TEST_COLUMNS, ""))
            rows.append({"learner": result.learner, "protocol": result.protocol,
                         "availability": result.availability, "split": split, "n": metrics["n"],
                         **{name: metrics[name] for name in METRICS},
                         "events_per_second": summary["events_per_second"],
                         "seconds": summary["seconds"], "peak_rss_mb": summary["peak_rss_mb"],
                         "coverage": metrics["coverage"],
                         **{f"{name}_{side}": ci[name][i] if ci else ""
                            for name in EVENT_METRICS for i, side in enumerate(("low", "high"))},
                         **test_cells})
    return rows


def row_estimate(row: dict[str, Any], metric: str) -> str:
    """``metric`` of a row of :func:`table_rows` to 4 decimals, with ± half its 95% interval
    when it has one."""
    return estimate(row[metric], row[f"{metric}_low"], row[f"{metric}_high"])


def markdown(rows: list[dict[str, Any]], baseline: str | None = None,
             test_metric: str = "hr@10") -> str:
    """The rows as a markdown table: each metric to 4 decimals with ± half its 95% interval,
    and, given a baseline, the difference in ``test_metric`` from it, * where significant."""
    versus = f"Δ{test_metric} vs {baseline}"
    header = ["learner", "split", "n", *EVENT_METRICS, *([versus] if baseline else []),
              "events/s"]
    cells = []
    for row in rows:
        line = [row["learner"], row["split"], f"{row['n']:,}"]
        line += [row_estimate(row, name) for name in EVENT_METRICS]
        if baseline:
            line.append("" if row["difference"] == "" else
                        f"{row['difference']:+.4f}" + ("*" if row["significant"] else ""))
        line.append(f"{row['events_per_second']:,.0f}")
        cells.append(line)
    lines = [f"`{rows[0]['protocol']}`, candidates `{rows[0]['availability']}` (coverage: the "
             "share of events whose target is among them)\n",
             markdown_table(header, cells, align="ll" + "r" * (len(header) - 2)).rstrip("\n")]
    if rows and rows[0]["hr@1_low"] != "":
        lines.append("\n± half the width of the 95% interval, a bootstrap over users "
                     "(bounds in results.csv and results.json).")
    if baseline:
        lines.append(f"{versus}: the learner's {test_metric} minus {baseline}'s on the same "
                     "events; * its 95% paired bootstrap interval excludes 0 (p-values in "
                     "results.csv and results.json).")
    return "\n".join(lines) + "\n"


def compare(spec: RunSpec, learners: list[str] | None = None, *, jobs: int = 1,
            out: str | Path = "livereplay-results", quiet: bool = False,
            baseline: str | None = "repeat", test_metric: str = "hr@10",
            engine: str = "local", address: str | None = None,
            checkpoint_every: int | None = None,
            checkpoint_minutes: float | None = 10.0) -> list[Result]:
    """Run ``spec`` for every learner of ``learners`` (default: every built-in one) and write
    the outputs into ``out``. Each other learner is tested against ``baseline`` (None: no
    tests; a baseline not among the learners: none either, said on stderr unless ``quiet``);
    ``test_metric`` is the test shown in the table and the CSV (the JSON holds every metric).

    Runs go through :func:`livereplay.app.executors.execute` on ``engine`` (``local``: ``jobs``
    processes; ``ray``: tasks on the Ray cluster at ``address``, or a local one). Every
    finished run is kept in ``out/runs``, so a comparison run again into the same folder,
    after an interruption or with more learners, reuses the runs that are complete; the
    others checkpoint into ``out/checkpoints`` (every ``checkpoint_every`` steps or
    ``checkpoint_minutes`` minutes, and on SIGINT/SIGTERM) and resume from there."""
    from livereplay.learners.registry import BUILTIN, learner_class

    learners = list(BUILTIN) if learners is None else [name for name in learners if name]
    if not learners:
        raise ReplayError("--learners names no learner")
    for name in learners:
        learner_class(name)  # an unknown learner stops the comparison before any run
    if jobs < 1:
        raise ReplayError(f"--jobs must be at least 1, got {jobs}")
    if spec.bootstrap < 0:
        raise ReplayError(f"--bootstrap must be 0 or more, got {spec.bootstrap}")
    if test_metric not in METRICS:
        raise ReplayError(f"--test-metric {test_metric!r}: expected one of {', '.join(METRICS)}")
    if baseline is not None and baseline not in learners:
        if not quiet:
            print(f"livereplay: no paired tests: the baseline {baseline!r} is not among the "
                  "learners (--baseline NAME)", file=sys.stderr)
        baseline = None
    if not spec.bootstrap:
        baseline = None
    out = Path(out)
    with locked_folder(out):  # one sweep at a time writes into out
        began = time.perf_counter()
        from .executors import execute, process_pool

        results = execute([spec.with_learner(name) for name in learners], engine=engine,
                          jobs=jobs, address=address, store=out / "runs",
                          progress=False if quiet else None,
                          checkpoints=CheckpointPolicy(out / "checkpoints", checkpoint_every,
                                                       checkpoint_minutes))

        from .plots import plot_all, summary

        # the runs are done, so a second core is free: the plots are drawn in a process of
        # their own while this one tests and writes the tables (in this one with --jobs 1, or
        # with Ray, whose threads a fork would not survive)
        summaries = [summary(result) for result in results]
        with contextlib.ExitStack() as stack:
            drawing = None
            if engine == "local" and jobs > 1:
                drawer = stack.enter_context(process_pool(1))
                drawing = drawer.submit(plot_all, summaries, out)
            paired = paired_tests(results, baseline) if baseline else None
            _write_tables(results, paired, baseline, test_metric, out, spec, learners, jobs,
                          engine, time.perf_counter() - began)
            plots = drawing.result() if drawing else plot_all(summaries, out)
        if not quiet:
            print((out / "results.md").read_text(), end="")
            print(f"\nwrote {out}/results.md, results.csv, results.json, "
                  + ", ".join(p.name for p in plots))
    return results


def _write_tables(results: list[Result], paired: dict[str, Any] | None, baseline: str | None,
                  test_metric: str, out: Path, spec: RunSpec, learners: list[str], jobs: int,
                  engine: str, seconds: float) -> None:
    """results.md, results.csv and results.json of a comparison into ``out``."""
    rows = table_rows(results, paired, test_metric)
    write_results(out, markdown(rows, baseline, test_metric), rows,
                  {"provenance": provenance(spec, learners, jobs, seconds, engine),
                   "results": [r.to_dict() for r in results], "paired": paired})
