"""Policies x seeds in closed loop on a preset, through ``livereplay simulate``: every feedback
metric over the whole run (mean over seeds ± 95% t-interval) and the seconds per run, each
metric's drift per day, each policy minus the first seed by seed; then the machine's load,
the wall time and the peak memory.

    python benchmarks/closed_loop.py                                  # small, 3 seeds
    python benchmarks/closed_loop.py --preset twitch-100k --set n_steps=1440 --plots closed-loop-plots
    python benchmarks/closed_loop.py --preset twitch-100k --policies pop --seeds 1   # full scale

A seed gives every policy the same world (common random numbers) and seeds the learners.
Peak memory is the process's maximum resident set size.
"""
from __future__ import annotations

import argparse
import os
import time

from livereplay.app.cli import main as livereplay
from livereplay.engine import peak_rss_mb
from livereplay.sim.presets import PRESETS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--policies", default="random,pop,repeat,mf",
                        help="comma-separated learners, 'none' for no slate "
                             "(default random,pop,repeat,mf)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a parameter of the preset (repeatable)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes for the runs (default: this machine's cores)")
    parser.add_argument("--plots", metavar="DIR", help="write closed_loop_drift.png here")
    parser.add_argument("--json", metavar="FILE", help="write every metric here")
    args = parser.parse_args()
    argv = ["simulate", "--preset", args.preset, "--seeds", str(args.seeds),
            "--jobs", str(args.jobs)]
    argv += [f"--policy={policy}" for policy in args.policies.split(",")]
    argv += [f"--set={assignment}" for assignment in args.set]
    argv += ["--plots", args.plots] if args.plots else []
    argv += ["--json", args.json] if args.json else []

    load, began = os.getloadavg()[0], time.perf_counter()
    status = livereplay(argv)
    print(f"\n{os.cpu_count()} cores, load {load:.1f} at the start and "
          f"{os.getloadavg()[0]:.1f} at the end: {time.perf_counter() - began:.0f} s in all, "
          f"peak memory {peak_rss_mb():,.0f} MB")
    raise SystemExit(status)


if __name__ == "__main__":
    main()
