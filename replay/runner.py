"""One learner on one replay, as the command line describes it: the options shared by
``livereplay run`` and ``livereplay compare``, and what they mean."""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any, Sequence

from .data import STEPS_PER_DAY, Log, default_data_path
from .errors import ReplayError
from .results import Result


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--data, --skip-bad-rows, --cache-dir, --no-cache."""
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


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    """The data options and what to evaluate: protocol, candidates, window, sample, seed."""
    add_data_arguments(parser)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="learner hyper-parameter, repeatable (e.g. --param half_life=72)")
    parser.add_argument("--protocol", choices=["starts", "next", "holdout"], default="starts",
                        help="starts: rank each session start's streamer; next: rank what each "
                             "watching user watches at the next step; holdout: the paper's "
                             "last-event-per-user protocol (default: starts)")
    parser.add_argument("--availability", choices=["log", "others"], default=None,
                        help="starts candidates: log = A_t; others = A_t without the streamers "
                             "whose only viewer is the evaluated user (default: log)")
    parser.add_argument("--split", choices=["test", "validation"], default="test",
                        help="holdout split: test = the last 250 steps, validation = the 250 "
                             "before (default: test)")
    span = parser.add_mutually_exclusive_group()
    span.add_argument("--window", metavar="A:B",
                      help="evaluate steps A <= t < B (earlier steps warm the learner up)")
    span.add_argument("--days", metavar="D1-D2",
                      help="evaluate days D1..D2 (day d = steps 144d .. 144d+143)")
    parser.add_argument("--users-sample", type=float, default=None, metavar="FRACTION",
                        help="evaluate only this fraction of the users (learners still see all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the learner and the sample")


def load_data(args: argparse.Namespace) -> Log:
    """The log the arguments name (through the cache), reporting what loading dropped."""
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
            first, colon, last = window.partition(":")
            if not colon:
                raise ValueError
            a, b = int(first or 0), int(last or n_steps)
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


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs with Python literal values (strings if not a literal).

    >>> parse_params(["half_life=72", "name=x"])
    {'half_life': 72, 'name': 'x'}
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ReplayError(f"--param {pair!r}: expected NAME=VALUE")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def run_learner(args: argparse.Namespace, log: Log | None = None,
                progress: bool | None = None) -> Result:
    """Build ``args.learner`` and evaluate it as the arguments say; the result records the
    data, seed, sample and hyper-parameters."""
    from learners.registry import make_learner

    params = parse_params(args.param)
    learner = make_learner(args.learner, seed=args.seed, **params)
    log = log if log is not None else load_data(args)
    if args.protocol == "holdout":
        from .holdout import holdout

        given = [flag for flag, value in (("--window", args.window), ("--days", args.days),
                                          ("--users-sample", args.users_sample),
                                          ("--availability", args.availability)) if value]
        if given:
            raise ReplayError(f"--protocol holdout has fixed splits (--split); drop {given[0]}")
        result = holdout(log, learner, split=args.split, learner_name=args.learner)
    else:
        from .engine import replay, sample_users

        window = parse_window(args.window, args.days, log.n_steps)
        users = (sample_users(log.n_users, args.users_sample, args.seed)
                 if args.users_sample else None)
        result = replay(log, learner, protocol=args.protocol,
                        availability=args.availability or "log", window=window, users=users,
                        progress=progress, learner_name=args.learner)
    result.extra.update({"data": log.source, "seed": args.seed,
                         "users_sample": args.users_sample, "params": params})
    return result
