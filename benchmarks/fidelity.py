"""Fidelity of predictability: do learners rank on a simulated log as they rank on real rows?

Replays the built-in learners (``starts``, ``log`` candidates, the test days 32-42) on the
embedded Twitch sample and on a log of the ``twitch-sample`` preset (the sample's users,
streamers and steps; simulated once per ``--seed``), and prints both tables side by side
with what the simulator must reproduce:

- Kendall's tau between the two orderings of the learners by hr@1, by hr@10 and by hr@10 on
  the events whose streamer is new to the user (target: >= 0.7 each);
- ``repeat`` and ``pop`` hr@1 (target: within 20% of the real values);
- the best learned model's hr@10 over ``repeat``'s (target: within 10% of the real ratio);
- the simulated log's size beside the sample's.

    python benchmarks/fidelity.py                       # every built-in learner, seed 0
    python benchmarks/fidelity.py --learners random,pop,repeat,mf --seeds 0,1

Runs are kept in ``--out`` (one folder per log), so a second call with more learners reuses
the finished ones.

``--fit`` fits the ``twitch-sample`` preset to the sample instead, on the *validation* days
20-31 (each figure averaged over ``--seeds`` logs; bisection, twice over,
:func:`livereplay.sim.calibration.fit_parameters`): the number of streamers to the streamers
the sample's users watch, the weight of taste to ``mf``'s hr@10 on streamers new to the user,
and the spread of popularity to ``pop``'s hr@1. The preset holds the values this prints:

    python benchmarks/fidelity.py --fit --seeds 0,1,2,3

``--fit-structure`` fits, before those, the structure of viewing to the sample's whole log
(:func:`livereplay.sim.calibration.fit_structure`): the share of habitual sessions, how much
longer familiar streamers are watched, how much hops follow co-watching, then the median
viewing length so that the mean interval stays the sample's. Every preset holds the first
three:

    python benchmarks/fidelity.py --fit-structure --seeds 0,1
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from livereplay.data import default_data_path, read_csv
from livereplay.app.executors import execute
from livereplay.learners.registry import BUILTIN
from livereplay.data import Log
from livereplay.app.runner import RunSpec, run
from livereplay.sim.calibration import (Fit, fit_parameters, fit_structure, format_table,
                                        kendall_tau, structure_fits)
from livereplay.sim.presets import parse_overrides, preset
from livereplay.sim.world import simulate, simulate_to_csv

BASELINES = ("random", "pop", "recent-pop", "repeat", "repeat-recent")
ORDERINGS = (("hr@1", "all"), ("hr@10", "all"), ("hr@10", "new"))
DAYS = "32-42"
VALIDATION_DAYS = "20-31"


def learner_metrics(data: Path | None, learners: list[str], jobs: int,
                    out: Path) -> dict[str, dict[tuple[str, str], float]]:
    """learner -> {(metric, split): value} of one ``starts``/``log`` replay of days 32-42."""
    specs = [RunSpec(learner=name, data=data, availability="log", days=DAYS, bootstrap=0) for name in learners]
    results = execute(specs, jobs=jobs, store=out / "runs")
    return {r.learner: {(metric, split): r.metrics()[split][metric] for metric, split in ORDERINGS}
            for r in results}


def best_learned(metrics: dict[str, dict[tuple[str, str], float]]) -> str:
    """The learner (not a baseline) with the highest hr@10."""
    learned = [name for name in metrics if name not in BASELINES]
    return max(learned, key=lambda name: metrics[name]["hr@10", "all"])


def validation_figure(learner: str, split: str, metric: str) -> Callable[[Log], float]:
    """The figure ``metric`` of ``learner`` on the ``split`` events of a ``starts``/``log``
    replay of the validation days 20-31 of a log."""
    def figure(log: Log) -> float:
        result = run(RunSpec(learner=learner, availability="log", days=VALIDATION_DAYS, bootstrap=0), log=log,
                     progress=False)
        return result.metrics()[split][metric]
    return figure


# What --fit fits, in this order: the streamers there are (to the streamers the sample's users
# watch), the weight of taste in an exploring user's choice (to how well mf predicts the
# streamers new to a user: the co-watching structure) and the spread of popularity (to how
# often the most popular live streamer is the one started).
SAMPLE_FITS = (
    Fit("n_streamers", 3_000, 100_000, lambda log: float(log.n_streamers), log=True,
        integer=True),
    Fit("taste", 2.0, 32.0, validation_figure("mf", "new", "hr@10"), log=True),
    Fit("popularity_sigma", 1.0, 3.0, validation_figure("pop", "all", "hr@1")),
)


def fit_sample_preset(preset_name: str, seeds: list[int]) -> None:
    """Print the preset's parameters of :data:`SAMPLE_FITS` fitted on the embedded sample,
    each figure averaged over the logs of ``seeds``, and the figures with them."""
    real = read_csv(default_data_path())
    fitted = fit_parameters(preset(preset_name), SAMPLE_FITS, real, seeds, rounds=2,
                            report=lambda line: print(line, flush=True))
    print("\nfitted: " + ", ".join(f"{fit.parameter}={getattr(fitted, fit.parameter):g}"
                                      for fit in SAMPLE_FITS))
    targets = [fit.figure(real) for fit in SAMPLE_FITS]
    for seed in seeds:
        log = simulate(fitted, seed).to_log()
        print(f"seed {seed}: " + ", ".join(f"{fit.parameter} figure {fit.figure(log):.4f} "
                                           f"(real {target:.4f})"
                                           for fit, target in zip(SAMPLE_FITS, targets)))


def fit_structure_of(preset_name: str, seeds: list[int]) -> None:
    """Print the preset's structure parameters fitted on the embedded sample's whole log,
    and the figures of the sample and of the fitted preset's logs."""
    real = read_csv(default_data_path())
    fitted = fit_structure(preset(preset_name), real, seeds,
                           report=lambda line: print(line, flush=True))
    fits = structure_fits()
    names = [fit.parameter for fit in fits] + ["watch_median_steps"]
    print("\nfitted: " + ", ".join(f"{name}={getattr(fitted, name):.4g}" for name in names))
    logs = [simulate(fitted, seed).to_log() for seed in seeds]
    rows = [(fit.figure.__name__, f"{fit.figure(real):.4f}",
             *(f"{fit.figure(log):.4f}" for log in logs)) for fit in fits]
    print(format_table(("figure", "real", *(f"seed {seed}" for seed in seeds)), rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default=",".join(BUILTIN),
                        help="comma-separated (default: every built-in learner)")
    parser.add_argument("--seeds", default="0", help="simulation seeds, comma-separated")
    parser.add_argument("--preset", default="twitch-sample")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a parameter of the preset (repeatable)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="fidelity-runs", type=Path)
    parser.add_argument("--fit", action="store_true",
                        help="fit the preset's streamers, taste and popularity spread to the "
                             "sample instead (see above)")
    parser.add_argument("--fit-structure", action="store_true",
                        help="fit the preset's habits, watch lengths and hops to the sample "
                             "instead (see above)")
    args = parser.parse_args()
    if args.fit_structure:
        fit_structure_of(args.preset, [int(seed) for seed in args.seeds.split(",")])
        return
    if args.fit:
        fit_sample_preset(args.preset, [int(seed) for seed in args.seeds.split(",")])
        return
    learners = args.learners.split(",")
    if "repeat" not in learners or "pop" not in learners:
        parser.error("--learners must include repeat and pop")

    real_log = read_csv(default_data_path())
    real = learner_metrics(None, learners, args.jobs, args.out / "real")
    params = preset(args.preset, **parse_overrides(args.set))
    for seed in map(int, args.seeds.split(",")):
        name = "-".join([args.preset, *sorted(args.set), f"seed{seed}"])
        path = args.out / f"{name}.csv"
        if not path.exists():
            args.out.mkdir(parents=True, exist_ok=True)
            simulate_to_csv(params, path, seed)
        sim_log = read_csv(path)
        sim = learner_metrics(path, learners, args.jobs, args.out / name)
        print(f"\n{' '.join([args.preset, *args.set])}, seed {seed}: {sim_log.n_rows:,} rows, "
              f"{sim_log.n_users:,} users, {sim_log.n_streamers:,} streamers (the sample: "
              f"{real_log.n_rows:,}, "
              f"{real_log.n_users:,}, {real_log.n_streamers:,}); starts/log, days {DAYS}\n")
        print(format_table(
            ("learner", *(f"real {m} {s}" for m, s in ORDERINGS),
             *(f"sim {m} {s}" for m, s in ORDERINGS)),
            [(name, *(f"{real[name][o]:.3f}" for o in ORDERINGS),
              *(f"{sim[name][o]:.3f}" for o in ORDERINGS)) for name in learners]))
        print()
        rows = []
        for metric, split in ORDERINGS:
            tau = kendall_tau(np.array([real[n][metric, split] for n in learners]),
                              np.array([sim[n][metric, split] for n in learners]))
            rows.append((f"Kendall tau, learners by {metric} ({split})", "", "", f"{tau:.2f}",
                         ">= 0.7", "ok" if tau >= 0.7 else "OFF"))
        for name in ("repeat", "pop"):
            a, b = real[name]["hr@1", "all"], sim[name]["hr@1", "all"]
            error = abs(b - a) / a
            rows.append((f"{name} hr@1", f"{a:.3f}", f"{b:.3f}", f"{error:.2f}", "<= 0.20",
                         "ok" if error <= 0.2 else "OFF"))
        if len(learners) > len(set(learners) & set(BASELINES)):
            ratio = {side: m[best_learned(m)]["hr@10", "all"] / m["repeat"]["hr@10", "all"]
                     for side, m in (("real", real), ("sim", sim))}
            error = abs(ratio["sim"] - ratio["real"]) / ratio["real"]
            rows.append((f"best learned / repeat hr@10 ({best_learned(real)} / "
                         f"{best_learned(sim)})", f"{ratio['real']:.3f}", f"{ratio['sim']:.3f}",
                         f"{error:.2f}", "<= 0.10", "ok" if error <= 0.1 else "OFF"))
        print(format_table(("figure", "real", "sim", "tau / rel. error", "target", ""), rows))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
