"""The replay loop: time order, what is revealed when, and evaluation.

For t = 0 .. b-1 the engine (1) evaluates what the protocol predicts at t, with what was
revealed through t-1 (``starts``), (2) reveals step t to the learner, (3) evaluates what the
protocol predicts after t is known (``next``). Steps before the window are replayed as
warm-up without evaluation. Learners only ever see :class:`replay.step.Step` objects built
by the :class:`replay.reveal.Revealer`, so look-ahead is impossible by construction.

>>> from replay.data import read_csv, default_data_path
>>> from learners.registry import make_learner
>>> result = replay(read_csv(default_data_path()), make_learner("pop"), window=(5000, 5200))
>>> result.metrics()["all"]["n"]
1846
"""
from __future__ import annotations

import resource
import time

import numpy as np
from tqdm.auto import tqdm

from learners.base import Learner

from .availability import Availability
from .data import Log
from .errors import ReplayError
from .history import History
from .protocols import PROTOCOLS, Moment
from .results import Result
from .reveal import Revealer

AVAILABILITIES = ("log", "others")
SCORE_BUDGET = 1 << 22  # scores held at once (users x candidates), 32 MB of float64


def sample_users(n_users: int, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of evaluated users. A user's draw depends only on its id and the seed,
    so a log cut earlier (with fewer users) samples its users identically."""
    if not 0 < fraction <= 1:
        raise ReplayError(f"--users-sample must be in (0, 1], got {fraction}")
    return np.random.default_rng(seed).random(n_users) < fraction


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timeline:
    """Walks a log step by step for the engine: the rows starting at t and the rows going on
    at t (log row indices, never shown to learners), and reveals each step to the learner."""

    def __init__(self, log: Log, learner: Learner) -> None:
        self.log, self.learner = log, learner
        self.revealer = Revealer()
        self.t = -1
        self.starting = self.watching = np.empty(0, np.int64)
        self._first_row = np.searchsorted(log.start,
                                          np.arange(log.n_steps + 2, dtype=log.start.dtype))
        learner.reset()

    @property
    def history(self) -> History:
        return self.revealer.history

    def _starting_at(self, t: int) -> np.ndarray:
        t = min(t, len(self._first_row) - 2)  # past the last start: no rows
        return np.arange(self._first_row[t], self._first_row[t + 1])

    def advance(self) -> int:
        """Move to the next step (not revealed yet); returns it."""
        self.t += 1
        self.starting = self._starting_at(self.t)
        self.watching = np.concatenate([self.watching[self.log.stop[self.watching] > self.t],
                                        self.starting])
        return self.t

    def watching_next(self) -> np.ndarray:
        """Rows going on at t+1."""
        going_on = self.watching[self.log.stop[self.watching] > self.t + 1]
        return np.concatenate([going_on, self._starting_at(self.t + 1)])

    def reveal(self) -> None:
        """Show step t to the learner."""
        rows = self.starting
        self.learner.observe(self.revealer.reveal(self.t, self.log.user[rows],
                                                  self.log.streamer[rows], self.log.stop[rows]))


def warm_up(log: Log, learner: Learner, until: int) -> Timeline:
    """Reveal steps 0 .. until-1 of ``log`` to ``learner`` (reset first), evaluating nothing."""
    timeline = Timeline(log, learner)
    for _ in range(until):
        timeline.advance()
        timeline.reveal()
    return timeline


def replay(log: Log, learner: Learner, *, protocol: str = "starts", availability: str = "log",
           window: tuple[int, int] | None = None, users: np.ndarray | None = None,
           index: Availability | None = None, progress: bool | None = False,
           learner_name: str | None = None, score_budget: int = SCORE_BUDGET) -> Result:
    """Replay ``log`` to ``learner`` and evaluate ``protocol`` over ``window`` = [a, b).

    users -- boolean mask of the users whose events are evaluated (all by default); the
             learner still sees every row.
    index -- a prebuilt availability index for ``log`` (built here if omitted).
    progress -- a progress bar: True, False, or None (only on a terminal).
    """
    if protocol not in PROTOCOLS:
        raise ReplayError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    if availability not in AVAILABILITIES:
        raise ReplayError(f"unknown availability {availability!r}; choose from "
                          f"{', '.join(AVAILABILITIES)}")
    T = log.n_steps
    a, b = window if window is not None else (0, T)
    if not 0 <= a < b <= T:
        raise ReplayError(f"window [{a}, {b}) is not inside the log's steps [0, {T})")
    evaluator = PROTOCOLS[protocol](availability) if protocol == "starts" else PROTOCOLS[protocol]()
    index = index if index is not None else log.availability
    evaluated = users if users is not None else np.ones(log.n_users, dtype=bool)

    began = time.perf_counter()
    timeline = Timeline(log, learner)
    ranks, steps, kinds = [], [], []
    for t in tqdm(range(b), disable=None if progress is None else not progress,
                  desc=f"{learner_name or type(learner).__name__} {protocol}", unit="step",
                  mininterval=0.5, leave=False):
        timeline.advance()
        moment = None
        if t >= a:
            starting, watching_next = timeline.starting, timeline.watching_next()
            moment = Moment(t=t, log=log, index=index, history=timeline.history,
                            learner=learner, watching=timeline.watching,
                            starting=starting[evaluated[log.user[starting]]],
                            watching_next=watching_next[evaluated[log.user[watching_next]]],
                            score_budget=score_budget)
        if moment is not None and not evaluator.after_reveal:
            _collect(evaluator.evaluate(moment), t, ranks, steps, kinds)
        timeline.reveal()
        if moment is not None and evaluator.after_reveal and t + 1 < T:
            _collect(evaluator.evaluate(moment), t, ranks, steps, kinds)

    if not ranks:
        raise ReplayError(f"window [{a}, {b}) holds no {protocol} events to evaluate")
    result = Result(
        learner=learner_name or type(learner).__name__, protocol=protocol,
        availability=availability if protocol == "starts" else None, window=(a, b),
        splits=evaluator.splits, ranks=np.concatenate(ranks), steps=np.concatenate(steps),
        kind=np.concatenate(kinds), seconds=time.perf_counter() - began,
        peak_rss_mb=peak_rss_mb())
    if protocol == "next":
        rewards = float((result.ranks == 0).sum())
        result.objective = rewards / (int(evaluated.sum()) * (min(b, T - 1) - a))
    return result


def _collect(outcome: tuple[np.ndarray, np.ndarray] | None, t: int, ranks: list, steps: list,
             kinds: list) -> None:
    if outcome is not None:
        ranks.append(outcome[0])
        steps.append(np.full(len(outcome[0]), t, np.int32))
        kinds.append(outcome[1])
