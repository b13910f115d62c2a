"""Speed and memory of the core: loading and stats (cold and cached) against a plain
pandas+numpy script, the availability index against the seed's per-step filter, and replay
throughput of the baselines. Every figure is measured in this run, so compare ratios.

    python benchmarks/speed.py                 # a generated 3M-row log of the 100k file's shape
    python benchmarks/speed.py --data 100k_a.csv
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of a command run in a fresh process."""
    script = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
              "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
              "wall = time.perf_counter() - t; "
              "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
              "print(wall, rss); sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", script, *command], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def seed_filter_seconds(path: Path, steps: int = 10) -> tuple[float, int]:
    """Seconds per step of the seed notebook's availability filter, and the step count."""
    data = pd.read_csv(path, names=["user", "stream", "streamer", "start", "stop"])
    n_steps = int(data.stop.max())
    began = time.perf_counter()
    for s in np.linspace(0, n_steps - 1, steps).astype(int):
        data[(data.start <= s) & (data.stop > s)].streamer.unique().tolist()
    return (time.perf_counter() - began) / steps, n_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a log file (default: a generated 3M-row log)")
    parser.add_argument("--learners", default="pop,repeat")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="livereplay-speed-"))
    data = args.data
    if data is None:
        from synthetic import synthetic_log

        data = work / "synthetic_3m.csv"
        synthetic_log().to_csv(data, header=False, index=False)
    cache = work / "cache"
    livereplay = [sys.executable, "-m", "replay.cli"]

    rows = []
    plain, plain_mb = timed([sys.executable, str(HERE / "plain_stats.py"), str(data)])
    rows.append(("plain pandas+numpy stats script", plain, plain_mb, 1.0))
    stats = [*livereplay, "stats", "--quiet", "--data", str(data), "--cache-dir", str(cache)]
    cold, cold_mb = timed(stats)
    rows.append(("livereplay stats, cold (parse, index, write cache)", cold, cold_mb, plain / cold))
    warm, warm_mb = timed(stats)
    rows.append(("livereplay stats, cached", warm, warm_mb, plain / warm))

    from replay.availability import Availability
    from replay.cache import load_log

    log = load_log(data, cache_dir=cache)
    began = time.perf_counter()
    Availability.build(log)
    build = time.perf_counter() - began
    per_step, n_steps = seed_filter_seconds(data)
    rows.append((f"seed per-step filter, extrapolated to {n_steps} steps", per_step * n_steps,
                 float("nan"), 1.0))
    rows.append(("availability index for every step", build, float("nan"),
                 per_step * n_steps / build))

    print(f"data: {data.name}  rows {log.n_rows:,}  users {log.n_users:,}  "
          f"streamers {log.n_streamers:,}  steps {log.n_steps:,}")
    print(f"{'what':<58}{'seconds':>10}{'peak MB':>10}{'speed-up':>10}")
    for name, seconds, mb, ratio in rows:
        print(f"{name:<58}{seconds:>10.2f}{mb:>10.0f}{ratio:>9.1f}x")

    print(f"\n{'replay (full log)':<40}{'events':>11}{'seconds':>9}{'events/s':>11}{'peak MB':>9}")
    for learner in args.learners.split(","):
        for protocol, availability in (("starts", "log"), ("starts", "others"), ("next", "log")):
            out = work / f"{learner}-{protocol}-{availability}.json"
            subprocess.run([*livereplay, "run", "--quiet", "--data", str(data), "--cache-dir",
                            str(cache), "--learner", learner, "--protocol", protocol,
                            "--availability", availability, "--json", str(out)], check=True)
            result = json.loads(out.read_text())
            print(f"{learner + ' ' + protocol + ' ' + availability:<40}"
                  f"{result['metrics']['all']['n']:>11,}{result['seconds']:>9.1f}"
                  f"{result['events_per_second']:>11,.0f}{result['peak_rss_mb']:>9.0f}")


if __name__ == "__main__":
    main()
