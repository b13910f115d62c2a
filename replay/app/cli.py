"""The ``livereplay`` command line.

    livereplay stats [--data FILE]                 what is in a log
    livereplay run --learner repeat --protocol starts --days 32-42 --json out.json
    livereplay compare --learners pop,repeat,mf --out results
    livereplay learners                            every learner that can be named
    livereplay protocols                           every protocol that can be named
    livereplay simulate --preset small --out sim.csv
    livereplay ope --feedback DIR --policy repeat   a policy valued from another's feedback
    livereplay import kuailive KuaiLive/ --out kuailive.csv   a public log, with its schedule
    livereplay data check 100k_a.csv --dataset twitch-100k     is this the published file?

Errors in the input or the arguments are one line on stderr and exit status 2; errors of the
system (a full disk) one line and exit status 1.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
import warnings
from typing import TYPE_CHECKING, NoReturn, Sequence

from ..errors import Interrupted, ReplayError
from .parsing import fraction, integer_at_least, positive_number

if TYPE_CHECKING:
    from .runner import RunSpec

# Only argparse and the error type are imported up front: `livereplay --help` and
# `livereplay stats` load neither TensorFlow, SimPy nor matplotlib (each command imports
# what it needs).


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--data, --skip-bad-rows, --cache-dir, --no-cache."""
    parser.add_argument("--data", default=None, metavar="FILE",
                        help="log file (user,stream,streamer,start,stop); default: the embedded "
                             "Twitch sample (Rappaz, McAuley & Aberer, RecSys 2021)")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="skip malformed rows and report how many, by reason "
                             "(default: stop at the first one)")
    add_cache_arguments(parser)


def add_cache_arguments(parser: argparse.ArgumentParser) -> None:
    """--cache-dir, --no-cache."""
    parser.add_argument("--cache-dir", default=None, metavar="DIR",
                        help="cache folder for parsed logs (default: $LIVEREPLAY_CACHE or "
                             "~/.cache/livereplay)")
    parser.add_argument("--no-cache", action="store_true", help="always parse the CSV")


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    """The data options and what to evaluate: protocol, candidates, window, sample, seed."""
    add_data_arguments(parser)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="learner hyper-parameter, repeatable (e.g. --param half_life=72)")
    from ..protocols import AVAILABILITIES, BUILTIN

    parser.add_argument("--protocol", default="starts", metavar="PROTOCOL",
                        help=f"what is predicted: {', '.join(BUILTIN)}, a protocol of a "
                             "package (`livereplay protocols` lists them) or module:Class. "
                             "starts: the streamer of each session start; next: what each "
                             "watching user watches at the next step; holdout: the paper's "
                             "last row of each user (default: starts)")
    parser.add_argument("--availability", choices=AVAILABILITIES, default=None,
                        help="the candidate set: span = streamers whose broadcast rows of "
                             "other users show on air at t (starts, next); others = the live "
                             "streamers without those the evaluated user alone watches "
                             "(starts); log = the live streamers A_t, the paper's, which leak "
                             "the target of starts; schedule = the streamers on air by the "
                             "log's schedule (NAME.schedule.csv beside the log; every "
                             "protocol) (default: span for starts, log for next and holdout, "
                             "where it leaks nothing)")
    parser.add_argument("--period", default=None, metavar="PERIOD",
                        help="the evaluated period of holdout: test = the last 250 steps, "
                             "validation = the 250 before (default: test)")
    span = parser.add_mutually_exclusive_group()
    span.add_argument("--window", metavar="A:B",
                      help="evaluate steps A <= t < B (earlier steps warm the learner up)")
    span.add_argument("--days", metavar="D1-D2",
                      help="evaluate days D1..D2 (day d = steps 144d .. 144d+143)")
    parser.add_argument("--users-sample", type=fraction, default=None, metavar="FRACTION",
                        help="evaluate only this fraction of the users (learners still see all)")
    parser.add_argument("--seed", type=integer_at_least(0), default=0,
                        help="seed of the learner and the sample")
    parser.add_argument("--bootstrap", type=integer_at_least(0), default=1000, metavar="N",
                        help="resamples of users behind the 95%% interval of every metric, "
                             "seeded by --seed (default: 1000; 0: no intervals)")


def run_spec(args: argparse.Namespace) -> "RunSpec":
    """The :class:`livereplay.app.runner.RunSpec` the command line describes."""
    from .parsing import parse_params
    from .runner import RunSpec

    options = vars(args)
    return RunSpec(learner=options.get("learner", "repeat"), data=args.data,
                   protocol=options.get("protocol", "starts"),
                   availability=options.get("availability"), period=options.get("period"),
                   window=options.get("window"), days=options.get("days"),
                   users_sample=options.get("users_sample"), seed=options.get("seed", 0),
                   params=parse_params(options.get("param", [])),
                   skip_bad_rows=args.skip_bad_rows, cache=not args.no_cache,
                   cache_dir=args.cache_dir, bootstrap=options.get("bootstrap", 1000))


def cmd_stats(args: argparse.Namespace) -> int:
    if args.compare:
        from .simulate import print_comparison

        print_comparison(*args.compare)
        return 0
    import numpy as np

    from ..arrays import distinct, pair_keys
    from .runner import load_data

    began = time.perf_counter()
    log = load_data(run_spec(args))
    sizes = log.live.sizes()
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
    if log.schedule is not None:
        on_air = log.schedule.sizes()
        rows += [("Scheduled broadcasts", len(log.schedule.start)),
                 ("Streamers only in the schedule", len(log.schedule.extra_names)),
                 ("On air per step (mean)", round(float(on_air.mean()), 2))]
    width = max(len(name) for name, _ in rows) + 1
    for name, value in rows:
        print(f"{name + ':':<{width}} {value}")
    if not args.quiet:
        print(f"({time.perf_counter() - began:.2f} s)", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import run

    spec, checkpoint = run_spec(args), None
    if args.checkpoint:
        from ..checkpoint import Checkpointer
        from .executors import spec_key, spec_record

        checkpoint = Checkpointer(args.checkpoint, identity=spec_key(spec_record(spec)),
                                  every_steps=args.checkpoint_every,
                                  every_minutes=args.checkpoint_minutes, resume=args.resume)
    elif args.resume:
        raise ReplayError("--resume needs --checkpoint DIR (where the checkpoints are)")
    result = run(spec, progress=False if args.quiet else None, checkpoint=checkpoint)
    if args.json:
        result.write_json(args.json)
    if not args.quiet:
        where = f", candidates {result.availability}" if result.availability else ""
        period = f", {result.extra['period']} period" if "period" in result.extra else ""
        print(f"{args.learner} on {result.extra['data']}: {args.protocol}{period}{where}, "
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

    learners = None if args.learners is None else [
        name.strip() for name in args.learners.split(",")]
    compare(run_spec(args), learners, jobs=args.jobs, out=args.out, quiet=args.quiet,
            baseline=None if args.baseline == "none" else args.baseline,
            test_metric=args.test_metric, engine=args.engine, address=args.address,
            checkpoint_every=args.checkpoint_every, checkpoint_minutes=args.checkpoint_minutes)
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from .tune import parse_seeds, parse_space, tune

    learners = [name.strip() for name in args.learners.split(",") if name.strip()]
    base = run_spec(argparse.Namespace(**{**vars(args), "param": []}))  # --param is the space
    tune(base, learners, parse_space(args.param, args.space, learners),
         strategy=args.strategy, trials=args.trials, select=args.select, report=args.report,
         seeds=parse_seeds(args.seeds),
         select_seeds=(parse_seeds(args.select_seeds, '--select-seeds') if args.select_seeds
                       else None),
         engine=args.engine, jobs=args.jobs,
         address=args.address, out=args.out, quiet=args.quiet, grid_points=args.grid_points)
    return 0


def add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """How often a replay writes a checkpoint."""
    parser.add_argument("--checkpoint-every", type=integer_at_least(1), default=None, metavar="N",
                        help="checkpoint every N steps (default: by time only)")
    parser.add_argument("--checkpoint-minutes", type=positive_number, default=10.0, metavar="M",
                        help="checkpoint when M minutes have passed since the last one "
                             "(default: 10)")


def add_sweep_arguments(parser: argparse.ArgumentParser, out: str) -> None:
    """Where the runs of a sweep go (--engine, --address, --jobs) and its outputs (--out)."""
    parser.add_argument("--out", default=out, metavar="DIR",
                        help=f"folder for results.md, results.csv, results.json, the plots and "
                             f"the finished runs (runs/, reused when run again; default: {out})")
    parser.add_argument("--jobs", type=integer_at_least(1), default=os.cpu_count() or 1,
                        metavar="N",
                        help="runs in N parallel processes, or N CPUs of a local Ray instance "
                             "(default: the machine's cores)")
    parser.add_argument("--engine", choices=["local", "ray"], default="local",
                        help="local: processes of this machine; ray: one Ray task per run "
                             "(pip install 'livereplay[ray]'; default: local)")
    parser.add_argument("--address", default=None, metavar="ADDR",
                        help="the Ray cluster to use (default: $RAY_ADDRESS, else a local "
                             "instance)")
    parser.add_argument("--quiet", action="store_true", help="print nothing, no progress bars")


def print_names(described: dict[str, str]) -> int:
    """One line per name with its description, aligned."""
    width = max(map(len, described))
    for name, description in described.items():
        print(f"{name:<{width}}  {description}")
    return 0


def cmd_learners(args: argparse.Namespace) -> int:
    from livereplay.learners.registry import available_learners

    return print_names(available_learners())


def cmd_protocols(args: argparse.Namespace) -> int:
    from ..protocols import available_protocols

    return print_names(available_protocols())


def cmd_import(args: argparse.Namespace) -> int:
    from ..importers import EventColumns, ScheduleColumns, import_events, import_kuailive

    if args.dataset == "kuailive":
        report = import_kuailive(args.folder, args.out, step_minutes=args.step_minutes,
                                 origin=args.origin)
    else:
        columns = EventColumns(user=args.user, item=args.item, start=args.start, stop=args.stop,
                               duration=args.duration, broadcast=args.broadcast)
        schedule = None if args.schedule is None else ScheduleColumns(
            item=args.item, start=args.schedule_start, stop=args.schedule_stop,
            broadcast=args.broadcast)
        report = import_events(args.file, columns, args.out, time_unit=args.time_unit,
                               step_minutes=args.step_minutes, schedule=args.schedule,
                               schedule_columns=schedule, origin=args.origin)
    if not args.quiet:
        print(f"wrote {args.out}: {report.describe()}")
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from ..datasets import check_log
    from .runner import load_data

    check = check_log(load_data(run_spec(args)), args.dataset)
    print(check.describe())
    return 0 if check.matches else 1


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """The commands of ``livereplay import``: kuailive and events."""
    datasets = parser.add_subparsers(dest="dataset", required=True, metavar="FORMAT")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--out", required=True, metavar="LOG",
                         help="the log file to write (user,stream,streamer,start,stop); its "
                              "schedule goes beside it as LOG's NAME.schedule.csv")
        sub.add_argument("--step-minutes", type=integer_at_least(1), default=10, metavar="N",
                         help="the length of a step (default: 10, as the Twitch logs)")
        sub.add_argument("--origin", type=int, default=None, metavar="TIME",
                         help="the time of step 0, in the files' unit (default: midnight UTC "
                              "of the first event)")
        sub.add_argument("--quiet", action="store_true", help="print nothing")
        sub.set_defaults(handler=cmd_import)

    kuailive = datasets.add_parser(
        "kuailive", help="a KuaiLive folder (click.csv, room.csv)",
        description="Import KuaiLive (Kuaishou, 2025): click.csv becomes the log (live_id is "
                    "the broadcast; the row lasts from timestamp to timestamp + "
                    "watch_live_time), room.csv its schedule (start_timestamp to "
                    "end_timestamp).")
    kuailive.add_argument("folder", metavar="DIR", help="the folder of click.csv and room.csv")
    common(kuailive)
    events = datasets.add_parser(
        "events", help="any watch log with timestamps (CSV with a header)",
        description="Import a watch log with timestamps: one event per line, the columns "
                    "named by the options. With --schedule, a file of broadcasts (the "
                    "columns --item and --broadcast named as in the log, and "
                    "--schedule-start, --schedule-stop) becomes the log's schedule.")
    events.add_argument("file", metavar="FILE", help="the watch log (CSV with a header)")
    events.add_argument("--user", required=True, metavar="COL", help="the user's column")
    events.add_argument("--item", required=True, metavar="COL",
                        help="the streamer's (channel's) column")
    events.add_argument("--start", required=True, metavar="COL", help="the start time's column")
    ends = events.add_mutually_exclusive_group(required=True)
    ends.add_argument("--stop", metavar="COL", help="the end time's column")
    ends.add_argument("--duration", metavar="COL", help="the watch time's column (same unit)")
    events.add_argument("--broadcast", metavar="COL",
                        help="the broadcast's column (default: a streamer's overlapping "
                             "events form one broadcast)")
    events.add_argument("--time-unit", required=True, choices=["s", "ms"],
                        help="the unit of every time: seconds or milliseconds")
    events.add_argument("--schedule", metavar="FILE", help="the broadcasts' schedule (CSV)")
    events.add_argument("--schedule-start", default="start", metavar="COL",
                        help="the schedule's start-time column (default: start)")
    events.add_argument("--schedule-stop", default="stop", metavar="COL",
                        help="the schedule's end-time column (default: stop)")
    common(events)


def cmd_ope(args: argparse.Namespace) -> int:
    from ..ope import ESTIMATORS
    from .ope import evaluate, write_json
    from .tables import markdown_table

    estimators = [name.strip() for name in args.estimators.split(",") if name.strip()]
    unknown = [name for name in estimators if name not in ESTIMATORS]
    if unknown or not estimators:
        raise ReplayError(f"--estimators: unknown estimator {(unknown or [''])[0]!r} (known: "
                          f"{', '.join(ESTIMATORS)})")
    if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
        raise ReplayError(f"--json {args.json}: no such directory")
    report = evaluate(args.feedback, args.policy, explore=args.explore, estimators=estimators,
                      seed=args.seed, switch_threshold=args.switch_threshold,
                      resamples=args.bootstrap)
    if args.json:
        write_json(report, args.json)
    if not args.quiet:
        print(f"{args.policy} ({report.explore}) from {report.n_records:,} slates of "
              f"{report.logging.get('policy', '?')} ({report.logging.get('explore', '?')}); "
              f"effective share of the places' weights {report.effective_share:.3f}; "
              "95% intervals, users resampled")
        print(markdown_table(*report.rows()))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate import run_simulate

    return run_simulate(args)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, as every error of the command line:
    raised as a :class:`ReplayError` (``argument --jobs: must be ...`` read as ``--jobs must
    be ...``) instead of argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        raise ReplayError(re.sub(r"^argument (\S+): (?=must )", r"\1 ", message))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
                                          "hit rate, NDCG and MRR (docs/protocols.md).")
    run.add_argument("--learner", default="repeat",
                     help="learner name (see `livereplay learners`) or module:Class "
                          "(default: repeat)")
    add_replay_arguments(run)
    run.add_argument("--json", metavar="OUT", help="write the JSON result here")
    run.add_argument("--checkpoint", metavar="DIR",
                     help="write checkpoints of the replay into DIR (every --checkpoint-every "
                          "steps or --checkpoint-minutes minutes, and on Ctrl-C or SIGTERM)")
    run.add_argument("--resume", action="store_true",
                     help="go on from the last complete checkpoint in --checkpoint DIR (same "
                          "results as a run never interrupted)")
    add_checkpoint_arguments(run)
    run.add_argument("--quiet", action="store_true", help="print nothing, no progress bar")
    run.set_defaults(handler=cmd_run)

    compare = commands.add_parser(
        "compare", help="compare learners on the same replay: table, CSV, JSON and plots",
        description="Run several learners over the same replay and write a markdown table, "
                    "a CSV, JSON and plots into --out.")
    compare.add_argument("--learners", default=None, metavar="A,B,C",
                         help="comma-separated learner names (default: every built-in one)")
    add_replay_arguments(compare)
    add_sweep_arguments(compare, "livereplay-results")
    add_checkpoint_arguments(compare)
    compare.add_argument("--baseline", default="repeat", metavar="NAME",
                         help="test every other learner against this one, paired on the same "
                              "events (default: repeat; none: no tests)")
    compare.add_argument("--test-metric", default="hr@10", metavar="METRIC",
                         help="the paired test shown in results.md and results.csv "
                              "(default: hr@10; results.json holds every metric)")
    compare.set_defaults(handler=cmd_compare)

    tune = commands.add_parser(
        "tune", help="tune learners' hyper-parameters: trials on a selection period, picks "
                     "re-run on the test period with several seeds",
        description="Search each learner's hyper-parameters (--param NAME=SPEC or "
                    "LEARNER.NAME=SPEC: a,b,c choices; lo:hi uniform; lo:hi:log log-uniform; "
                    "or --space FILE.toml), select on --select, re-run the best on --report "
                    "with --seeds, and write tables, JSON and plots into --out.")
    tune.add_argument("--learners", required=True, metavar="A,B,C",
                      help="comma-separated learner names")
    add_replay_arguments(tune)
    tune.add_argument("--space", default=None, metavar="FILE.toml",
                      help="search space as TOML: [learner] name = \"lo:hi:log\" or [a, b]")
    tune.add_argument("--strategy", choices=["grid", "random", "optuna"], default="grid",
                      help="grid: every point; random: seeded draws; optuna: TPE "
                           "(pip install 'livereplay[tune]'); default: grid")
    tune.add_argument("--trials", type=integer_at_least(1), default=None, metavar="N",
                      help="trials per learner (required for random and optuna)")
    tune.add_argument("--grid-points", type=integer_at_least(2), default=5, metavar="K",
                      help="points of a range in a grid (default: 5)")
    tune.add_argument("--select", default="validation:hr@10", metavar="SPLIT:METRIC",
                      help="what trials are chosen on: validation (the holdout validation "
                           "period) or days:D1-D2, and a metric (default: validation:hr@10)")
    tune.add_argument("--report", default="test", metavar="SPLIT",
                      help="where the picks are reported: test (the holdout test period) or "
                           "days:D1-D2 (default: test)")
    tune.add_argument("--seeds", default="0,1,2", metavar="S1,S2",
                      help="seeds of the test re-runs (default: 0,1,2)")
    tune.add_argument("--select-seeds", default=None, metavar="S1,S2",
                      help="seeds each trial runs with on the selection period, its value the "
                           "mean over them: on a small log one seed's luck can outweigh a "
                           "setting's gain (default: --seed alone)")
    add_sweep_arguments(tune, "livereplay-tune")
    tune.set_defaults(handler=cmd_tune)

    learners = commands.add_parser("learners", help="list the learners, one per line")
    learners.set_defaults(handler=cmd_learners)
    protocols = commands.add_parser("protocols", help="list the protocols, one per line")
    protocols.set_defaults(handler=cmd_protocols)

    simulate = commands.add_parser(
        "simulate", help="simulate a live-streaming platform (logs, or learners in closed loop)",
        description="Simulate a live-streaming platform with SimPy: write a log in the "
                    "original layout, or run learners in closed loop.")
    from .simulate import add_simulate_arguments

    add_simulate_arguments(simulate)
    simulate.set_defaults(handler=cmd_simulate)

    ope = commands.add_parser(
        "ope", help="estimate a policy's acceptance and watch time from another's feedback",
        description="Off-policy evaluation: replay a learner over the log of a feedback "
                    "folder (livereplay simulate --policy P --explore ... --feedback DIR) and "
                    "estimate its acceptance and watch time per shown slate from P's records, "
                    "each with a 95%% bootstrap interval over users (docs/ope.md).")
    ope.add_argument("--feedback", required=True, metavar="DIR", help="the feedback folder")
    ope.add_argument("--policy", required=True, metavar="LEARNER",
                     help="the target learner (see `livereplay learners`) or module:Class")
    ope.add_argument("--explore", default=None, metavar="POLICY",
                     help="the target's slates: greedy (default), epsilon:E or softmax:TAU")
    ope.add_argument("--estimators", default="ips,snips,dm,dr,switch-dr", metavar="A,B",
                     help="comma-separated among ips, snips, dm, dr, switch-dr (default: all)")
    ope.add_argument("--switch-threshold", type=float, default=10.0, metavar="W",
                     help="switch-dr keeps the correction of places whose weight is at most "
                          "W (default: 10)")
    ope.add_argument("--seed", type=integer_at_least(0), default=0,
                     help="seed of the learner, of its drawn slates and of the bootstrap")
    ope.add_argument("--bootstrap", type=integer_at_least(1), default=1000, metavar="N",
                     help="resamples of users behind each interval (default: 1000)")
    ope.add_argument("--json", metavar="OUT", help="write every estimate here")
    ope.add_argument("--quiet", action="store_true", help="print nothing")
    ope.set_defaults(handler=cmd_ope)

    importing = commands.add_parser(
        "import", help="turn a public or timestamped watch log into a log and its schedule",
        description="Import a watch log with timestamps into a log file in ten-minute steps "
                    "(--step-minutes), and the platform's broadcast schedule beside it "
                    "(docs/datasets).")
    add_import_arguments(importing)

    data = commands.add_parser("data", help="check a downloaded log against its published "
                                            "figures")
    checks = data.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = checks.add_parser(
        "check", help="rows, users, streamers and steps against the published figures",
        description="Count a log's rows, users, streamers and steps and compare them with the "
                    "figures published for the dataset; exit status 0 when they match, 1 when "
                    "not.")
    check.add_argument("data", metavar="FILE", help="the log file to check")
    from ..datasets import PUBLISHED

    check.add_argument("--dataset", required=True, choices=list(PUBLISHED),
                       help="the dataset the file should be")
    add_cache_arguments(check)
    check.set_defaults(handler=cmd_data_check, skip_bad_rows=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``livereplay`` command; returns the exit status."""
    if os.getcwd() not in sys.path:  # module:Class names a module of this folder too, as
        sys.path.append(os.getcwd())  # with python -m (after the installed packages)
    with warnings.catch_warnings():  # warnings (an unwritable cache) are one line too
        warnings.showwarning = show_warning
        try:
            args = build_parser().parse_args(argv)
            return args.handler(args)
        except ReplayError as error:
            if isinstance(error, Interrupted):  # stopped by a signal, its checkpoint written
                print(f"livereplay: {error}", file=sys.stderr)
                return 130
            print(f"livereplay: error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("livereplay: interrupted", file=sys.stderr)
            return 130
        except OSError as error:  # the system's (a full disk, a file that cannot be written)
            print(f"livereplay: error: {error}", file=sys.stderr)
            return 1


def show_warning(message: Warning | str, *where: object) -> None:
    """A warning as one line on stderr, ``livereplay: warning: ...``, without its source."""
    print(f"livereplay: warning: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
