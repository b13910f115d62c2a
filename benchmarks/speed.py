"""Speed and memory of livereplay, each figure beside its naive counterpart, as ratios
measured in one run (machines are noisy: compare the ratios, not the seconds).

- loading and stats, cold and cached, against a plain pandas+numpy script;
- the availability index for every step against the seed notebook's per-step filter
  (timed over a few steps and extrapolated);
- ranking against a per-user Python scoring loop (timed over a few steps, per event);
- replay throughput and peak memory per learner, on the embedded sample and on a
  3-million-row log (simulated with the ``twitch-100k`` preset unless ``--data`` is given);
- with ``--targets``, instead: the learned models' replays and the sweeps of every learner
  on that log and on the sample, beside their targets.

    python benchmarks/speed.py
    python benchmarks/speed.py --data 100k_a.csv --learners pop,repeat,mf
    python benchmarks/speed.py --targets
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
LIVEREPLAY = [sys.executable, "-m", "livereplay.app.cli"]


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


def seed_filter_seconds_per_step(path: Path, steps: int = 10) -> float:
    """The seed notebook's availability filter (without its dense users x streamers mask)."""
    data = pd.read_csv(path, names=["user", "stream", "streamer", "start", "stop"])
    began = time.perf_counter()
    for s in np.linspace(0, int(data.stop.max()) - 1, steps).astype(int):
        data[(data.start <= s) & (data.stop > s)].streamer.unique().tolist()
    return (time.perf_counter() - began) / steps


def python_loop_seconds_per_event(log, learner_name: str, first: int, steps: int) -> float:
    """Rank each session start with a per-user score() call and a Python comparison loop."""
    from livereplay.engine import Timeline
    from livereplay.learners.registry import make_learner

    learner = make_learner(learner_name)
    timeline = Timeline(log, learner)
    for _ in range(first):
        timeline.advance()
        timeline.reveal()
    events, began = 0, time.perf_counter()
    for _ in range(steps):
        t = timeline.advance()
        candidates = log.live.at(t)
        for row in timeline.starting:
            scores = learner.score(np.array([log.user[row]]), candidates, t)[0]
            target = scores[int(np.searchsorted(candidates, log.streamer[row]))]
            sum(1 for s in scores if s >= target)
            events += 1
        timeline.reveal()
    return (time.perf_counter() - began) / max(events, 1)


def replay_figures(data: Path, cache: Path, work: Path, learner: str, protocol: str,
                   availability: str) -> dict:
    """The JSON result of one `livereplay run`, started from a small process so that its
    peak memory is its own (a forked child inherits its parent's peak)."""
    out = work / f"{data.stem}-{learner}-{protocol}-{availability}.json"
    timed([*LIVEREPLAY, "run", "--quiet", "--data", str(data), "--cache-dir", str(cache),
           "--learner", learner, "--protocol", protocol, "--availability", availability,
           "--json", str(out)])
    return json.loads(out.read_text())


# target seconds on 2 cores: one `starts` replay of a 3M-row log evaluated on days 32-42
# (every step replayed), per learner; then the sweeps
LEARNED_TARGETS = {"mf": 30, "fpmc": 30, "liverec": 90, "lstm": 90, "blend": 90}
SWEEP_TARGETS = {"compare, every learner, 3M-row log, days 32-42, --jobs 2": 360,
                 "compare, every learner, embedded sample, --jobs 2": 25,
                 "compare, as the README's first command (defaults)": 60}


def learned_targets(data: Path, cache: Path, work: Path) -> None:
    """Print the learned models' replays and the sweeps beside their targets."""
    print(f"{'what':<58}{'seconds':>8}{'target s':>9}  met   hr@1")
    for learner, target in LEARNED_TARGETS.items():
        out = work / f"targets-{learner}.json"
        timed([*LIVEREPLAY, "run", "--quiet", "--data", str(data), "--cache-dir", str(cache),
               "--learner", learner, "--protocol", "starts", "--availability", "log", "--days", "32-42",
               "--bootstrap", "0", "--json", str(out)])
        result = json.loads(out.read_text())
        print(_target_line(f"{learner}: one starts replay, 3M-row log, days 32-42",
                           result["seconds"], target,
                           f"{result['metrics']['all']['hr@1']:.4f}"), flush=True)
    sweeps = [["--data", str(data), "--cache-dir", str(cache), "--days", "32-42", "--jobs", "2"],
              ["--jobs", "2"], []]
    for i, ((name, target), options) in enumerate(zip(SWEEP_TARGETS.items(), sweeps)):
        wall, _ = timed([*LIVEREPLAY, "compare", "--quiet", *options,
                         "--out", str(work / f"compare-{i}")])
        print(_target_line(name, wall, target, ""), flush=True)


def _target_line(name: str, seconds: float, target: float, note: str) -> str:
    return (f"{name:<58}{seconds:>8.1f}{target:>9.0f}  "
            f"{'yes' if seconds <= target else 'no':<5} {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a log file (default: a simulated 3M-row log)")
    parser.add_argument("--learners", default="pop,repeat,mf",
                        help="learners whose replay throughput is measured")
    parser.add_argument("--targets", action="store_true",
                        help="only the learned models' replays and the sweeps, beside their "
                             "targets")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="livereplay-speed-"))
    cache = work / "cache"
    data = args.data
    if data is None:
        from livereplay.sim import preset, simulate

        data = work / "twitch-100k-sim.csv"
        simulate(preset("twitch-100k"), seed=0).write_csv(data)

    if args.targets:
        learned_targets(data, cache, work)
        return

    from livereplay.availability import LiveIndex
    from livereplay.cache import load_log
    from livereplay.data import default_data_path

    plain, plain_mb = timed([sys.executable, str(HERE / "plain_stats.py"), str(data)])
    stats = [*LIVEREPLAY, "stats", "--quiet", "--data", str(data), "--cache-dir", str(cache)]
    cold, cold_mb = timed(stats)
    warm, warm_mb = timed(stats)
    log = load_log(data, cache_dir=cache)
    began = time.perf_counter()
    LiveIndex.build(user=log.user, streamer=log.streamer, start=log.start, stop=log.stop)
    build = time.perf_counter() - began
    help_seconds, _ = timed([*LIVEREPLAY, "--help"])
    seed_filter = seed_filter_seconds_per_step(data) * log.n_steps
    window = (log.n_steps // 2, 5)
    naive_event = python_loop_seconds_per_event(log, "repeat", *window)
    engine = replay_figures(data, cache, work, "repeat", "starts", "log")

    print(f"data: {data.name}  rows {log.n_rows:,}  users {log.n_users:,}  "
          f"streamers {log.n_streamers:,}  steps {log.n_steps:,}\n")
    print(f"{'what':<52}{'seconds':>9}{'peak MB':>9}   {'naive counterpart':<44}{'ratio':>8}")
    print(f"{'livereplay --help (start-up)':<52}{help_seconds:>9.3g}")
    lines = [
        ("stats, cold (parse, index, write the cache)", cold, cold_mb,
         "plain pandas+numpy stats script", plain),
        ("stats, cached", warm, warm_mb, "plain pandas+numpy stats script", plain),
        ("availability index, every step", build, float("nan"),
         f"seed per-step filter x {log.n_steps} steps", seed_filter),
        ("repeat: rank one session start (engine)", 1 / engine["events_per_second"],
         float("nan"), "per-user score() and Python loop", naive_event),
    ]
    for name, seconds, mb, naive_name, naive in lines:
        print(f"{name:<52}{seconds:>9.3g}{mb:>9.0f}   {naive_name:<44}{naive / seconds:>7.1f}x")

    print(f"\n{'replay':<46}{'events':>11}{'seconds':>9}{'events/s':>11}{'peak MB':>9}")
    for path in (default_data_path(), data):
        for learner in args.learners.split(","):
            for protocol, availability in (("starts", "log"), ("starts", "others"),
                                           ("next", "log")):
                r = replay_figures(path, cache, work, learner, protocol, availability)
                label = f"{path.stem[:14]} {learner} {protocol} {availability}"
                print(f"{label:<46}{r['metrics']['all']['n']:>11,}{r['seconds']:>9.1f}"
                      f"{r['events_per_second']:>11,.0f}{r['peak_rss_mb']:>9.0f}")


if __name__ == "__main__":
    main()
