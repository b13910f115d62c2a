"""Turning rows, fed in time order, into the :class:`Step` a learner is shown.

The :class:`Revealer` is the one place where rows become visible: the replay engine feeds it
the log's rows step by step, and the simulator feeds it the rows its users generate in
closed loop. It keeps the rows that are going on (with their stops, which it shows to no one
until they happen) and the :class:`History` of everything revealed.

>>> import numpy as np
>>> revealer = Revealer()
>>> step = revealer.reveal(0, np.array([0, 1]), np.array([5, 5]), np.array([2, 1]))
>>> step.available, step.n_users, step.n_streamers
(array([5], dtype=int32), 2, 6)
>>> revealer.reveal(1, np.array([], int), np.array([], int), np.array([], int)).ended.user
array([1], dtype=int32)
"""
from __future__ import annotations

import numpy as np

from .arrays import distinct
from .history import History
from .contract import Rows, Step


class Revealer:
    """Reveals steps in increasing order from the rows starting at each step."""

    def __init__(self) -> None:
        self.history = History()
        self._active_row = np.empty(0, np.int64)
        self._active = Rows(np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int32))
        self._active_stop = np.empty(0, np.int32)
        self._n_users = 0
        self._n_streamers = 0

    def reveal(self, t: int, users: np.ndarray, streamers: np.ndarray,
               stops: np.ndarray) -> Step:
        """Reveal step ``t``: the rows (users, streamers, stops) that start at it.

        Every row must satisfy ``stop > t``; steps must come in increasing order (steps
        with no rows may be skipped only if nothing was going on during them).
        """
        if t <= self.history.last_step:
            raise ValueError(f"step {t} revealed after step {self.history.last_step}")
        users = np.asarray(users, np.int32)
        streamers = np.asarray(streamers, np.int32)
        stops = np.asarray(stops, np.int32)
        if len(stops) and stops.min() <= t:
            raise ValueError(f"a row starting at step {t} must stop after it")
        if len(users):
            self._n_users = max(self._n_users, int(users.max()) + 1)
            self._n_streamers = max(self._n_streamers, int(streamers.max()) + 1)

        ending = self._active_stop <= t
        ended = Rows(*(a[ending] for a in self._active))
        ended_rows = self._active_row[ending]
        going_on = ~ending
        first_row = self.history.n_rows
        new_rows = np.arange(first_row, first_row + len(users), dtype=np.int64)
        self._active_row = np.concatenate([self._active_row[going_on], new_rows])
        self._active = Rows(
            np.concatenate([self._active.user[going_on], users]),
            np.concatenate([self._active.streamer[going_on], streamers]),
            np.concatenate([self._active.start[going_on], np.full(len(users), t, np.int32)]),
        )
        self._active_stop = np.concatenate([self._active_stop[going_on], stops])

        self.history._reveal(t, users, streamers, ended_rows, self._n_users, self._n_streamers)
        return Step(
            t=t,
            available=distinct(self._active.streamer),
            started=Rows(users.copy(), streamers.copy(), np.full(len(users), t, np.int32)),
            watching=Rows(*(a.copy() for a in self._active)),
            ended=ended,
            n_users=self._n_users,
            n_streamers=self._n_streamers,
            history=self.history,
        )
