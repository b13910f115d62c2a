"""What running a sweep as Ray tasks costs: the same compare-like sweep on the local engine
(``--jobs`` processes) and on a local Ray instance with as many CPUs, and Ray's overhead per run.

    python benchmarks/ray_overhead.py        # pop, repeat, recent-pop, random x seeds 0, 1
    python benchmarks/ray_overhead.py --learners pop,mf --seeds 0 --days 32-42

Ray's start is timed apart, then its first sweep (it starts the worker processes, each
imports livereplay); then the shortest of ``--repeats`` sweeps on each engine, Ray's
workers warm. Every engine must give the same ranks.
"""
import argparse
import time

import numpy as np

from livereplay.app.executors import connect_ray, execute
from livereplay.app.runner import RunSpec, load_data


def timed(function, *args, **options):
    began = time.perf_counter()
    value = function(*args, **options)
    return value, time.perf_counter() - began


def best_of(repeats: int, function, *args, **options):
    """The last value and the shortest of ``repeats`` timings (the least disturbed by other
    load on the machine)."""
    timings = [timed(function, *args, **options) for _ in range(repeats)]
    return timings[-1][0], min(seconds for _, seconds in timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default="pop,repeat,recent-pop,random")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--days", default=None, metavar="D1-D2",
                        help="evaluated days (default: every session start)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2,
                        help="warm sweeps per engine, the shortest counts (default: 2)")
    args = parser.parse_args()
    specs = [RunSpec(learner=name, seed=int(seed), days=args.days, bootstrap=0)
             for name in args.learners.split(",") for seed in args.seeds.split(",")]
    load_data(specs[0])  # fill the cache, as compare does before its runs

    _, start_s = timed(connect_ray, cpus=args.jobs)
    cold, cold_s = timed(execute, specs, engine="ray", jobs=args.jobs, progress=False)
    local, local_s = best_of(args.repeats, execute, specs, jobs=args.jobs, progress=False)
    warm, warm_s = best_of(args.repeats, execute, specs, engine="ray", jobs=args.jobs,
                           progress=False)
    for results in (cold, warm):
        assert all(np.array_equal(a.ranks, b.ranks) for a, b in zip(local, results))

    runs = len(specs)
    replay_s = sum(result.seconds for result in local)
    print(f"{runs} runs ({args.learners} x seeds {args.seeds}), {args.jobs} CPUs, "
          f"{sum(r.n_events for r in local):,} events; replay time in the runs: {replay_s:.1f} s")
    print("\n| engine | wall s | overhead per run vs local, s |\n|---|---:|---:|")
    print(f"| local, {args.jobs} processes | {local_s:.2f} | |")
    print(f"| ray start (local instance) | {start_s:.2f} | |")
    for name, seconds in (("ray, first sweep (cold workers)", cold_s),
                          ("ray, warm workers", warm_s)):
        print(f"| {name} | {seconds:.2f} | {(seconds - local_s) / runs:+.3f} |")


if __name__ == "__main__":
    main()
