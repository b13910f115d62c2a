"""The full Twitch release's scale on one machine: seconds, throughput and peak memory of
simulating, parsing, opening and replaying a 124M-row log, beside the same figures at 3M rows.

For each log (a simulated ``twitch-full`` log at ``--scale``, and a simulated ``twitch-100k``
log of 3M rows for comparison), each step runs as its own command in a fresh process, so its
peak resident memory is its own:

- simulate: ``livereplay simulate --preset P --seed 0 --out FILE`` (skipped when the file
  is already in ``--folder``: logs are reused between runs);
- cold parse: ``livereplay stats`` with an empty cache (parse in chunks, both indexes, cache);
- warm open: opening the cached log (memory-mapped) before any replay;
- stats: ``livereplay stats`` through the cache;
- compare: ``livereplay compare --learners ... --protocol starts --jobs N``; its runs are
  the ``starts`` replays (each run's seconds and peak memory as the run records them), so
  the longest replay is not run twice;
- replays: ``livereplay run`` of each learner on the other protocols (``next``; and on
  ``starts`` too with ``--jobs 0``, which skips the compare).

    python benchmarks/full_scale.py --folder /data/livereplay-full --next-sample mf=0.2  # 124M rows
    python benchmarks/full_scale.py --folder runs-full --scale 0.1            # 12M rows
    python benchmarks/full_scale.py --folder runs-full --learners pop,repeat --protocols starts \
        --jobs 0 --no-baseline                                               # the quick part
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from speed import LIVEREPLAY, timed

# Opens a cached log with its indexes and prints seconds, peak MB, rows, users, streamers.
OPEN = ("import resource, sys, time; t = time.perf_counter(); "
        "from livereplay.cache import load_log; log = load_log(sys.argv[1], cache_dir=sys.argv[2]); "
        "log.live; log.spans; "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
        "log.n_rows, log.n_users, log.n_streamers)")


def figures(folder: Path, preset: str, scale: float, learners: list[str], protocols: list[str],
            jobs: int, next_sample: dict[str, float]) -> Iterator[tuple]:
    """(what, count, unit, seconds, peak MB) for every step on one simulated log, as each
    step ends; ``jobs`` 0 skips the compare; ``next_sample`` maps a learner to the share of
    users its ``next`` replay evaluates."""
    name = f"{preset}-scale{scale:g}-seed0"
    data, cache, out = folder / f"{name}.csv", folder / f"{name}-cache", folder / name
    out.mkdir(parents=True, exist_ok=True)
    if data.exists():
        print(f"reusing {data}", file=sys.stderr)
    else:
        seconds, mb = timed([*LIVEREPLAY, "simulate", "--quiet", "--preset", preset,
                             "--scale", str(scale), "--seed", "0", "--out", str(data)])
        yield "simulate", None, "", seconds, mb
    shutil.rmtree(cache, ignore_errors=True)
    stats = [*LIVEREPLAY, "stats", "--quiet", "--data", str(data), "--cache-dir", str(cache)]
    cold, cold_mb = timed(stats)
    opened = subprocess.run([sys.executable, "-c", OPEN, str(data), str(cache)], check=True,
                            capture_output=True, text=True).stdout.split()
    open_seconds, open_mb, n_rows, n_users, n_streamers = map(float, opened)
    n_rows = int(n_rows)
    print(f"{name}: {n_rows:,} rows, {n_users:,.0f} users, {n_streamers:,.0f} streamers",
          file=sys.stderr)
    warm, warm_mb = timed(stats)
    yield "cold parse + indexes + cache", n_rows, "rows", cold, cold_mb
    yield "warm open (mapped)", n_rows, "rows", open_seconds, open_mb
    yield "stats (cached)", n_rows, "rows", warm, warm_mb
    if jobs and "starts" in protocols:
        compared = out / "compare"
        seconds, mb = timed([*LIVEREPLAY, "compare", "--quiet", "--data", str(data),
                             "--cache-dir", str(cache), "--learners", ",".join(learners),
                             "--protocol", "starts", "--availability", "log", "--jobs", str(jobs),
                             "--bootstrap", "0",
                             "--out", str(compared)])
        yield f"compare {','.join(learners)} --jobs {jobs}", None, "", seconds, mb
        for r in json.loads((compared / "results.json").read_text())["results"]:
            yield f"run {r['learner']} starts (compare)", r["metrics"]["all"]["n"], "events", \
                r["seconds"], r["peak_rss_mb"]
        protocols = [protocol for protocol in protocols if protocol != "starts"]
    for protocol in protocols:
        for learner in learners:
            result = out / f"{learner}-{protocol}.json"
            share = next_sample.get(learner, 1.0) if protocol == "next" else 1.0
            sample = ["--users-sample", str(share)] if share < 1 else []
            _, mb = timed([*LIVEREPLAY, "run", "--quiet", "--data", str(data), "--cache-dir",
                           str(cache), "--learner", learner, "--protocol", protocol, *sample,
                           "--bootstrap", "0", "--json", str(result)])
            r = json.loads(result.read_text())
            label = f" (users x{share:g})" if sample else ""
            yield f"run {learner} {protocol}{label}", r["metrics"]["all"]["n"], "events", \
                r["seconds"], mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True,
                        help="where the simulated logs, caches and results go (tens of GB at "
                             "full scale; logs there are reused)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the full release's users and streamers (default 1)")
    parser.add_argument("--learners", default="pop,repeat,mf")
    parser.add_argument("--protocols", default="starts,next", help="replayed protocols")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes of the compare (default 1: one run at a time, "
                             "within one machine's memory at full scale; 0: no compare, the "
                             "starts replays as single runs)")
    parser.add_argument("--next-sample", action="append", default=[], metavar="LEARNER=F",
                        help="evaluate a seeded share F of the users in LEARNER's next replay "
                             "(it still learns from every row), e.g. mf=0.2: at full scale "
                             "mf's next replay ranks 364M events among ~9,150 streamers each, "
                             "hours of dense scoring (repeatable)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the figures at 3M rows (the twitch-100k preset)")
    args = parser.parse_args()
    learners = args.learners.split(",")
    try:
        next_sample = {name: float(share) for name, share in
                       (item.split("=") for item in args.next_sample)}
    except ValueError:
        parser.error("--next-sample takes LEARNER=F, e.g. mf=0.2")
    runs = [("twitch-full", args.scale)] + ([] if args.no_baseline else [("twitch-100k", 1.0)])
    print(f"{'log':<26}{'what':<34}{'count':>14}{'seconds':>10}{'per second':>13}{'peak MB':>9}")
    for preset, scale in runs:
        for what, count, unit, seconds, mb in figures(args.folder, preset, scale, learners,
                                                      args.protocols.split(","), args.jobs,
                                                      next_sample):
            rate = f"{count / seconds:,.0f}" if count else ""
            counted = f"{count:,} {unit}" if count else ""
            print(f"{preset + f' x{scale:g}':<26}{what:<34}{counted:>14}{seconds:>10.1f}"
                  f"{rate:>13}{mb:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
