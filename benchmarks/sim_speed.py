"""Time and peak memory of generating a preset, and its calibration against the real 100k file.

    python benchmarks/sim_speed.py                       # twitch-100k, seed 0
    python benchmarks/sim_speed.py tiny --seed 3 --set n_users=500
    python benchmarks/sim_speed.py --calibration DIR     # also KS distances to the real
                                                         # per-streamer / per-user files in DIR

Peak memory is the process's maximum resident set size (``resource.getrusage``).
"""
from __future__ import annotations

import argparse
import sys
import time

from livereplay.engine import peak_rss_mb
from livereplay.sim.calibration import (calibration_file_rows, calibration_rows, format_table, log_stats)
from livereplay.sim.presets import PRESETS, parse_overrides, preset
from livereplay.sim.world import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", nargs="?", default="twitch-100k", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--calibration", metavar="DIR",
                        help="folder with streamer_viewer_distribution.csv and rfm_user_segments.csv")
    args = parser.parse_args()
    params = preset(args.preset, **parse_overrides(args.set))

    began = time.perf_counter()
    simulated = simulate(params, args.seed, progress=sys.stderr.isatty())
    generation = time.perf_counter() - began
    log = simulated.to_log()
    print(f"preset {args.preset}, seed {args.seed}: {log.n_rows:,} rows, {log.n_users:,} users, "
          f"{log.n_streamers:,} streamers, {params.n_steps} steps")
    print(f"generation {generation:.1f} s (with validated log {time.perf_counter() - began:.1f} s), "
          f"peak memory {peak_rss_mb():.0f} MB")

    stats = log_stats(log)
    print()
    print(format_table(("statistic", "real 100k", "simulated", "rel. error", "within"),
                       calibration_rows(stats)))
    if args.calibration:
        print()
        print(format_table(("distribution", "real 100k", "simulated", "distance"),
                           calibration_file_rows(stats, args.calibration)))


if __name__ == "__main__":
    main()
