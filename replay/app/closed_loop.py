"""Closed-loop sweeps: policies x seeds in the simulator, their tables, JSON and drift plot.

A policy is a learner name (built by the registry), optionally with an exploration policy
that draws its slates at random (``mf/softmax:0.5``), ``oracle`` (the slates the simulator's
choice model rates best, :mod:`livereplay.sim.oracle`) or ``none`` (no slates). Each seed gives
every policy the same world (streamers, schedules, arrivals: common random numbers), and each
metric is reported as its mean over seeds with a 95% t-interval; one run is
:func:`livereplay.sim.closed_loop.run_closed_loop`.

>>> from livereplay.sim.presets import preset
>>> summaries = run_policies(preset("tiny"), ["none", "pop"], [0])
>>> [s.policy for s in summaries], summary_rows(summaries)[0][:2]
(['none', 'pop'], ('policy', 'acceptance'))
"""
from __future__ import annotations

import json
import math
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from livereplay.contract import Learner
from livereplay.errors import ReplayError
from livereplay.intervals import LEVEL
from livereplay.learners.registry import make_learner
from livereplay.sim.closed_loop import ClosedLoopReport, PolicySummary, run_closed_loop
from livereplay.sim.explore import Exploration, parse_exploration
from livereplay.sim.oracle import Oracle
from livereplay.sim.feedback import METRICS
from livereplay.sim.presets import SimParams

from .executors import process_pool
from .plots import pyplot, save

#: Column headers of the metrics in tables and plots.
LABELS = {"acceptance": "acceptance", "watch_per_user": "watch/user-day",
          "new_share": "new share", "impression_gini": "impression Gini",
          "watch_gini": "watch Gini", "diversity": "streamers/user-day"}


def run_policies(params: SimParams, policies: list[str], seeds: list[int], *, jobs: int = 1,
                 progress: bool = False) -> list[PolicySummary]:
    """Run every policy (a learner name, or ``none``) with every seed, in closed loop: a seed
    gives every policy the same world, and seeds the learner and the slates' tie-breaking.
    With ``jobs`` > 1 the runs go to that many processes; the results are the same."""
    runs = [(policy, seed) for seed in seeds for policy in policies]
    reports: dict[tuple[str, int], ClosedLoopReport] = {}
    with tqdm(total=len(runs), disable=not progress, unit="run", desc="closed loop") as bar:
        if jobs == 1 or len(runs) == 1:
            for policy, seed in runs:
                reports[policy, seed] = _policy_run(params, policy, seed, progress)
                bar.update(1)
        else:
            with process_pool(min(jobs, len(runs))) as pool:
                futures = {pool.submit(_policy_run, params, policy, seed):
                           (policy, seed) for policy, seed in runs}
                for future in as_completed(futures):
                    reports[futures[future]] = future.result()
                    bar.update(1)
    return [PolicySummary(policy, [reports[policy, seed] for seed in seeds])
            for policy in policies]


def make_policy(policy: str, seed: int) -> tuple[Learner | None, Exploration | None]:
    """The learner (None for ``none``) and exploration (None: greedy) of a closed-loop
    policy ``NAME[/EXPLORE]``; NAME is a learner (or ``module:Class``), ``oracle`` or
    ``none``, EXPLORE ``epsilon:E`` or ``softmax:TAU`` (:mod:`livereplay.sim.explore`).

    >>> make_policy("pop/softmax:0.5", seed=0)
    (Popularity(seed=0), Exploration(kind='softmax', value=0.5, draws=32))
    """
    name, _, explore = policy.partition("/")
    exploration = parse_exploration(explore) if explore else None
    if name == "none":
        if explore:
            raise ReplayError(f"--policy {policy}: none shows no slate to explore")
        return None, None
    return (Oracle() if name == "oracle" else make_learner(name, seed=seed)), exploration


def _policy_run(params: SimParams, policy: str, seed: int,
                progress: bool = False) -> ClosedLoopReport:
    """One closed-loop run of ``policy`` (:func:`make_policy`) with ``seed``."""
    learner, exploration = make_policy(policy, seed)
    return run_closed_loop(params, learner, seed, name=policy, progress=progress,
                           exploration=exploration)[0]


def _estimate(mean: float, half: float, digits: int = 3) -> str:
    """``mean ± half`` (``mean`` alone without an interval, ``-`` when undefined)."""
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" if math.isnan(half) else f"{mean:.{digits}f} ± {half:.{digits}f}"


def summary_rows(summaries: list[PolicySummary]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and rows of the table of policies: each metric over the whole run (mean over
    seeds ± 95% interval half-width), and the seconds per run."""
    header = ("policy", *(LABELS[m] for m in METRICS), "s/run")
    return header, [(s.policy, *(_estimate(*s.overall(m)) for m in METRICS), f"{s.seconds:.1f}")
                    for s in summaries]


def drift_rows(summaries: list[PolicySummary]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and rows of the table of drifts: each metric's change per day (least-squares
    slope of its daily series), mean over seeds ± 95% interval half-width."""
    header = ("drift per day", *(LABELS[m] for m in METRICS))
    return header, [(s.policy, *(_estimate(*s.drift(m), digits=4) for m in METRICS))
                    for s in summaries]


def difference_rows(summaries: list[PolicySummary]) -> tuple[tuple[str, ...],
                                                             list[tuple[str, ...]]]:
    """Header and rows of the table of each policy minus the first, seed by seed: the mean
    difference ± its 95% interval, which excludes 0 where the two policies differ beyond
    what the seeds vary (a paired comparison: every seed gives both the same world, so the
    world's variation cancels)."""
    reference = summaries[0]
    header = (f"minus {reference.policy}", *(LABELS[m] for m in METRICS))
    return header, [(s.policy, *(_estimate(*s.difference(m, reference)) for m in METRICS))
                    for s in summaries[1:]]


def summaries_dict(summaries: list[PolicySummary], params: SimParams) -> dict[str, Any]:
    """Everything measured, for a JSON file: per policy and metric, over the whole run and
    per day, the mean over seeds, the interval's bounds and each seed's value (NaN as null)."""
    def estimate(mean: Any, half: Any, per_seed: list[Any]) -> dict[str, Any]:
        mean, half = np.asarray(mean), np.asarray(half)
        return {"mean": mean.tolist(), "low": (mean - half).tolist(),
                "high": (mean + half).tolist(), "per_seed": per_seed}

    return _nulls({"params": params.as_dict(), "level": LEVEL, "policies": {
        s.policy: {
            "seeds": [r.seed for r in s.reports],
            "seconds": [r.seconds for r in s.reports],
            "sessions": [r.sessions for r in s.reports],
            "rows": [r.rows for r in s.reports],
            "overall": {m: estimate(*s.overall(m), [r.feedback.overall[m] for r in s.reports])
                        for m in METRICS},
            "drift_per_day": {m: estimate(*s.drift(m), [r.feedback.drift[m] for r in s.reports])
                              for m in METRICS},
            "per_day": {m: estimate(*s.per_day(m),
                                    [r.feedback.per_day[m].tolist() for r in s.reports])
                        for m in METRICS},
        } for s in summaries}})


def _nulls(value: Any) -> Any:
    """``value`` with every NaN float (nested in dicts and lists) replaced by None."""
    if isinstance(value, dict):
        return {key: _nulls(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nulls(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_json(summaries: list[PolicySummary], params: SimParams, path: str | Path) -> None:
    Path(path).write_text(json.dumps(summaries_dict(summaries, params), indent=2) + "\n")


def plot_drift(summaries: list[PolicySummary], path: Path) -> Path:
    """One panel per metric: its value on each day, one line per policy (mean over seeds)
    with the 95% interval as a band when there are several seeds."""
    fig, axes = pyplot().subplots(2, -(-len(METRICS) // 2), figsize=(13, 7), sharex=True)
    for ax, metric in zip(axes.ravel(), METRICS):
        for summary in summaries:
            mean, half = summary.per_day(metric)
            days = np.arange(len(mean))
            line, = ax.plot(days, mean, marker="o", markersize=2, label=summary.policy)
            ax.fill_between(days, mean - half, mean + half, color=line.get_color(), alpha=0.2)
        ax.set_title(LABELS[metric])
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("day")
    axes.ravel()[0].legend(fontsize="small")
    seeds = len(summaries[0].reports)
    fig.suptitle(f"feedback metrics per day (mean over {seeds} seed{'s' * (seeds > 1)}"
                 f"{', band: 95% t-interval' if seeds > 1 else ''})", fontsize="small")
    return save(fig, path)
