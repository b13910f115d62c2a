"""Speed and memory of one ``starts`` replay per learner, each in a fresh process (so that
TensorFlow's import and every learner's start-up count, and peak memory is the learner's own).

For each learner: the wall seconds of the whole command (start-up, loading through the cache
and the replay), the replay's own seconds, events per second (evaluated events over the
replay's seconds) and peak memory. The log is read once beforehand to fill the cache.

    python benchmarks/learner_speed.py                  # a simulated twitch-100k log (3M rows)
    python benchmarks/learner_speed.py --data 100k_a.csv --learners mf,liverec
    python benchmarks/learner_speed.py --data sample --window 0:3000
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from speed import LIVEREPLAY, timed


def replay_speed(data: Path, cache: Path, out: Path, learner: str,
                 window: str | None) -> tuple[float, dict]:
    """(wall seconds of the command, its JSON result) of one `livereplay run` of ``learner``."""
    command = [*LIVEREPLAY, "run", "--quiet", "--data", str(data), "--cache-dir", str(cache),
               "--learner", learner, "--protocol", "starts", "--availability", "log", "--json", str(out)]
    wall, _ = timed(command + (["--window", window] if window else []))
    return wall, json.loads(out.read_text())


def main() -> None:
    from livereplay.learners.registry import BUILTIN

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a log file, or 'sample' for the embedded sample "
                                       "(default: a simulated twitch-100k log, seed 0)")
    parser.add_argument("--learners", default=",".join(BUILTIN),
                        help="comma-separated learners (default: every built-in one)")
    parser.add_argument("--window", metavar="A:B", help="evaluated steps (default: all)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="livereplay-learner-speed-"))
    cache = work / "cache"
    if args.data == "sample":
        from livereplay.data import default_data_path

        data = default_data_path()
    elif args.data:
        data = Path(args.data)
    else:
        from livereplay.sim import preset, simulate

        data = work / "twitch-100k-sim.csv"
        simulate(preset("twitch-100k"), seed=0).write_csv(data)
    timed([*LIVEREPLAY, "stats", "--quiet", "--data", str(data), "--cache-dir", str(cache)])

    print(f"data: {data.name}, starts protocol, availability log"
          + (f", window {args.window}" if args.window else ""))
    print(f"{'learner':<16}{'events':>11}{'wall s':>9}{'replay s':>10}{'events/s':>11}"
          f"{'peak MB':>9}")
    for learner in args.learners.split(","):
        wall, result = replay_speed(data, cache, work / f"{learner}.json", learner, args.window)
        print(f"{learner:<16}{result['metrics']['all']['n']:>11,}{wall:>9.1f}"
              f"{result['seconds']:>10.1f}{result['events_per_second']:>11,.0f}"
              f"{result['peak_rss_mb']:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
