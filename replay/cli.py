"""The ``livereplay`` command line.

    livereplay stats [--data FILE]                 what is in a log
    livereplay run --learner repeat --protocol starts --days 32-42 --json out.json
    livereplay compare --learners pop,repeat,mf --out results
    livereplay learners                            every learner that can be named
    livereplay simulate --preset small --out sim.csv

Errors in the input or the arguments are one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import numpy as np

from sim.cli import add_simulate_arguments, print_comparison, run_simulate

from .arrays import distinct, pair_keys
from .errors import ReplayError
from .runner import add_data_arguments, add_replay_arguments, load_data, run_learner


def cmd_stats(args: argparse.Namespace) -> int:
    if args.compare:
        print_comparison(*args.compare)
        return 0
    began = time.perf_counter()
    log = load_data(args)
    sizes = log.availability.sizes()
    pairs = distinct(pair_keys(log.user, log.streamer)).size
    rows = [
        ("Data", log.source),
        ("Num time periods", log.n_steps),
        ("Num users", log.n_users),
        ("Num streamers", log.n_streamers),
        ("Num interactions", log.n_rows),
        ("Estimated watch time (hrs)",
         float((log.stop - log.start).astype(np.int64).sum()) * 10 / 60),
        ("Available per step (mean)", round(float(sizes.mean()), 2)),
        ("Available per step (max)", int(sizes.max())),
        ("Repeat share of rows", round(1 - pairs / log.n_rows, 4)),
        ("Duplicate rows dropped", log.report.duplicates),
    ]
    rows += [(f"Rows skipped ({reason})", n) for reason, n in sorted(log.report.skipped.items())]
    width = max(len(name) for name, _ in rows) + 1
    for name, value in rows:
        print(f"{name + ':':<{width}} {value}")
    if not args.quiet:
        print(f"({time.perf_counter() - began:.2f} s)", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    result = run_learner(args, progress=False if args.quiet else None)
    if args.json:
        result.write_json(args.json)
    if not args.quiet:
        where = f", availability {result.availability}" if result.availability else ""
        split = f", {args.split} split" if args.protocol == "holdout" else ""
        print(f"{args.learner} on {result.extra['data']}: {args.protocol}{split}{where}, "
              f"steps [{result.window[0]}, {result.window[1]})")
        print(result.table())
        summary = result.to_dict()
        if result.objective is not None:
            print(f"objective (1/N)(1/T) sum of rewards: {result.objective:.6f}")
        print(f"{summary['seconds']:.1f} s, {summary['events_per_second']:,.0f} events/s, "
              f"peak memory {summary['peak_rss_mb']:,.0f} MB")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare

    compare(args)
    return 0


def cmd_learners(args: argparse.Namespace) -> int:
    from learners.registry import available_learners

    learners = available_learners()
    width = max(map(len, learners))
    for name, description in learners.items():
        print(f"{name:<{width}}  {description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livereplay",
        description="Replay live-streaming logs in time order and evaluate online recommenders.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    stats = commands.add_parser("stats", help="statistics of a log",
                                description="Statistics of a log: steps, users, streamers, "
                                            "interactions, watch time, availability, repeats.")
    add_data_arguments(stats)
    stats.add_argument("--compare", nargs=2, metavar=("REAL", "SIM"),
                       help="compare two logs side by side, with a distance for each statistic")
    stats.add_argument("--quiet", action="store_true", help="do not print the time taken")
    stats.set_defaults(handler=cmd_stats)

    run = commands.add_parser("run", help="replay a log to a learner and evaluate it",
                              description="Replay a log in time order to a learner and report "
                                          "hit rate, NDCG and MRR (DESIGN.md protocols).")
    run.add_argument("--learner", default="repeat",
                     help="learner name (see `livereplay learners`) or module:Class "
                          "(default: repeat)")
    add_replay_arguments(run)
    run.add_argument("--json", metavar="OUT", help="write the JSON result here")
    run.add_argument("--quiet", action="store_true", help="print nothing, no progress bar")
    run.set_defaults(handler=cmd_run)

    compare = commands.add_parser(
        "compare", help="compare learners on the same replay: table, CSV, JSON and plots",
        description="Run several learners over the same replay and write a markdown table, "
                    "a CSV, JSON and plots into --out.")
    compare.add_argument("--learners", default=None, metavar="A,B,C",
                         help="comma-separated learner names (default: every built-in one)")
    add_replay_arguments(compare)
    compare.add_argument("--out", default="livereplay-results", metavar="DIR",
                         help="folder for results.md, results.csv, results.json and the plots "
                              "(default: livereplay-results)")
    compare.add_argument("--jobs", type=int, default=1, metavar="N",
                         help="learners run in N parallel processes (default: 1)")
    compare.add_argument("--quiet", action="store_true", help="print nothing, no progress bars")
    compare.set_defaults(handler=cmd_compare)

    learners = commands.add_parser("learners", help="list the learners, one per line")
    learners.set_defaults(handler=cmd_learners)

    simulate = commands.add_parser(
        "simulate", help="simulate a live-streaming platform (logs, or learners in closed loop)",
        description="Simulate a live-streaming platform with SimPy: write a log in the "
                    "original layout, or run learners in closed loop.")
    add_simulate_arguments(simulate)
    simulate.set_defaults(handler=run_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``livereplay`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ReplayError as error:
        print(f"livereplay: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("livereplay: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
