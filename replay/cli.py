"""The ``livereplay`` command line.

    livereplay stats [--data FILE]                 what is in a log
    livereplay run --learner repeat --protocol starts --days 32-42 --json out.json
    livereplay learners                            every learner that can be named
    livereplay simulate --preset small --out sim.csv

Errors in the input or the arguments are one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sim.cli import add_simulate_arguments, print_comparison, run_simulate

from .arrays import distinct
from .data import STEPS_PER_DAY, Log, default_data_path
from .errors import ReplayError


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None, metavar="FILE",
                        help="log file (user,stream,streamer,start,stop); default: the embedded "
                             "Twitch sample (Rappaz, McAuley & Aberer, RecSys 2021)")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="skip malformed rows and report how many, by reason "
                             "(default: stop at the first one)")
    parser.add_argument("--cache-dir", default=None, metavar="DIR",
                        help="cache folder for parsed logs (default: $LIVEREPLAY_CACHE or "
                             "~/.cache/livereplay)")
    parser.add_argument("--no-cache", action="store_true", help="always parse the CSV")


def _load(args: argparse.Namespace) -> Log:
    from .cache import load_log

    path = Path(args.data) if args.data else default_data_path()
    log = load_log(path, skip_bad_rows=args.skip_bad_rows, cache=not args.no_cache,
                   cache_dir=args.cache_dir)
    if log.report.duplicates or log.report.skipped:
        print(f"{path}: {log.report.describe()}", file=sys.stderr)
    return log


def parse_window(window: str | None, days: str | None, n_steps: int) -> tuple[int, int]:
    """[a, b) from ``A:B`` (steps) or ``D1-D2`` (days, inclusive), clipped to the log.

    >>> parse_window("10:20", None, 6148), parse_window(None, "2-3", 6148)
    ((10, 20), (288, 576))
    """
    try:
        if window is not None:
            first, _, last = window.partition(":")
            a, b = int(first or 0), int(last or n_steps)
            if not _:
                raise ValueError
        elif days is not None:
            first, _, last = days.partition("-")
            a, b = STEPS_PER_DAY * int(first), STEPS_PER_DAY * (int(last or first) + 1)
        else:
            return 0, n_steps
    except ValueError:
        spec = f"--window {window!r} (expected A:B)" if window is not None else \
            f"--days {days!r} (expected D1-D2)"
        raise ReplayError(f"cannot read {spec}") from None
    b = min(b, n_steps)
    if not 0 <= a < b:
        raise ReplayError(f"window [{a}, {b}) is empty or outside the log's steps [0, {n_steps})")
    return a, b


def _hyper(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs with Python literal values (strings if not a literal)."""
    hyper: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ReplayError(f"--param {pair!r}: expected NAME=VALUE")
        try:
            hyper[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            hyper[key] = value
    return hyper


def cmd_stats(args: argparse.Namespace) -> int:
    if args.compare:
        print_comparison(*args.compare)
        return 0
    began = time.perf_counter()
    log = _load(args)
    sizes = log.availability.sizes()
    pairs = distinct((log.user.astype(np.int64) << 32) | log.streamer).size
    rows = [
        ("Data", log.source),
        ("Num time periods", log.n_steps),
        ("Num users", log.n_users),
        ("Num streamers", log.n_streamers),
        ("Num interactions", log.n_rows),
        ("Estimated watch time (hrs)", float((log.stop - log.start).astype(np.int64).sum()) * 10 / 60),
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


def _replay_result(args: argparse.Namespace, log: Log, learner: Any) -> Any:
    """Run the protocol the arguments ask for and return its Result."""
    if args.protocol == "holdout":
        from .holdout import holdout

        given = [flag for flag, value in (("--window", args.window), ("--days", args.days),
                                          ("--users-sample", args.users_sample),
                                          ("--availability", args.availability)) if value]
        if given:
            raise ReplayError(f"--protocol holdout has fixed splits (--split); drop {given[0]}")
        return holdout(log, learner, split=args.split, learner_name=args.learner)
    from .engine import replay, sample_users

    window = parse_window(args.window, args.days, log.n_steps)
    users = sample_users(log.n_users, args.users_sample, args.seed) if args.users_sample else None
    return replay(log, learner, protocol=args.protocol, availability=args.availability or "log",
                  window=window, users=users, progress=None if not args.quiet else False,
                  learner_name=args.learner)


def cmd_run(args: argparse.Namespace) -> int:
    from learners.registry import make_learner

    learner = make_learner(args.learner, seed=args.seed, **_hyper(args.param))
    log = _load(args)
    result = _replay_result(args, log, learner)
    result.extra.update({"data": log.source, "seed": args.seed,
                         "users_sample": args.users_sample, "params": _hyper(args.param)})
    if args.json:
        result.write_json(args.json)
    if not args.quiet:
        where = f", availability {result.availability}" if result.availability else ""
        split = f", {args.split} split" if args.protocol == "holdout" else ""
        print(f"{args.learner} on {log.source}: {args.protocol}{split}{where}, "
              f"steps [{result.window[0]}, {result.window[1]})")
        print(result.table())
        summary = result.to_dict()
        if result.objective is not None:
            print(f"objective (1/N)(1/T) sum of rewards: {result.objective:.6f}")
        print(f"{summary['seconds']:.1f} s, {summary['events_per_second']:,.0f} events/s, "
              f"peak memory {summary['peak_rss_mb']:,.0f} MB")
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
    _add_data_arguments(stats)
    stats.add_argument("--compare", nargs=2, metavar=("REAL", "SIM"),
                       help="compare two logs side by side, with a distance for each statistic")
    stats.add_argument("--quiet", action="store_true", help="do not print the time taken")
    stats.set_defaults(handler=cmd_stats)

    run = commands.add_parser("run", help="replay a log to a learner and evaluate it",
                              description="Replay a log in time order to a learner and report "
                                          "hit rate, NDCG and MRR (DESIGN.md protocols).")
    _add_data_arguments(run)
    run.add_argument("--learner", default="repeat",
                     help="learner name (see `livereplay learners`) or module:Class "
                          "(default: repeat)")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="learner hyper-parameter, repeatable (e.g. --param half_life=72)")
    run.add_argument("--protocol", choices=["starts", "next", "holdout"], default="starts",
                     help="starts: rank each session start's streamer; next: rank what each "
                          "watching user watches at the next step; holdout: the paper's "
                          "last-event-per-user protocol (default: starts)")
    run.add_argument("--availability", choices=["log", "others"], default=None,
                     help="starts candidates: log = A_t; others = A_t without the streamers "
                          "whose only viewer is the evaluated user (default: log)")
    run.add_argument("--split", choices=["test", "validation"], default="test",
                     help="holdout split: test = the last 250 steps, validation = the 250 "
                          "before (default: test)")
    span = run.add_mutually_exclusive_group()
    span.add_argument("--window", metavar="A:B", help="evaluate steps A <= t < B (earlier steps "
                                                      "warm the learner up)")
    span.add_argument("--days", metavar="D1-D2", help="evaluate days D1..D2 (day d = steps "
                                                      "144d .. 144d+143)")
    run.add_argument("--users-sample", type=float, default=None, metavar="FRACTION",
                     help="evaluate only this fraction of the users (learners still see all)")
    run.add_argument("--seed", type=int, default=0, help="seed of the learner and the sample")
    run.add_argument("--json", metavar="OUT", help="write the JSON result here")
    run.add_argument("--quiet", action="store_true", help="print nothing, no progress bar")
    run.set_defaults(handler=cmd_run)

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
