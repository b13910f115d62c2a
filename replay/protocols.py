"""What is predicted at each step, and how it is ranked (DESIGN.md § Protocols and metrics).

``starts``: every row starting at step t >= 1 is an event; its streamer is ranked among the
candidates using what was revealed through t-1. Candidates are A_t (``log``) or A_t minus
the streamers whose only viewers at t are the evaluated user (``others``, leak-free).
Splits: ``repeat`` (the user has an earlier row with that streamer) and ``new``.

``next``: after step t is revealed, every user watching something at t+1 is an event; the
best-scored of the streamers it watches at t+1 that are live at t is ranked against the
other channels live at t. Splits: ``continuing`` (it watches at t+1 a streamer it also
watches at t) and ``fresh``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import Learner

from .arrays import distinct, expand_ranges, pair_keys, positions
from .availability import Availability
from .data import Log
from .errors import LearnerError
from .history import History
from .metrics import rank_events


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


def checked_scores(scores: object, n_users: int, n_candidates: int, where: str) -> np.ndarray:
    """A learner's scores as a float array of shape (n_users or 1, n_candidates), or a
    :class:`LearnerError` saying ``where`` they went wrong."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] != n_candidates or scores.shape[0] not in (1, n_users):
        raise LearnerError(f"{where}: score() returned shape {scores.shape}, expected "
                           f"({n_users}, {n_candidates}) or (1, {n_candidates})")
    if np.isnan(scores).any():
        raise LearnerError(f"{where}: score() returned NaN")
    return scores


def rank_by_chunks(learner: Learner, t: int, users: np.ndarray, candidates: np.ndarray,
                   event_user: np.ndarray, targets: tuple[np.ndarray, np.ndarray],
                   uncounted: tuple[np.ndarray, np.ndarray], score_budget: int) -> np.ndarray:
    """Score ``users`` x ``candidates`` in chunks of at most ``score_budget`` entries and rank
    every event (at step ``t``).

    event_user -- index into ``users`` of each event; targets/uncounted -- (event, column)
    pairs as in :func:`replay.metrics.rank_events`.
    """
    ranks = np.empty(len(event_user))
    chunk = max(1, score_budget // max(1, len(candidates)))
    lo = 0
    while lo < len(users):
        hi = min(len(users), lo + chunk)
        scores = checked_scores(learner.score(users[lo:hi], candidates),
                                hi - lo, len(candidates), f"step {t}")
        if scores.shape[0] == 1:
            hi = len(users)  # shared scores serve every user at once
        inside = (event_user >= lo) & (event_user < hi)
        events = np.flatnonzero(inside)
        local = np.cumsum(inside) - 1

        def keep(pairs: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            selected = inside[pairs[0]]
            return local[pairs[0][selected]], pairs[1][selected]

        ranks[events] = rank_events(scores, event_user[events] - lo, keep(targets), keep(uncounted))
        lo = hi
    return ranks


def _pairs_by_user(event_users: np.ndarray, owners: np.ndarray,
                   values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(event, value) for every value owned by the event's user."""
    order = np.argsort(owners, kind="stable")
    owners, values = owners[order], values[order]
    events, pos = expand_ranges(np.searchsorted(owners, event_users, "left"),
                                np.searchsorted(owners, event_users, "right"))
    return events, values[pos]


class Starts:
    """Session starts; ``availability`` is ``log`` (A_t) or ``others`` (leak-free)."""

    name = "starts"
    splits = ("repeat", "new")
    after_reveal = False

    def __init__(self, availability: str = "log") -> None:
        self.availability = availability

    def evaluate(self, moment: Moment) -> tuple[np.ndarray, np.ndarray] | None:
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
        return ranks, repeat


class Next:
    """The seed's task: what each watching user watches at the next step."""

    name = "next"
    splits = ("continuing", "fresh")
    after_reveal = True

    def evaluate(self, moment: Moment) -> tuple[np.ndarray, np.ndarray] | None:
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
        ranks = rank_by_chunks(moment.learner, moment.t, users, candidates, events, targets,
                               targets, moment.score_budget)
        return ranks, continuing


PROTOCOLS = {"starts": Starts, "next": Next}
