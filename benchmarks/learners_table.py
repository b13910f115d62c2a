"""Learner x protocol table on a window of a log (the embedded sample by default): for each
learner, `starts` hr@1 / hr@10 / new hr@10 with availability `log`, `starts` hr@10 with
`others`, the `next` reward (hr@1), and events per second. Each column comes from one
`livereplay compare` run, whose full outputs (every split and metric, CSV, JSON, plots) are
kept under ``--out``. Tune on ``validation`` (days 20-31), report ``test`` (days 32-42).

    python benchmarks/learners_table.py --window-name validation
    python benchmarks/learners_table.py --window-name test --learners pop,repeat,blend
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from livereplay.cli import main as livereplay

WINDOWS = {"validation": "20-31", "test": "32-42"}
RUNS = {"log": ["--protocol", "starts", "--availability", "log"],
        "others": ["--protocol", "starts", "--availability", "others"],
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

    print(f"{args.window_name} window, days {WINDOWS[args.window_name]}\n")
    print("| learner | starts log hr@1 | starts log hr@10 | new hr@10 | others hr@10 "
          "| next hr@1 | events/s (starts log) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for learner, by_run in results.items():
        log, others, nxt = by_run["log"], by_run["others"], by_run["next"]
        print(f"| {learner} | {log['metrics']['all']['hr@1']:.4f} "
              f"| {log['metrics']['all']['hr@10']:.4f} | {log['metrics']['new']['hr@10']:.4f} "
              f"| {others['metrics']['all']['hr@10']:.4f} | {nxt['metrics']['all']['hr@1']:.4f} "
              f"| {log['events_per_second']:,.0f} |")


if __name__ == "__main__":
    main()
