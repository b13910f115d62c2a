"""Closed loop: a learner recommends to the simulated users and learns from what they then do.

Each arriving user is shown the learner's top-k among the streamers live at that moment
(ties at the k-th score broken at random, as :func:`livereplay.ranking.top_k` does, by a
generator seeded with the run's seed, so slates are reproducible) and takes one of them or
ignores the slate, by the logit choice model documented in
:meth:`livereplay.sim.world.Platform.accept_from_slate` (the chance to accept grows with the
user's own affinity -- taste and familiarity -- for what is shown, and with its place in the
slate); a user who ignores it chooses as usual. The learner is updated step by step exactly
as in replay: ``reset()`` once, then ``observe(revealer.reveal(t, ...))`` with the rows that
started at each step, and it scores with what was revealed through the previous step.
Without a learner (policy ``none``) the slates are empty: users choose as in open loop. The
:class:`~livereplay.sim.oracle.Oracle` is handed the platform, whose choice model it reads.

A run reports the feedback metrics of :mod:`livereplay.sim.feedback` (acceptance, watch time,
new-streamer share, concentration, diversity, each per day too). :class:`PolicySummary`
gathers a policy's runs over seeds (each seed gives every policy the same world: common
random numbers): each metric's mean over seeds with a 95% t-interval (the seeds are few, so
a bootstrap over them would be degenerate). Sweeps of policies x seeds, with their tables
and plots, belong to the application (``livereplay.app.closed_loop``).

>>> from livereplay.sim.presets import preset
>>> from livereplay.contract import Learner
>>> class Newest(Learner):
...     '''Shows the streamers with the largest ids: the ones that appeared last.'''
...     def score(self, users, candidates, t):
...         return candidates[None, :].astype(float)
>>> report = run_closed_loop(preset("tiny"), Newest(), seed=0, name="newest")[0]
>>> report.sessions, round(report.feedback.overall["acceptance"], 3)
(909, 0.23)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from livereplay.arrays import distinct
from livereplay.contract import Learner
from livereplay.intervals import t_interval
from livereplay.ranking import scores_in_chunks, top_k
from livereplay.reveal import Revealer

from .explore import Exploration
from .feedback import Exposure, Feedback, SlateRecords, feedback
from .oracle import Oracle
from .presets import SimParams
from .world import Platform, SimulatedLog, simulate

#: The spawn key, under the run's seed, of the exploration policy's generator (the platform
#: draws on keys 0-5), and after it that of the prefixes drawn for position propensities.
EXPLORATION_STREAM = 6

class LearnerSlate:
    """Shows the ``k`` live streamers a learner scores highest (nothing without a learner),
    feeds it each step, and records what was shown and taken (:class:`Exposure`).

    Users are scored in blocks of at most ``score_budget`` scores, as in replay; ties at the
    k-th score are broken by a generator seeded with ``seed``. With ``exploration`` the slate
    is drawn from that policy on the learner's scores instead (:mod:`livereplay.sim.explore`),
    by a generator of its own spawned from ``seed`` (:data:`EXPLORATION_STREAM`); with
    ``records`` every slate is kept with its propensities (greedy when no exploration is
    given) and the simulator's choice probabilities (:class:`SlateRecords`).
    """

    def __init__(self, learner: Learner | None, k: int, exposure: Exposure, *, seed: int = 0,
                 score_budget: int = 1 << 22, exploration: Exploration | None = None,
                 records: SlateRecords | None = None) -> None:
        self.learner = learner
        self.k = k
        self.exposure = exposure
        self.score_budget = score_budget
        self.revealer = Revealer()
        self.rng = np.random.default_rng(seed)
        self.records = records
        self.exploration = exploration if exploration is not None or records is None else (
            Exploration())
        # the policy's draws, and the prefixes drawn for its position propensities, each a
        # stream of their own: recording changes no slate
        self.explore_rng, self.marginal_rng = (
            np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))
            for stream in (EXPLORATION_STREAM, EXPLORATION_STREAM + 1))
        self.platform: Platform | None = None
        if learner is not None:
            learner.reset()

    def attach(self, platform: Platform) -> None:
        self.platform = platform
        if isinstance(self.learner, Oracle):
            self.learner.attach(platform)

    def recommend(self, users: np.ndarray, live: np.ndarray, t: int) -> np.ndarray:
        """An (len(users), k) array of streamers of ``live`` to show each user at step ``t``
        (k = 0 without a learner)."""
        candidates = np.sort(live)
        if self.learner is None:
            shown = np.empty((len(users), 0), np.int64)
            self.exposure.record_slates(t, candidates, shown)
            return shown
        distinct_users, user_row = distinct(users, inverse=True)
        width = min(self.k, len(candidates))
        shown = np.empty((len(distinct_users), width), np.int64)
        propensity = np.ones(len(distinct_users))
        by_place = np.ones((len(distinct_users), width))
        for lo, hi, scores in scores_in_chunks(self.learner, distinct_users, candidates, t,
                                               self.score_budget):
            if self.exploration is None:
                shown[lo:hi] = candidates[top_k(scores, self.k, self.rng, hi - lo)]
                continue
            block = np.broadcast_to(np.asarray(scores, np.float64), (hi - lo, len(candidates)))
            columns = self.exploration.sample(block, self.k, self.explore_rng)
            shown[lo:hi] = candidates[columns]
            if self.records is not None:
                propensity[lo:hi] = self.exploration.slate_probability(block, columns)
                by_place[lo:hi] = self.exploration.position_probability(block, columns,
                                                                        self.marginal_rng)
        shown = shown[user_row]
        self.exposure.record_slates(t, candidates, shown)
        if self.records is not None:
            self.records.add_slates(t, users, candidates, shown, propensity[user_row],
                                    by_place[user_row])
        return shown

    def chosen(self, t: int, users: np.ndarray, channels: np.ndarray) -> None:
        self.exposure.record_choices(t, channels)
        if self.records is not None:
            assert self.platform is not None
            self.records.add_choices(t, channels, self.platform.choice_probabilities)

    def observe(self, t: int, users: np.ndarray, streamers: np.ndarray, stops: np.ndarray) -> None:
        if self.learner is not None:
            self.learner.observe(self.revealer.reveal(t, users, streamers, stops))
        if self.records is not None:
            self.records.add_rows(t, users, streamers, stops)


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
                    name: str | None = None, progress: bool = False,
                    exploration: Exploration | None = None,
                    records: SlateRecords | None = None) -> tuple[ClosedLoopReport, SimulatedLog]:
    """Simulate with ``learner``'s slates shown to arriving users (None: no recommendations);
    ``seed`` seeds the world and the slates' tie-breaking, ``name`` labels the report;
    ``exploration`` draws the slates from a stochastic policy on the learner's scores, and
    ``records`` keeps every shown slate (:class:`LearnerSlate`)."""
    began = time.perf_counter()
    exposure = Exposure(params.n_streamers, params.n_steps)
    slate = LearnerSlate(learner, params.slate_size, exposure, seed=seed,
                         exploration=exploration, records=records)
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
