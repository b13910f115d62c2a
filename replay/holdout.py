"""The paper's hold-out protocol, to compare with numbers from its released code.

With p1 = T-500 and p2 = T-250, a period (a, b) keeps the rows with ``stop < b``, takes each
user's last 17 of them by start, and makes the last one the user's target if the user has at
least 2 such rows and the target starts in [a, b); the (up to) 16 before it are its history.
Periods: test = (p2, T), validation = (p1, p2), training = (0, p1). The learner replays every
row that ends before ``a`` (steps 0 .. a-1) and then ranks each target among the streamers
available at the target's start; ``repeat`` means the target is in the user's history.

Each target is scored at its own start step (``score(users, candidates, start)``), several
steps after the last one the learner was shown.

>>> from livereplay.data import read_csv, default_data_path
>>> events = holdout_events(read_csv(default_data_path()), "test")
>>> len(events.user), int(events.repeat.sum())
(809, 506)
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .arrays import distinct, positions
from .data import Log
from .errors import ReplayError
from .protocols import Ending, Outcome, Plan, Protocol
from .ranking import rank_by_chunks

SEQUENCE_LENGTH = 17  # the target and up to 16 rows of history, as in the paper's code
PERIODS = ("test", "validation")


class HoldoutEvents(NamedTuple):
    """One event per user: its target streamer, the target's start, and whether the target
    is among the user's (up to 16) history rows."""

    window: tuple[int, int]
    user: np.ndarray
    streamer: np.ndarray
    start: np.ndarray
    repeat: np.ndarray


def period_window(log: Log, period: str) -> tuple[int, int]:
    """[a, b) of a period: test = (T-250, T), validation = (T-500, T-250)."""
    T = log.n_steps
    windows = {"test": (T - 250, T), "validation": (T - 500, T - 250)}
    if period not in windows:
        raise ReplayError(f"unknown period {period!r}; choose from {', '.join(PERIODS)}")
    if windows[period][0] <= 0:
        raise ReplayError(f"the hold-out protocol needs more than 500 steps; the log has {T}")
    return windows[period]


def holdout_events(log: Log, period: str = "test") -> HoldoutEvents:
    """The evaluated events of a period, vectorised over users."""
    a, b = period_window(log, period)
    kept = np.flatnonzero(log.stop < b)  # in (start, file position) order
    kept = kept[np.argsort(log.user[kept], kind="stable")]  # grouped by user, still by start
    users = log.user[kept]
    group_end = np.r_[np.flatnonzero(users[1:] != users[:-1]), len(users) - 1]
    counts = np.diff(np.r_[-1, group_end])
    from_end = np.repeat(group_end, counts) - np.arange(len(users))  # 0 for each user's last
    recent = from_end < SEQUENCE_LENGTH
    target_rows = kept[group_end]
    is_event = (np.minimum(counts, SEQUENCE_LENGTH) >= 2) & (log.start[target_rows] >= a) \
        & (log.start[target_rows] < b)
    # history: the recent rows that are not the last one, flagged where they match the target
    history = recent & (from_end > 0)
    owner = np.repeat(np.arange(len(group_end)), counts)
    same = history & (log.streamer[kept] == log.streamer[target_rows][owner])
    repeat = np.bincount(owner[same], minlength=len(group_end)) > 0
    rows = target_rows[is_event]
    return HoldoutEvents((a, b), log.user[rows], log.streamer[rows], log.start[rows],
                         repeat[is_event])


class Holdout(Protocol):
    """The paper's hold-out: each user's last row in the test or validation period.

    The row is ranked among the streamers live at its start (``log``, A_t) or on air then by
    the log's schedule (``schedule``), after the learner replayed every row that ended before
    the period."""

    name = "holdout"
    splits = ("repeat", "new")
    availabilities = ("log", "schedule")
    periods = PERIODS

    def __init__(self, availability: str = "log", period: str = "test") -> None:
        self.availability = availability
        self.period = period  # checked by period_window when the replay is planned

    def plan(self, log: Log, window: tuple[int, int] | None) -> Plan:
        if window is not None:
            raise ReplayError("the holdout protocol has fixed periods (test, validation): "
                              "give a period, not a window")
        a, b = period_window(log, self.period)
        return Plan(a, b, log.subset(log.stop < a), a)

    def after_replay(self, ending: Ending) -> Outcome | None:
        events = holdout_events(ending.log, self.period)
        evaluated = ending.evaluated[events.user]
        events = HoldoutEvents(events.window, *(field[evaluated] for field in events[1:]))
        if len(events.user) == 0:
            return None
        order = np.argsort(events.start, kind="stable")
        steps = events.start[order]
        bounds = np.flatnonzero(np.r_[True, steps[1:] != steps[:-1], True])
        ranks = np.empty(len(order))
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            t, at_t = int(steps[lo]), order[lo:hi]
            candidates = (ending.index.at(t) if self.availability == "log"
                          else ending.log.schedule.at(t))
            users, event_user = distinct(events.user[at_t], inverse=True)
            column = positions(candidates, events.streamer[at_t])
            on = np.flatnonzero(column >= 0)  # in A_t a target always covers its own start
            targets = (on, column[on])
            ranks[at_t] = rank_by_chunks(ending.learner, t, users, candidates, event_user,
                                         targets, targets, ending.score_budget)
        return Outcome(ranks, events.user, events.start.astype(np.int32), events.repeat)
