"""Closed loop: a learner recommends to the simulated users and learns from what they then do.

Each arriving user is shown the learner's top-k among the channels live at that moment
(:func:`livereplay.ranking.top_k`: ties at the k-th score are broken at random by a generator
seeded with the run's seed, so slates are reproducible) and
takes one of them or ignores the slate, by the logit choice model documented in
:meth:`livereplay.sim.world.Platform.accept_from_slate` (the chance to accept grows with the user's
affinity -- taste, popularity, familiarity -- for what is shown); a user who ignores it
chooses as usual. The learner is updated step by step exactly as in replay: ``reset()`` once,
then ``observe(revealer.reveal(t, ...))`` with the rows that started at each step, and it
scores with what was revealed through the previous step.

Every policy faces the same channels, schedules and arrivals (common random numbers), so
the reports compare policies online, and the same seed gives the same outcome:

>>> from livereplay.sim.presets import preset
>>> from livereplay.contract import Learner
>>> class Newest(Learner):
...     '''Shows the channels with the largest ids: the ones that appeared last.'''
...     def score(self, users, candidates, t):
...         return candidates[None, :].astype(float)
>>> report = run_closed_loop(preset("tiny"), Newest(), seed=0, name="newest")[0]
>>> report.sessions, round(report.acceptance_rate, 3)
(918, 0.241)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from livereplay.arrays import distinct
from livereplay.contract import Learner
from livereplay.ranking import scores_in_chunks, top_k
from livereplay.reveal import Revealer

from .presets import SimParams
from .world import SimulatedLog, simulate


class LearnerSlate:
    """Shows the ``k`` live channels a learner scores highest; feeds it each step.

    Users are scored in blocks of at most ``score_budget`` scores, as in replay; ties at the
    k-th score are broken by a generator seeded with ``seed``.
    """

    def __init__(self, learner: Learner, k: int, *, seed: int = 0,
                 score_budget: int = 1 << 20) -> None:
        self.learner = learner
        self.k = k
        self.score_budget = score_budget
        self.revealer = Revealer()
        self.rng = np.random.default_rng(seed)
        learner.reset()

    def recommend(self, users: np.ndarray, live: np.ndarray, t: int) -> np.ndarray:
        """An (len(users), k) array of channels of ``live`` to show each user at step ``t``."""
        candidates = np.sort(live)
        distinct_users, user_row = distinct(users, inverse=True)
        shown = np.empty((len(distinct_users), min(self.k, len(candidates))), np.int64)
        for lo, hi, scores in scores_in_chunks(self.learner, distinct_users, candidates, t,
                                               self.score_budget):
            scores = np.broadcast_to(scores, (hi - lo, len(candidates)))
            shown[lo:hi] = candidates[top_k(scores, self.k, self.rng)]
        return shown[user_row]

    def observe(self, t: int, users: np.ndarray, streamers: np.ndarray, stops: np.ndarray) -> None:
        self.learner.observe(self.revealer.reveal(t, users, streamers, stops))


@dataclass(frozen=True)
class ClosedLoopReport:
    """How a policy did online.

    acceptance_rate         -- share of arriving users who took a channel from the slate
    watch_per_session       -- viewing steps per session (both channels count when a user
                               watches two at once)
    new_channel_share       -- share of viewing steps spent on channels new to the user
                               (never watched before the viewing started)
    """

    policy: str
    sessions: int
    rows: int
    acceptance_rate: float
    watch_per_session: float
    new_channel_share: float
    seconds: float

    def row(self) -> tuple[str, ...]:
        acceptance = "-" if np.isnan(self.acceptance_rate) else f"{self.acceptance_rate:.3f}"
        return (self.policy, f"{self.sessions:,}", f"{self.rows:,}", acceptance,
                f"{self.watch_per_session:.3f}", f"{self.new_channel_share:.3f}",
                f"{self.seconds:.1f}")

    HEADER = ("policy", "sessions", "rows", "acceptance", "watch/session", "new share", "seconds")


def run_closed_loop(params: SimParams, learner: Learner | None, seed: int = 0, *,
                    name: str | None = None,
                    progress: bool = False) -> tuple[ClosedLoopReport, SimulatedLog]:
    """Simulate with ``learner``'s slates shown to arriving users (None: no recommendations);
    ``seed`` seeds the world and the slates' tie-breaking, ``name`` labels the report."""
    began = time.perf_counter()
    slate = None if learner is None else LearnerSlate(learner, params.slate_size, seed=seed)
    simulated = simulate(params, seed, progress=progress, slate=slate)
    length = (simulated.stop - simulated.start).astype(np.int64)
    report = ClosedLoopReport(
        policy=name or ("(none)" if learner is None else type(learner).__name__),
        sessions=simulated.n_sessions,
        rows=len(length),
        acceptance_rate=simulated.n_accepted / simulated.n_shown if simulated.n_shown else float("nan"),
        watch_per_session=length.sum() / max(1, simulated.n_sessions),
        new_channel_share=length[simulated.new].sum() / max(1, length.sum()),
        seconds=time.perf_counter() - began,
    )
    return report, simulated
