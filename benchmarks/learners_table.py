"""Learner x protocol x split table on a log (the embedded sample by default).

Every learner is replayed from step 0 (earlier steps are warm-up) and evaluated on a window:
``validation`` is days 20-31 (tune there) and ``test`` days 32-42 (report there), or give
``--window A B`` in steps. For each learner, protocol and split it prints hr@1, hr@10, mrr and
n, with the run's events per second and peak memory.

    python benchmarks/learners_table.py --window-name validation
    python benchmarks/learners_table.py --window-name test --learners repeat mf blend
"""
from __future__ import annotations

import argparse
import json

from learners.registry import make_learner
from replay.availability import Availability
from replay.data import STEPS_PER_DAY, read_csv, default_data_path
from replay.engine import replay

WINDOWS = {"validation": (20 * STEPS_PER_DAY, 32 * STEPS_PER_DAY),
           "test": (32 * STEPS_PER_DAY, 43 * STEPS_PER_DAY)}
RUNS = (("starts", "log"), ("starts", "others"), ("next", "log"))
LEARNERS = ("random", "pop", "recent-pop", "repeat", "repeat-recent",
            "mf", "fpmc", "lstm", "liverec", "blend")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(default_data_path()), help="log file (CSV)")
    parser.add_argument("--window-name", choices=sorted(WINDOWS), default="validation")
    parser.add_argument("--window", type=int, nargs=2, metavar=("A", "B"),
                        help="evaluate steps [A, B) instead of a named window")
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS))
    parser.add_argument("--hyper", default="{}",
                        help='JSON hyper-parameters per learner, e.g. {"mf": {"dim": 64}}')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write every result to this JSON file")
    args = parser.parse_args()

    log = read_csv(args.data)
    index = Availability.build(log)
    end = min(log.n_steps, (args.window or WINDOWS[args.window_name])[1])
    window = (args.window or WINDOWS[args.window_name])[0], end
    hyper = json.loads(args.hyper)
    print(f"{log.source}: {log.n_rows} rows, window {list(window)}")
    print(f"{'learner':<14}{'protocol':<15}{'split':<11}{'n':>7}{'hr@1':>8}{'hr@10':>8}"
          f"{'mrr':>8}{'events/s':>10}{'peak MB':>9}")
    results = []
    for name in args.learners:
        for protocol, availability in RUNS:
            learner = make_learner(name, seed=args.seed, **hyper.get(name, {}))
            result = replay(log, learner, protocol=protocol, availability=availability,
                            window=window, index=index, learner_name=name)
            results.append(result.to_dict())
            speed = result.n_events / result.seconds
            for split, m in result.metrics().items():
                print(f"{name:<14}{protocol + '/' + availability:<15}{split:<11}{m['n']:>7}"
                      f"{m['hr@1']:>8.3f}{m['hr@10']:>8.3f}{m['mrr']:>8.3f}"
                      f"{speed:>10.0f}{result.peak_rss_mb:>9.0f}", flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
