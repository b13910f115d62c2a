"""Learner x protocol table on a window of a log (the embedded sample by default): for each
learner, `starts` hr@1 / hr@10 with the leak-free `span` candidates (95% intervals, and
`*` where the paired test against `repeat` is significant), `starts` hr@10 with `others`
and with the paper's leaky `log`, the `next` reward (hr@1), and events per second; with each
candidate set's coverage (the share of events whose target is among the candidates). Each
column comes from one `livereplay compare` run, whose full outputs (every split and metric,
CSV, JSON, plots) are kept under ``--out``. Tune on ``validation`` (days 20-31), report
``test`` (days 32-42).

    python benchmarks/learners_table.py --window-name validation
    python benchmarks/learners_table.py --window-name test --learners pop,repeat,blend
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from livereplay.cli import main as livereplay

WINDOWS = {"validation": "20-31", "test": "32-42"}
RUNS = {"span": ["--protocol", "starts", "--availability", "span"],
        "others": ["--protocol", "starts", "--availability", "others"],
        "log": ["--protocol", "starts", "--availability", "log"],
        "next": ["--protocol", "next"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window-name", choices=sorted(WINDOWS), default="validation")
    parser.add_argument("--learners", default=None, help="comma-separated (default: all)")
    parser.add_argument("--data", default=None, help="log file (default: the embedded sample)")
    parser.add_argument("--jobs", default="2")
    parser.add_argument("--out", default="learners-table", help="folder for the compare runs")
    args = parser.parse_args()

    results = {}
    for run, options in RUNS.items():
        out = Path(args.out) / f"{args.window_name}-{run}"
        argv = ["compare", *options, "--days", WINDOWS[args.window_name], "--jobs", args.jobs,
                "--out", str(out), "--quiet"]
        argv += ["--learners", args.learners] if args.learners else []
        argv += ["--data", args.data] if args.data else []
        livereplay(argv)
        for result in json.loads((out / "results.json").read_text())["results"]:
            results.setdefault(result["learner"], {})[run] = result

    significant = {run: significant_learners(Path(args.out) / f"{args.window_name}-{run}")
                   for run in RUNS}
    coverage = {run: next(iter(results.values()))[run]["metrics"]["all"]["coverage"]
                for run in RUNS}
    print(f"{args.window_name} window, days {WINDOWS[args.window_name]}; coverage: "
          + ", ".join(f"{run} {share:.3f}" for run, share in coverage.items()) + "\n")
    print("| learner | span hr@1 | span hr@10 | others hr@10 | log hr@10 (leaky) "
          "| next hr@1 | events/s (span) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for learner, by_run in results.items():
        cells = [with_interval(by_run["span"], "hr@1", learner in significant["span"]["hr@1"]),
                 with_interval(by_run["span"], "hr@10", learner in significant["span"]["hr@10"]),
                 with_interval(by_run["others"], "hr@10",
                               learner in significant["others"]["hr@10"]),
                 with_interval(by_run["log"], "hr@10", learner in significant["log"]["hr@10"]),
                 with_interval(by_run["next"], "hr@1", learner in significant["next"]["hr@1"]),
                 f"{by_run['span']['events_per_second']:,.0f}"]
        print(f"| {learner} | " + " | ".join(cells) + " |")
    print("\n± half the 95% interval (bootstrap over users); * differs from repeat (paired "
          "bootstrap, interval excludes 0)")


def with_interval(result: dict, metric: str, significant: bool) -> str:
    """``0.1234 ±0.0056`` (``*`` when significantly different from the baseline)."""
    value, (low, high) = result["metrics"]["all"][metric], result["metrics"]["all"]["ci"][metric]
    return f"{value:.4f} ±{(high - low) / 2:.4f}{'*' if significant else ''}"


def significant_learners(out: Path) -> dict[str, set[str]]:
    """Metric -> learners whose difference from the baseline is significant on ``all``."""
    paired = json.loads((out / "results.json").read_text())["paired"] or {"metric_tests": []}
    found: dict[str, set[str]] = {}
    for test in paired["metric_tests"]:
        if test["split"] == "all" and test["significant"]:
            found.setdefault(test["metric"], set()).add(test["learner"])
    return {metric: found.get(metric, set()) for metric in ("hr@1", "hr@10")}


if __name__ == "__main__":
    main()
