"""How far the candidate sets read from viewers are from what is on air, in simulated worlds
whose true schedule is known.

For each world (a simulator preset) and seed, the simulated log and its true schedule are
written to --work, and over the evaluated days of the ``starts`` protocol:

- for the sets ``log``, ``others`` and ``span``: coverage (the share of targets among the
  candidates), misses (the share of the streamers on air that the set leaves out) and adds
  (streamers in the set that are not on air, per streamer on air), each pooled over the events;
- each learner's hr@1, hr@10 and new-streamer hr@10 under every set and under the schedule,
  and Kendall's tau-b between the learners' ordering under a set and under the schedule:
  1 where inferring availability from viewers leaves the comparison of learners as it is.

The tables go into docs/candidate-sets.md (block ``measured: candidate-sets``) with the
command, machine, version and date.

    python benchmarks/candidate_sets.py                 # the docs' tables (a few hours)
    python benchmarks/candidate_sets.py --presets twitch-sample --seeds 0 --no-write
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from livereplay import RunSpec
from livereplay.app.executors import execute
from livereplay.app.runner import load_data
from livereplay.app.tables import markdown_table, provenance, update_blocks
from livereplay.arrays import positions
from livereplay.data import STEPS_PER_DAY, Log
from livereplay.engine import Timeline
from livereplay.learners.registry import make_learner
from livereplay.protocols import Moment, candidates_at
from livereplay.sim.presets import preset
from livereplay.sim.world import simulate_to_csv

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "candidate-sets.md"
INFERRED = ("log", "others", "span")
METRICS = (("all", "hr@1"), ("all", "hr@10"), ("new", "hr@10"))


def set_errors(log: Log, availability: str, window: tuple[int, int]) -> dict[str, float]:
    """Misses and adds of a candidate set against the schedule, pooled over the ``starts``
    events of ``window``: per event, the set of its user against the streamers on air."""
    timeline = Timeline(log, make_learner("random"))  # walks the rows; nothing is revealed
    on_air = missed = added = 0
    for t in range(window[1]):
        timeline.advance()
        rows = timeline.starting
        if t < max(window[0], 1) or len(rows) == 0:
            continue
        users, event_user = np.unique(log.user[rows], return_inverse=True)
        moment = Moment(t=t, log=log, index=log.live, history=None, learner=None,
                        watching=timeline.watching, starting=rows, watching_next=rows[:0],
                        score_budget=0)
        candidates = candidates_at(availability, moment, users)
        truth = log.schedule.at(t)
        true_candidate = positions(truth, candidates.streamers) >= 0
        # per user with an event: its excluded columns, and how many of them are on air
        excluded_user = positions(users, candidates.excluded_user)
        asked = excluded_user >= 0
        n_excluded = np.bincount(excluded_user[asked], minlength=len(users))
        n_excluded_true = np.bincount(excluded_user[asked], weights=true_candidate[
            candidates.excluded_column[asked]], minlength=len(users))
        size = len(candidates.streamers) - n_excluded[event_user]
        hits = true_candidate.sum() - n_excluded_true[event_user]
        on_air += len(truth) * len(rows)
        missed += (len(truth) - hits).sum()
        added += (size - hits).sum()
    return {"misses": missed / on_air, "adds": added / on_air}


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b of two orderings (ties counted as neither concordant nor discordant)."""
    i, j = np.triu_indices(len(x), 1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    pairs = len(i)
    denominator = np.sqrt((pairs - (dx == 0).sum()) * (pairs - (dy == 0).sum()))
    return float((dx * dy).sum() / denominator) if denominator else float("nan")


def world(name: str, seed: int, work: Path) -> Path:
    """The simulated log of a preset and seed, with its schedule (written once)."""
    path = work / f"{name}-{seed}.csv"
    if not path.exists():
        simulate_to_csv(preset(name), path, seed, progress=sys.stderr.isatty())
    return path


def measure(name: str, seed: int, learners: list[str], days: tuple[int, int], work: Path,
            jobs: int) -> dict:
    """One world and seed: set errors, and every learner's metrics under every set."""
    path = world(name, seed, work)
    sets = (*INFERRED, "schedule")
    specs = [RunSpec(learner=learner, data=path, availability=availability, days=days,
                     seed=seed, bootstrap=0) for availability in sets for learner in learners]
    results = execute(specs, jobs=jobs, progress=None)
    metrics = {availability: {} for availability in sets}
    coverage = {}
    for spec, result in zip(specs, results):
        values = result.metrics()
        metrics[spec.availability][spec.learner] = [values[split][m] for split, m in METRICS]
        coverage[spec.availability] = values["all"]["coverage"]
    log = load_data(specs[0])
    window = (days[0] * STEPS_PER_DAY, min((days[1] + 1) * STEPS_PER_DAY, log.n_steps))
    errors = {availability: set_errors(log, availability, window) for availability in INFERRED}
    return {"metrics": metrics, "coverage": coverage, "errors": errors}


def tables(runs: dict[str, list[dict]], learners: list[str]) -> tuple[str, str]:
    """The candidate sets' table and the learners' hr@10 by set, means over seeds."""
    rows, by_learner = [], []
    for name, seeds in runs.items():
        for availability in (*INFERRED, "schedule"):
            coverage = np.mean([run["coverage"][availability] for run in seeds])
            if availability == "schedule":
                rows.append([name, "`schedule`", f"{coverage:.3f}", "0", "0", "1", "1", "1"])
                continue
            errors = [run["errors"][availability] for run in seeds]
            taus = [[kendall_tau(np.array([run["metrics"][availability][l][k] for l in learners]),
                                 np.array([run["metrics"]["schedule"][l][k] for l in learners]))
                     for run in seeds] for k in range(len(METRICS))]
            rows.append([name, f"`{availability}`", f"{coverage:.3f}",
                         f"{np.mean([e['misses'] for e in errors]):.3f}",
                         f"{np.mean([e['adds'] for e in errors]):.3f}",
                         *(f"{np.nanmean(tau):+.2f}" for tau in taus)])
        for learner in learners:
            by_learner.append([name, f"`{learner}`", *(
                f"{np.mean([run['metrics'][a][learner][1] for run in seeds]):.4f}"
                for a in (*INFERRED, "schedule"))])
    header = ["world", "candidates", "coverage", "misses", "adds", "τ hr@1", "τ hr@10",
              "τ new hr@10"]
    return (markdown_table(header, rows),
            markdown_table(["world", "learner", *(f"hr@10 `{a}`" for a in (*INFERRED, "schedule"))],
                           by_learner))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="twitch-sample,twitch-100k")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--learners", default="random,pop,recent-pop,repeat,repeat-recent")
    parser.add_argument("--days", default="32-42", help="evaluated days D1-D2")
    parser.add_argument("--work", default="candidate-sets-work", type=Path,
                        help="folder of the simulated logs (reused when run again)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the page")
    args = parser.parse_args()
    learners = args.learners.split(",")
    days = tuple(int(d) for d in args.days.split("-"))
    args.work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    runs = {name: [measure(name, int(seed), learners, days, args.work, args.jobs)
                   for seed in args.seeds.split(",")] for name in args.presets.split(",")}
    sets_table, learners_table = tables(runs, learners)
    command = " ".join(["python benchmarks/candidate_sets.py", *sys.argv[1:]])
    text = (f"{provenance(command, time.perf_counter() - began)}: `starts` events of days {days[0]}-{days[1]}, means over seeds {args.seeds} of each "
            f"world; τ compares the ordering of {', '.join(f'`{l}`' for l in learners)} under "
            f"a set with their ordering under the true schedule.\n\n{sets_table}\n\n"
            f"hr@10 of each learner under each candidate set (means over the seeds):\n\n"
            f"{learners_table}\n")
    print(text)
    if not args.no_write:
        update_blocks([PAGE], {"candidate-sets": text}, "measured", write=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
