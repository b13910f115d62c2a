"""Time of the 95% bootstrap intervals and of a paired test at the scale of the 100k file.

    python benchmarks/intervals_speed.py                  # 3M events, 100k users, 1000 resamples
    python benchmarks/intervals_speed.py --events 300000 --users 10000 --resamples 200

Synthetic events: users drawn with a heavy tail, ranks geometric with some misses. Peak memory
is the process's maximum resident set size (``resource.getrusage``).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

from livereplay.intervals import bootstrap_intervals, paired_test
from livereplay.metrics import EVENT_METRICS, METRICS, event_values


def synthetic_ranks(rng: np.random.Generator, n_events: int, p: float) -> np.ndarray:
    """Geometric ranks (mean about 1/p), a tenth of them misses."""
    ranks = rng.geometric(p, n_events).astype(np.float64) - 1
    ranks[rng.random(n_events) < 0.1] = np.inf
    return ranks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    users = np.minimum(rng.zipf(1.5, args.events) - 1, args.users - 1)
    users[:args.users] = np.arange(args.users)  # every user has an event
    values = event_values(synthetic_ranks(rng, args.events, 0.2))

    began = time.perf_counter()
    bounds = bootstrap_intervals(values, users, args.resamples, args.seed)
    seconds = time.perf_counter() - began
    print(f"intervals of {len(EVENT_METRICS)} metrics, {args.resamples} resamples of "
          f"{args.events:,} events from {args.users:,} users: {seconds:.2f} s")
    print("  hr@10 95% interval: [{:.4f}, {:.4f}]".format(*bounds[EVENT_METRICS.index("hr@10")]))

    baseline = event_values(synthetic_ranks(rng, args.events, 0.25))[:len(METRICS)]
    began = time.perf_counter()
    test = paired_test(values[:len(METRICS)], baseline, users, args.resamples, args.seed)
    seconds = time.perf_counter() - began
    print(f"paired test of {len(METRICS)} metrics, same size: {seconds:.2f} s "
          f"(hr@10 difference {test.difference[METRICS.index('hr@10')]:+.4f}, "
          f"p = {test.p_value[METRICS.index('hr@10')]:.3f})")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak memory {peak_kb / (1 << 20 if sys.platform == 'darwin' else 1 << 10):,.0f} MB")


if __name__ == "__main__":
    main()
