"""The replay loop: time order, what is revealed when, and evaluation
(``docs/protocols.md`` (The replay loop)).

The protocol plans the replay (:mod:`livereplay.protocols`); then for t = 0 .. until-1 the
engine (1) ranks what the protocol predicts at t with what was revealed through t-1
(``starts``), (2) reveals step t to the learner, (3) ranks what the protocol predicts once t
is known (``next``); once the replay ends, the protocol may rank more (``holdout``). Steps
before the window are replayed as warm-up without evaluation. Learners only ever see
:class:`livereplay.contract.Step` objects built by the :class:`livereplay.reveal.Revealer`,
so look-ahead is impossible by construction.

>>> from livereplay.data import read_csv, default_data_path
>>> from livereplay.contract import Learner, known
>>> class Popular(Learner):
...     def observe(self, step):
...         self.rows_ = step.history.streamer_rows().copy()
...     def score(self, users, candidates, t):
...         return known(self.rows_, candidates)[None, :]
>>> result = replay(read_csv(default_data_path()), Popular(), window=(5000, 5200))
>>> result.metrics()["all"]["n"], round(result.metrics()["all"]["hr@10"], 4)
(1846, 0.1436)
"""
from __future__ import annotations

import resource
import time
from contextlib import nullcontext
from typing import Iterable

import numpy as np
from tqdm.auto import tqdm

from .availability import LiveIndex
from .checkpoint import Checkpointer, Interrupted
from .contract import History, Learner
from .data import Log
from .errors import ReplayError
from .outcomes import Outcomes
from .protocols import Ending, Moment, Plan, Protocol, make_protocol
from .ranking import SCORE_BUDGET
from .results import Result
from .reveal import Revealer

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

    def __getstate__(self) -> dict:
        """For checkpoints: everything but the log, which the resumed replay gives back."""
        return {**self.__dict__, "log": None}

    def reveal(self) -> None:
        """Show step t to the learner."""
        rows = self.starting
        self.learner.observe(self.revealer.reveal(self.t, self.log.user[rows],
                                                  self.log.streamer[rows], self.log.stop[rows]))


def replay(log: Log, learner: Learner, *, protocol: str | Protocol = "starts",
           availability: str | None = None, period: str | None = None,
           window: tuple[int, int] | None = None, users: np.ndarray | None = None,
           index: LiveIndex | None = None, progress: bool | None = False,
           learner_name: str | None = None, score_budget: int = SCORE_BUDGET,
           checkpoint: Checkpointer | None = None) -> Result:
    """Replay ``log`` to ``learner`` and evaluate ``protocol`` over ``window`` = [a, b).

    protocol -- a name (built-in, entry point or ``module:Class``; with ``availability``
                and ``period`` where it takes them, see
                :func:`livereplay.protocols.make_protocol`) or a :class:`Protocol` object.
    users -- boolean mask of the users whose events are evaluated (all by default); the
             learner still sees every row.
    index -- a prebuilt availability index for ``log`` (built here if omitted).
    progress -- a progress bar: True, False, or None (only on a terminal).
    checkpoint -- writes checkpoints as it says, resumes from its last one if it was made
                  with ``resume=True``, and stops with a checkpoint on SIGINT or SIGTERM
                  (:class:`livereplay.checkpoint.Interrupted`); the resumed replay gives
                  the same bytes as one never interrupted.
    """
    evaluator = protocol if isinstance(protocol, Protocol) else make_protocol(
        protocol, availability=availability, period=period)
    if evaluator.availability == "schedule" and log.schedule is None:
        raise ReplayError(f"availability schedule needs the log's schedule, and {log.source} "
                          "has none (livereplay import writes one beside the log it writes)")
    plan = evaluator.plan(log, window)
    index = index if index is not None else log.live
    evaluated = users if users is not None else np.ones(log.n_users, dtype=bool)

    began = time.perf_counter()
    saved = checkpoint.load() if checkpoint is not None and checkpoint.resume else None
    if saved is None:
        timeline, outcomes, earlier = Timeline(plan.log, learner), Outcomes(), 0.0
    else:  # the learner goes on from its checkpointed state, not from the one given
        timeline, outcomes, earlier = saved["timeline"], saved["outcomes"], saved["seconds"]
        timeline.log, learner = plan.log, saved["timeline"].learner
    with checkpoint.on_signals() if checkpoint is not None else nullcontext():
        _run_steps(timeline, plan, evaluator, index, evaluated, outcomes, score_budget,
                   checkpoint, earlier - began,
                   tqdm(range(timeline.t + 1, plan.until), initial=timeline.t + 1,
                        total=plan.until, disable=None if progress is None else not progress,
                        desc=f"{learner_name or type(learner).__name__} {evaluator.name}",
                        unit="step", mininterval=0.5, leave=False))
    outcomes.append(evaluator.after_replay(Ending(log=log, index=index, learner=learner,
                                                  evaluated=evaluated,
                                                  score_budget=score_budget)))

    outcome = outcomes.joined()
    if outcome is None:
        raise ReplayError(f"window [{plan.a}, {plan.b}) holds no {evaluator.name} events "
                          "to evaluate")
    return Result(
        learner=learner_name or type(learner).__name__, protocol=evaluator.name,
        availability=evaluator.availability, window=(plan.a, plan.b),
        splits=evaluator.splits, ranks=outcome.ranks, users=outcome.users,
        steps=outcome.steps, kind=outcome.kind,
        objective=evaluator.objective(outcome, int(evaluated.sum()), plan),
        seconds=earlier + time.perf_counter() - began, peak_rss_mb=peak_rss_mb(),
        extra={"period": evaluator.period} if evaluator.period else {})


def _run_steps(timeline: Timeline, plan: Plan, evaluator: Protocol, index: LiveIndex,
               evaluated: np.ndarray, outcomes: Outcomes, score_budget: int,
               checkpoint: Checkpointer | None, clock_offset: float, steps: Iterable[int]) -> None:
    """The loop of :func:`replay` over ``steps``: rank, reveal, rank, and checkpoint when
    due (``clock_offset + perf_counter()`` is the replay's seconds so far)."""
    learner = timeline.learner
    for t in steps:
        timeline.advance()
        moment = None
        if t >= plan.a:
            starting, watching_next = timeline.starting, timeline.watching_next()
            rows_of = plan.log.user
            moment = Moment(t=t, log=plan.log, index=index, history=timeline.history,
                            learner=learner, watching=timeline.watching,
                            starting=starting[evaluated[rows_of[starting]]],
                            watching_next=watching_next[evaluated[rows_of[watching_next]]],
                            score_budget=score_budget)
            outcomes.append(evaluator.before_reveal(moment))
        timeline.reveal()
        if moment is not None:
            outcomes.append(evaluator.after_reveal(moment))
        if checkpoint is not None and checkpoint.due(t):
            checkpoint.save(t, {"timeline": timeline, "outcomes": outcomes,
                                "seconds": clock_offset + time.perf_counter()})
            if checkpoint.stop_requested:
                raise Interrupted(f"stopped after step {t}; its checkpoint is in "
                                  f"{checkpoint.folder} (resume to go on)")
