"""Closed loop: a learner recommends to the simulated users and learns from what they then do.

Each arriving user is shown the learner's top-k among the channels live at that moment and
takes one of them or ignores the slate, by the logit choice model documented in
:meth:`sim.world.Platform.accept_from_slate` (the chance to accept grows with the user's
affinity -- taste, popularity, familiarity -- for what is shown); a user who ignores it
chooses as usual. The learner is updated step by step exactly as in replay: ``reset()`` once,
then ``observe(revealer.reveal(t, ...))`` with the rows that started at each step, and it
scores with what was revealed through the previous step.

Every policy faces the same channels, schedules and arrivals (common random numbers), so
the reports compare policies online, and the same seed gives the same outcome:

>>> from sim.presets import preset
>>> report = run_closed_loop(preset("tiny"), "pop", seed=0)[0]
>>> 0 < report.acceptance_rate < 1
True
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from learners.base import Learner
from learners.registry import make_learner
from replay.protocols import checked_scores
from replay.reveal import Revealer

from .presets import SimParams
from .world import SimulatedLog, simulate


class LearnerSlate:
    """Shows the ``k`` live channels a learner scores highest; feeds it each step.

    Users are scored in blocks of ``block`` so that memory stays bounded.
    """

    def __init__(self, learner: Learner, k: int, *, block: int = 256) -> None:
        self.learner = learner
        self.k = k
        self.block = block
        self.revealer = Revealer()
        learner.reset()

    def recommend(self, users: np.ndarray, live: np.ndarray) -> np.ndarray:
        k = min(self.k, len(live))
        shown = np.empty((len(users), k), np.int64)
        for lo in range(0, len(users), self.block):
            block = users[lo: lo + self.block]
            scores = checked_scores(self.learner.score(block, live), len(block), len(live),
                                    repr(self.learner))
            scores = np.broadcast_to(scores, (len(block), len(live)))
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            shown[lo: lo + len(block)] = live[top]
        return shown

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


def run_closed_loop(params: SimParams, policy: str | None, seed: int = 0, *,
                    progress: bool = False) -> tuple[ClosedLoopReport, SimulatedLog]:
    """Simulate with the learner ``policy`` (a learner name or ``module:Class``; None for no
    recommendations) shown to arriving users; the learner gets the same seed."""
    began = time.perf_counter()
    slate = None if policy is None else LearnerSlate(make_learner(policy, seed=seed),
                                                     params.slate_size)
    simulated = simulate(params, seed, progress=progress, slate=slate)
    length = (simulated.stop - simulated.start).astype(np.int64)
    report = ClosedLoopReport(
        policy=policy or "(none)",
        sessions=simulated.n_sessions,
        rows=len(length),
        acceptance_rate=simulated.n_accepted / simulated.n_shown if simulated.n_shown else float("nan"),
        watch_per_session=length.sum() / max(1, simulated.n_sessions),
        new_channel_share=length[simulated.new].sum() / max(1, length.sum()),
        seconds=time.perf_counter() - began,
    )
    return report, simulated
