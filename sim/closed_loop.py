"""Closed loop: a learner recommends to the simulated users and learns from what they then do.

Each arriving user is shown the learner's top-k among the channels live at that moment
(ties at the k-th score broken at random, as :func:`livereplay.ranking.top_k` does, by a
generator seeded with the run's seed, so slates are reproducible) and takes one of them or
ignores the slate, by the logit choice model documented in
:meth:`livereplay.sim.world.Platform.accept_from_slate` (the chance to accept grows with the
user's own affinity -- taste and familiarity -- for what is shown, and with its place in the
slate); a user who ignores it chooses as usual. The learner is updated step by step exactly
as in replay: ``reset()`` once, then ``observe(revealer.reveal(t, ...))`` with the rows that
started at each step, and it scores with what was revealed through the previous step.
Without a learner (policy ``none``) the slates are empty: users choose as in open loop.

A run reports the feedback metrics of :mod:`livereplay.sim.feedback` (acceptance, watch time,
new-channel share, concentration, diversity, each per day too). :func:`run_policies` runs
policies x seeds: each seed gives every policy the same world (channels, schedules,
arrivals: common random numbers), and each metric is reported as its mean over seeds with a
95% t-interval (the seeds are few, so a bootstrap over them would be degenerate).

>>> from livereplay.sim.presets import preset
>>> from livereplay.contract import Learner
>>> class Newest(Learner):
...     '''Shows the channels with the largest ids: the ones that appeared last.'''
...     def score(self, users, candidates, t):
...         return candidates[None, :].astype(float)
>>> report = run_closed_loop(preset("tiny"), Newest(), seed=0, name="newest")[0]
>>> report.sessions, round(report.feedback.overall["acceptance"], 3)
(909, 0.23)
"""
from __future__ import annotations

import json
import math
import time
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tqdm.auto import tqdm

from livereplay.arrays import distinct
from livereplay.contract import Learner
from livereplay.intervals import LEVEL, t_interval
from livereplay.ranking import scores_in_chunks, top_k
from livereplay.reveal import Revealer

from .feedback import METRICS, Exposure, Feedback, feedback
from .presets import SimParams
from .world import SimulatedLog, simulate

#: Column headers of the metrics in tables and plots.
LABELS = {"acceptance": "acceptance", "watch_per_user": "watch/user-day",
          "new_share": "new share", "impression_gini": "impression Gini",
          "watch_gini": "watch Gini", "diversity": "channels/user-day"}


class LearnerSlate:
    """Shows the ``k`` live channels a learner scores highest (nothing without a learner),
    feeds it each step, and records what was shown and taken (:class:`Exposure`).

    Users are scored in blocks of at most ``score_budget`` scores, as in replay; ties at the
    k-th score are broken by a generator seeded with ``seed``.
    """

    def __init__(self, learner: Learner | None, k: int, exposure: Exposure, *, seed: int = 0,
                 score_budget: int = 1 << 22) -> None:
        self.learner = learner
        self.k = k
        self.exposure = exposure
        self.score_budget = score_budget
        self.revealer = Revealer()
        self.rng = np.random.default_rng(seed)
        if learner is not None:
            learner.reset()

    def recommend(self, users: np.ndarray, live: np.ndarray, t: int) -> np.ndarray:
        """An (len(users), k) array of channels of ``live`` to show each user at step ``t``
        (k = 0 without a learner)."""
        candidates = np.sort(live)
        if self.learner is None:
            shown = np.empty((len(users), 0), np.int64)
        else:
            distinct_users, user_row = distinct(users, inverse=True)
            shown = np.empty((len(distinct_users), min(self.k, len(candidates))), np.int64)
            for lo, hi, scores in scores_in_chunks(self.learner, distinct_users, candidates, t,
                                                   self.score_budget):
                shown[lo:hi] = candidates[top_k(scores, self.k, self.rng, hi - lo)]
            shown = shown[user_row]
        self.exposure.record_slates(t, candidates, shown)
        return shown

    def chosen(self, t: int, users: np.ndarray, channels: np.ndarray) -> None:
        self.exposure.record_choices(t, channels)

    def observe(self, t: int, users: np.ndarray, streamers: np.ndarray, stops: np.ndarray) -> None:
        if self.learner is not None:
            self.learner.observe(self.revealer.reveal(t, users, streamers, stops))


@dataclass(frozen=True)
class ClosedLoopReport:
    """How a policy did online in one run (one seed): its feedback metrics
    (:mod:`livereplay.sim.feedback`), the sessions and rows of its log, and the seconds taken."""

    policy: str
    seed: int
    sessions: int
    rows: int
    feedback: Feedback
    seconds: float


def run_closed_loop(params: SimParams, learner: Learner | None, seed: int = 0, *,
                    name: str | None = None,
                    progress: bool = False) -> tuple[ClosedLoopReport, SimulatedLog]:
    """Simulate with ``learner``'s slates shown to arriving users (None: no recommendations);
    ``seed`` seeds the world and the slates' tie-breaking, ``name`` labels the report."""
    began = time.perf_counter()
    exposure = Exposure(params.n_streamers, params.n_steps)
    slate = LearnerSlate(learner, params.slate_size, exposure, seed=seed)
    simulated = simulate(params, seed, progress=progress, slate=slate)
    report = ClosedLoopReport(
        policy=name or ("none" if learner is None else type(learner).__name__), seed=seed,
        sessions=simulated.n_sessions, rows=len(simulated.user),
        feedback=feedback(simulated, exposure), seconds=time.perf_counter() - began)
    return report, simulated


@dataclass(frozen=True)
class PolicySummary:
    """A policy's runs over several seeds, and each metric's mean with its 95% t-interval."""

    policy: str
    reports: list[ClosedLoopReport]

    def overall(self, metric: str) -> tuple[float, float]:
        """Mean over seeds and interval half-width (NaN with one seed) of a run's metric."""
        return _over_seeds([r.feedback.overall[metric] for r in self.reports])

    def per_day(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """Mean over seeds and interval half-width of the metric on each day."""
        return t_interval(np.array([r.feedback.per_day[metric] for r in self.reports]))

    def drift(self, metric: str) -> tuple[float, float]:
        """Mean over seeds and interval half-width of the metric's slope per day."""
        return _over_seeds([r.feedback.drift[metric] for r in self.reports])

    def difference(self, metric: str, reference: PolicySummary) -> tuple[float, float]:
        """Mean over seeds and interval half-width of this policy's metric minus the
        ``reference`` policy's, seed by seed (paired: each seed is the same world for both)."""
        return _over_seeds([r.feedback.overall[metric] - b.feedback.overall[metric]
                            for r, b in zip(self.reports, reference.reports)])

    @property
    def seconds(self) -> float:
        """Mean seconds per run."""
        return float(np.mean([r.seconds for r in self.reports]))


def _over_seeds(values: list[float]) -> tuple[float, float]:
    mean, half = t_interval(np.array(values))
    return float(mean), float(half)


def run_policies(params: SimParams, policies: list[str], seeds: list[int],
                 make_learner: Callable[..., Learner], *, jobs: int = 1,
                 progress: bool = False) -> list[PolicySummary]:
    """Run every policy (a learner name, or ``none``) with every seed, in closed loop: a seed
    gives every policy the same world, and seeds the learner (``make_learner(name,
    seed=seed)``) and the slates' tie-breaking. With ``jobs`` > 1 the runs go to that many
    processes (``make_learner`` must then be picklable, as the registry's is); the results
    are the same."""
    runs = [(policy, seed) for seed in seeds for policy in policies]
    reports: dict[tuple[str, int], ClosedLoopReport] = {}
    with tqdm(total=len(runs), disable=not progress, unit="run", desc="closed loop") as bar:
        if jobs == 1 or len(runs) == 1:
            for policy, seed in runs:
                reports[policy, seed] = _policy_run(params, policy, seed, make_learner, progress)
                bar.update(1)
        else:
            from livereplay.executors import process_pool

            with process_pool(min(jobs, len(runs))) as pool:
                futures = {pool.submit(_policy_run, params, policy, seed, make_learner):
                           (policy, seed) for policy, seed in runs}
                for future in as_completed(futures):
                    reports[futures[future]] = future.result()
                    bar.update(1)
    return [PolicySummary(policy, [reports[policy, seed] for seed in seeds])
            for policy in policies]


def _policy_run(params: SimParams, policy: str, seed: int, make_learner: Callable[..., Learner],
                progress: bool = False) -> ClosedLoopReport:
    """One closed-loop run of ``policy`` (``none``: no slate) with ``seed``."""
    learner = None if policy == "none" else make_learner(policy, seed=seed)
    return run_closed_loop(params, learner, seed, name=policy, progress=progress)[0]


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
    from livereplay.plots import pyplot, save

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
