"""The ``livereplay simulate`` command and ``livereplay stats --compare``, wired by :mod:`livereplay.app.cli`.

Only the presets are imported up front (for the help text); SimPy, the world and the
learners are imported when a command runs.

``livereplay simulate`` writes a simulated log, or with ``--policy`` runs learners in closed
loop (``--seeds N``: each with N seeds) and prints how each did online, its feedback metrics
with their 95% intervals over seeds (:mod:`livereplay.app.closed_loop`); ``livereplay stats --compare REAL SIM`` prints both logs'
statistics side by side (see :func:`print_comparison`).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from livereplay.errors import ReplayError

from livereplay.sim.presets import PRESETS, SimParams, parse_overrides, preset

if TYPE_CHECKING:
    from livereplay.sim.world import LogSummary

EPILOG = """\
parameters (override any with --set NAME=VALUE, repeatable; lists as comma-separated numbers):
  {names}
see `--list-params` for a preset's values, and sim/presets.py for what each means.

Without --policy, --out writes the log as the simulation goes: memory holds the world (users, streamers, the
pairs watched), never the log, so the twitch-full preset (124M rows, a 4 GB file) needs about
4 GB. --scale F keeps a fraction F of the preset's users and streamers (after --set) and
every law: a log about F times as large, with the same rows per user and viewers per streamer.

examples:
  livereplay simulate --preset small --seed 1 --out small.csv
  livereplay simulate --preset twitch-100k --seed 0 --set n_users=20000 --out sim.csv
  livereplay simulate --preset twitch-full --scale 0.1 --seed 0 --out full-0.1.csv
  livereplay simulate --preset small --policy random --policy pop --policy repeat
  livereplay simulate --preset small --policy random --policy pop --policy repeat --policy mf \
      --seeds 3 --plots plots --json closed-loop.json
"""


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``livereplay simulate`` to ``parser``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG.format(names=", ".join(f.name for f in fields(SimParams)))
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS),
                        help="tiny (seconds, tests), small (a quick demo), twitch-sample "
                             "(fitted to the embedded sample), twitch-100k "
                             "(the scale of the real 100k file), twitch-full (the scale of "
                             "the full release: 15.5M users, 124M rows); default small")
    parser.add_argument("--scale", type=float, default=1.0, metavar="F",
                        help="keep a fraction 0 < F <= 1 of the preset's users and streamers "
                             "(default 1)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    parser.add_argument("--out", metavar="FILE",
                        help="write the log here (headerless user,stream,streamer,start,stop)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a parameter of the preset (repeatable)")
    parser.add_argument("--policy", action="append", default=[], metavar="LEARNER[/EXPLORE]",
                        help="run this learner in closed loop (repeatable to compare), its "
                             "slates drawn at random with /epsilon:E or /softmax:TAU (e.g. "
                             "mf/softmax:0.5); 'oracle' for the slates the simulator's choice "
                             "model rates best, 'none' for no recommendations; the slate size "
                             "is slate_size")
    parser.add_argument("--seeds", type=int, default=1, metavar="N",
                        help="closed loop: run every policy with the N seeds --seed, --seed+1, "
                             "...; a seed gives every policy the same world; tables show the "
                             "mean over seeds ± its 95%% t-interval (default 1: no interval)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="closed loop: run the policies x seeds in N processes (default: "
                             "this machine's cores); the same results as one")
    parser.add_argument("--plots", metavar="DIR",
                        help="closed loop: write the metrics' drift per day (closed_loop_drift.png) here")
    parser.add_argument("--json", metavar="FILE",
                        help="closed loop: write every metric (per seed, per day, with "
                             "intervals) here")
    parser.add_argument("--feedback", metavar="DIR",
                        help="closed loop, one policy and one seed: write every shown slate "
                             "with its propensities, what was taken and watched, and the log, "
                             "into DIR (docs/ope.md), for `livereplay ope`")
    parser.add_argument("--explore", metavar="POLICY",
                        help="with --feedback: draw the slates from epsilon:E (each place a "
                             "uniform live streamer with chance E, else the learner's best) or "
                             "softmax:TAU (Plackett-Luce on score/TAU); default greedy")
    parser.add_argument("--list-params", action="store_true",
                        help="print the preset's parameters (after --set and --scale) "
                             "and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def run_simulate(args: argparse.Namespace) -> int:
    """Run ``livereplay simulate``; returns the exit status (bad arguments raise ReplayError)."""
    params = preset(args.preset, **parse_overrides(args.set)).scaled(args.scale)
    if args.list_params:
        for name, value in params.as_dict().items():
            print(f"{name} = {','.join(map(str, value)) if isinstance(value, tuple) else value}")
        return 0
    if args.seed < 0:
        raise ReplayError(f"--seed must be a non-negative integer, not {args.seed}")
    if args.out and not Path(args.out).resolve().parent.is_dir():
        raise ReplayError(f"--out {args.out}: no such directory")
    if not args.policy and not args.out:
        raise ReplayError("give --out FILE to write the simulated log (or --policy to run "
                          "a learner in closed loop)")
    if not args.policy and (args.seeds != 1 or args.plots or args.json or args.feedback
                            or args.explore):
        raise ReplayError("--seeds, --plots, --json, --feedback and --explore are for the "
                          "closed loop: give --policy")
    progress = not args.quiet and sys.stderr.isatty()
    began = time.perf_counter()
    if args.policy:
        summary = run_policies_from_arguments(args, params, progress)
    else:
        from livereplay.sim.world import simulate_to_csv

        summary = simulate_to_csv(params, args.out, args.seed, progress=progress)
    if args.out and not args.quiet:
        print(f"wrote {args.out}: {summary}, {params.n_steps} steps, "
              f"{time.perf_counter() - began:.1f} s", file=sys.stderr)
    return 0


def run_policies_from_arguments(args: argparse.Namespace, params: SimParams,
                                progress: bool) -> LogSummary | None:
    """Run ``--policy`` x ``--seeds`` in closed loop; print the tables, write ``--plots``,
    ``--json`` and (one policy, one seed) the log to ``--out``; returns the log's summary
    if written."""
    check_closed_loop_arguments(args)
    from livereplay.sim.calibration import format_table
    from livereplay.sim.closed_loop import PolicySummary, run_closed_loop

    from .closed_loop import (difference_rows, drift_rows, make_policy, plot_drift,
                              run_policies, summary_rows, write_json)

    for policy in set(args.policy):
        make_policy(policy, seed=args.seed)  # an unknown policy fails before any run
    seeds = list(range(args.seed, args.seed + args.seeds))
    written = None
    if args.feedback:
        from .ope import log_feedback

        name, _, explore = args.policy[0].partition("/")
        report = log_feedback(params, name, args.feedback, seed=args.seed,
                              explore=args.explore or explore or None, progress=progress)[1]
        summaries = [PolicySummary(args.policy[0], [report])]
    elif args.out:
        policy = args.policy[0]
        learner, exploration = make_policy(policy, seed=args.seed)
        report, simulated = run_closed_loop(params, learner, args.seed, name=policy,
                                            progress=progress, exploration=exploration)
        simulated.write_csv(args.out)
        summaries, written = [PolicySummary(policy, [report])], simulated.summary()
    else:
        summaries = run_policies(params, args.policy, seeds, jobs=args.jobs,
                                 progress=progress)
    print(format_table(*summary_rows(summaries)))
    print()
    print(format_table(*drift_rows(summaries)))
    if len(summaries) > 1 and len(seeds) > 1:
        print()
        print(format_table(*difference_rows(summaries)))
    if args.plots:
        Path(args.plots).mkdir(parents=True, exist_ok=True)
        plot_drift(summaries, Path(args.plots) / "closed_loop_drift.png")
    if args.json:
        write_json(summaries, params, args.json)
    return written


def check_closed_loop_arguments(args: argparse.Namespace) -> None:
    """One-line errors for closed-loop options that cannot work together."""
    repeated = sorted({p for p in args.policy if args.policy.count(p) > 1})
    if repeated:
        raise ReplayError(f"--policy {repeated[0]} given more than once")
    if args.seeds < 1:
        raise ReplayError(f"--seeds must be a positive integer, not {args.seeds}")
    if args.jobs < 1:
        raise ReplayError(f"--jobs must be a positive integer, not {args.jobs}")
    if args.feedback and (len(args.policy) > 1 or args.seeds > 1 or args.out
                          or args.policy == ["none"]):
        raise ReplayError("--feedback records a single run of a learner, its log included: "
                          "give one --policy other than none, one seed and no --out")
    if args.explore and not args.feedback:
        raise ReplayError("--explore draws the slates of a --feedback run: give --feedback DIR "
                          "(or a policy LEARNER/EXPLORE, such as mf/softmax:0.5)")
    if args.explore and "/" in args.policy[0]:
        raise ReplayError(f"--policy {args.policy[0]} already says how it explores: "
                          "drop --explore")
    if args.explore:
        from livereplay.sim.explore import parse_exploration

        parse_exploration(args.explore)  # a bad policy fails before any run
    if args.out and (len(args.policy) > 1 or args.seeds > 1):
        raise ReplayError("--out takes the log of a single run: give one --policy and one seed")
    for option, path in (("--json", args.json), ("--plots", args.plots)):
        if path and not Path(path).resolve().parent.is_dir():
            raise ReplayError(f"{option} {path}: no such directory")


def print_comparison(real_path: str, sim_path: str) -> None:
    """Print the statistics of two logs side by side, with a distance for each: the relative
    difference of figures, the Kolmogorov-Smirnov statistic of distributions."""
    from livereplay.data import read_csv

    from livereplay.sim.calibration import comparison_rows, format_table, log_stats

    real, sim = log_stats(read_csv(real_path)), log_stats(read_csv(sim_path))
    print(format_table(("statistic", Path(real_path).name, Path(sim_path).name, "distance"),
                       comparison_rows(real, sim)))
