"""Time and peak memory of generating a preset at a scale, and its calibration against the
real figures: the full release's size for ``twitch-full``, the real 100k file otherwise
(counts taken at the scale, shares as they are).

    python benchmarks/sim_speed.py                       # twitch-100k, seed 0
    python benchmarks/sim_speed.py tiny --seed 3 --set n_users=500
    python benchmarks/sim_speed.py --calibration DIR     # also KS distances to the real
                                                         # per-streamer / per-user files in DIR
    python benchmarks/sim_speed.py twitch-full --scale 0.05   # how the twitch-full preset
                                                         # was calibrated (see sim/presets.py)
    python benchmarks/sim_speed.py twitch-full --out FILE     # written as it goes: size,
                                                         # time and memory only
    python benchmarks/sim_speed.py --fit-interval        # the median viewing length that
                                                         # gives the real mean interval

Peak memory is the process's maximum resident set size (``resource.getrusage``).
"""
from __future__ import annotations

import argparse
import sys
import time

from livereplay.engine import peak_rss_mb
from livereplay.sim.calibration import (CALIBRATION_FILES, MEAN_INTERVAL_FIT, REAL_100K,
                                        REAL_FULL, calibration_file_rows, calibration_rows,
                                        fit_parameters, format_table, log_stats,
                                        missing_calibration_files)
from livereplay.sim.presets import PRESETS, parse_overrides, preset
from livereplay.sim.world import simulate, simulate_to_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", nargs="?", default="twitch-100k", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0, metavar="F",
                        help="fraction of the preset's users and streamers (default 1)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--out", metavar="FILE",
                        help="write the log as it goes (no statistics beyond its size)")
    parser.add_argument("--calibration", metavar="DIR",
                        help=f"folder with {' and '.join(CALIBRATION_FILES)}")
    parser.add_argument("--fit-interval", action="store_true",
                        help="fit the median viewing length to the real 100k file's mean "
                             "interval and print it")
    args = parser.parse_args()
    if args.calibration and (missing := missing_calibration_files(args.calibration)):
        parser.error(f"--calibration {args.calibration}: no {' or '.join(missing)} there")
    params = preset(args.preset, **parse_overrides(args.set)).scaled(args.scale)
    full = args.preset == "twitch-full"
    real, label = (REAL_FULL, "real full") if full else (REAL_100K, "real 100k")
    if args.fit_interval:
        fitted = fit_parameters(params, [MEAN_INTERVAL_FIT], [REAL_100K["mean_interval"]],
                                [args.seed], report=lambda line: print(line, flush=True))
        print(f"fitted watch_median_steps = {fitted.watch_median_steps:.4g}")
        params = fitted
    progress = sys.stderr.isatty()

    began = time.perf_counter()
    if args.out:
        summary = simulate_to_csv(params, args.out, args.seed, progress=progress)
        generation = time.perf_counter() - began
        scalars = {"rows": summary.n_rows, "users": summary.n_users,
                   "streamers": summary.n_streamers}
        validated = ""
    else:
        simulated = simulate(params, args.seed, progress=progress)
        generation = time.perf_counter() - began
        summary = simulated.summary()
        stats = log_stats(simulated.to_log())
        scalars = stats.scalars
        validated = f" (with validated log and statistics {time.perf_counter() - began:.1f} s)"
    print(f"preset {args.preset} at scale {args.scale:g}, seed {args.seed}: {summary}, "
          f"{params.n_steps} steps")
    print(f"generation {generation:.1f} s{validated}, peak memory {peak_rss_mb():.0f} MB")
    print()
    print(format_table(("statistic", label, "simulated", "rel. error", "within"),
                       calibration_rows(scalars, real, args.scale)))
    if args.calibration and not args.out:
        print()
        print(format_table(("distribution", "real 100k", "simulated", "distance"),
                           calibration_file_rows(stats, args.calibration)))


if __name__ == "__main__":
    main()
