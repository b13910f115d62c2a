"""Policies x seeds in closed loop on a preset: every feedback metric over the whole run (mean
over seeds ± 95% t-interval) and the seconds per run, each metric's drift per day, each
policy minus the first seed by seed; then the machine's load, the wall time and the peak
memory. With ``--write``, the tables go into docs/simulator.md (block ``measured:
closed-loop``) with the command, machine and date.

    python benchmarks/closed_loop.py                                  # small, 3 seeds
    python benchmarks/closed_loop.py --preset twitch-100k --days 10 --seeds 5 \\
        --policies repeat,oracle,mf/epsilon:0.1 --jobs 1 --write      # the docs' table
    python benchmarks/closed_loop.py --preset twitch-100k --policies pop --seeds 1   # 43 days

A seed gives every policy the same world (common random numbers) and seeds the learners.
A policy is a learner, ``LEARNER/EXPLORE`` (its slates drawn at random), ``oracle`` or
``none`` (``livereplay simulate --policy``). Peak memory is the process's maximum resident
set size.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from livereplay.app.closed_loop import (difference_rows, drift_rows, make_policy, plot_drift,
                                        run_policies, summary_rows, write_json)
from livereplay.app.tables import markdown_table, provenance, update_blocks
from livereplay.data import STEPS_PER_DAY
from livereplay.engine import peak_rss_mb
from livereplay.sim.calibration import format_table
from livereplay.sim.presets import PRESETS, parse_overrides, preset

PAGE = Path(__file__).resolve().parents[1] / "docs" / "simulator.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS))
    parser.add_argument("--days", type=int, help="days simulated (default: the preset's)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--policies", default="random,pop,repeat,mf",
                        help="comma-separated policies (default random,pop,repeat,mf)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a parameter of the preset (repeatable)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes for the runs (default: this machine's cores)")
    parser.add_argument("--plots", metavar="DIR", help="write closed_loop_drift.png here")
    parser.add_argument("--json", metavar="FILE", help="write every metric here")
    parser.add_argument("--write", action="store_true",
                        help="put the tables into docs/simulator.md")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    if args.days:
        overrides["n_steps"] = args.days * STEPS_PER_DAY
    params = preset(args.preset, **overrides)
    policies = args.policies.split(",")
    for policy in policies:
        make_policy(policy, seed=0)  # an unknown policy fails before any run

    load, began = os.getloadavg()[0], time.perf_counter()
    summaries = run_policies(params, policies, list(range(args.seeds)), jobs=args.jobs,
                             progress=True)
    seconds = time.perf_counter() - began
    tables = [rows(summaries) for rows in (summary_rows, drift_rows, difference_rows)]
    for header, body in tables:
        print(format_table(header, body), end="\n\n")
    if args.plots:
        Path(args.plots).mkdir(parents=True, exist_ok=True)
        plot_drift(summaries, Path(args.plots) / "closed_loop_drift.png")
    if args.json:
        write_json(summaries, params, args.json)
    print(f"{os.cpu_count()} cores, load {load:.1f} at the start and "
          f"{os.getloadavg()[0]:.1f} at the end: {seconds:.0f} s in all, "
          f"peak memory {peak_rss_mb():,.0f} MB")
    if args.write:
        command = " ".join(["python benchmarks/closed_loop.py", "--preset", args.preset,
                            *(["--days", str(args.days)] if args.days else []),
                            "--seeds", str(args.seeds), "--policies", args.policies,
                            *(f"--set {item}" for item in args.set)])
        caption = (f"Closed loop in the `{args.preset}` world, {params.n_steps // STEPS_PER_DAY} "
                   f"days, seeds 0-{args.seeds - 1}: each metric's mean over seeds ± its "
                   f"95% t-interval, then each policy minus `{policies[0]}` seed by seed. "
                   + provenance(command, seconds) + ".")
        body = "\n\n".join(markdown_table(header, body) for header, body in
                           (tables[0], tables[2]))
        update_blocks([PAGE], {"closed-loop": f"{caption}\n\n{body}"}, "measured", write=True)


if __name__ == "__main__":
    main()
