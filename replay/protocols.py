"""What is predicted at each step, and how it is ranked (``docs/design.md`` § Protocols).

A protocol plans what the learner replays (:meth:`Protocol.plan`) and ranks events at three
moments of the replay loop: before step t is revealed (``starts``), after it (``next``), or
after the replay ends (``holdout``, in :mod:`livereplay.holdout`). Every rank goes through
:mod:`livereplay.ranking`, which states the tie rule.

``starts``: every row starting at step t >= 1 is an event; its streamer is ranked among the
candidates using what was revealed through t-1. Candidates are A_t (``log``) or A_t minus
the streamers whose only viewers at t are the evaluated user (``others``, leak-free).
Splits: ``repeat`` (the user has an earlier row with that streamer) and ``new``.

``next``: after step t is revealed, every user watching something at t+1 is an event; the
best-scored of the streamers it watches at t+1 that are live at t is ranked against the
other channels live at t (scored for step t+1). Splits: ``continuing`` (it watches at t+1 a
streamer it also watches at t) and ``fresh``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .arrays import distinct, expand_ranges, pair_keys, positions
from .availability import Availability
from .contract import History, Learner
from .data import Log
from .errors import ReplayError
from .ranking import rank_by_chunks


class Outcome(NamedTuple):
    """Ranked events: each one's rank, user, step and split (True = the protocol's first)."""

    ranks: np.ndarray
    users: np.ndarray
    steps: np.ndarray
    kind: np.ndarray


class Plan(NamedTuple):
    """What a replay does: evaluate steps ``a <= t < b``; the learner replays ``log`` for steps
    ``0 .. until-1``."""

    a: int
    b: int
    log: Log
    until: int


@dataclass
class Moment:
    """The engine's view of step t for a protocol (never shown to learners)."""

    t: int
    log: Log
    index: Availability
    history: History
    learner: Learner
    watching: np.ndarray  # log rows covering t
    starting: np.ndarray  # log rows starting at t, evaluated users only
    watching_next: np.ndarray  # log rows covering t+1, evaluated users only
    score_budget: int


@dataclass
class Ending:
    """What a protocol may use once the replay has ended."""

    log: Log
    index: Availability
    learner: Learner
    evaluated: np.ndarray  # boolean mask of evaluated users
    score_budget: int


class Protocol:
    """Base of the protocols: by default the whole log is replayed over the window and
    nothing is ranked; a protocol overrides the moments at which it ranks events."""

    name = ""
    splits: tuple[str, str] = ("", "")
    availability: str | None = None

    def plan(self, log: Log, window: tuple[int, int] | None) -> Plan:
        T = log.n_steps
        a, b = window if window is not None else (0, T)
        if not 0 <= a < b <= T:
            raise ReplayError(f"window [{a}, {b}) is not inside the log's steps [0, {T})")
        return Plan(a, b, log, b)

    def before_reveal(self, moment: Moment) -> Outcome | None:
        """Events of step t ranked with what was revealed through t-1."""
        return None

    def after_reveal(self, moment: Moment) -> Outcome | None:
        """Events ranked once step t is revealed."""
        return None

    def after_replay(self, ending: Ending) -> Outcome | None:
        """Events ranked once the replay has ended."""
        return None

    def objective(self, outcome: Outcome, n_evaluated_users: int, plan: Plan) -> float | None:
        """A protocol's own summary figure, if it has one."""
        return None


def _pairs_by_user(event_users: np.ndarray, owners: np.ndarray,
                   values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(event, value) for every value owned by the event's user."""
    order = np.argsort(owners, kind="stable")
    owners, values = owners[order], values[order]
    events, pos = expand_ranges(np.searchsorted(owners, event_users, "left"),
                                np.searchsorted(owners, event_users, "right"))
    return events, values[pos]


AVAILABILITIES = ("log", "others")


class Starts(Protocol):
    """Session starts; ``availability`` is ``log`` (A_t) or ``others`` (leak-free)."""

    name = "starts"
    splits = ("repeat", "new")

    def __init__(self, availability: str = "log") -> None:
        if availability not in AVAILABILITIES:
            raise ReplayError(f"unknown availability {availability!r}; choose from "
                              f"{', '.join(AVAILABILITIES)}")
        self.availability = availability

    def before_reveal(self, moment: Moment) -> Outcome | None:
        t, log, rows = moment.t, moment.log, moment.starting
        if t < 1 or len(rows) == 0:
            return None
        event_users, event_streamers = log.user[rows], log.streamer[rows]
        candidates = moment.index.at(t)
        users, event_user = distinct(event_users, inverse=True)
        events = np.arange(len(rows))
        column = positions(candidates, event_streamers)
        repeat = moment.history.pair_counts(event_users, event_streamers)[0] > 0

        excluded_event = excluded_column = np.empty(0, np.int64)
        if self.availability == "others":
            watched = positions(candidates, log.streamer[moment.watching])
            sole = moment.index.viewers_at(t)[watched] == 1
            excluded_event, excluded_column = _pairs_by_user(
                event_users, log.user[moment.watching][sole], watched[sole])
            n = len(candidates)
            column[np.isin(events * n + column, excluded_event * n + excluded_column)] = -1

        has = column >= 0
        targets = (events[has], column[has])
        uncounted = (np.concatenate([events[has], excluded_event]),
                     np.concatenate([column[has], excluded_column]))
        ranks = rank_by_chunks(moment.learner, t, users, candidates, event_user, targets,
                               uncounted, moment.score_budget)
        return Outcome(ranks, event_users, np.full(len(rows), t, np.int32), repeat)


class Next(Protocol):
    """The seed's task: what each watching user watches at the next step."""

    name = "next"
    splits = ("continuing", "fresh")

    def after_reveal(self, moment: Moment) -> Outcome | None:
        log, rows = moment.log, moment.watching_next
        if len(rows) == 0:
            return None
        candidates = moment.index.at(moment.t)
        users, event_of_row = distinct(log.user[rows], inverse=True)
        column = positions(candidates, log.streamer[rows])
        live = column >= 0
        targets = (event_of_row[live], column[live])
        now = moment.watching
        kept_watching = np.isin(pair_keys(log.user[rows], log.streamer[rows]),
                                pair_keys(log.user[now], log.streamer[now]))
        continuing = np.bincount(event_of_row, weights=kept_watching, minlength=len(users)) > 0
        events = np.arange(len(users))
        ranks = rank_by_chunks(moment.learner, moment.t + 1, users, candidates, events, targets,
                               targets, moment.score_budget)
        return Outcome(ranks, users, np.full(len(users), moment.t, np.int32), continuing)

    def objective(self, outcome: Outcome, n_evaluated_users: int, plan: Plan) -> float | None:
        """The seed's objective: (1/N)(1/T) sum of rewards (hr@1) over N evaluated users and
        the T steps of the window that have a next step."""
        steps = min(plan.b, plan.log.n_steps - 1) - plan.a
        return float((outcome.ranks == 0).sum()) / (n_evaluated_users * steps)
