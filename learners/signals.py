"""Live signals a platform has at the last revealed step, kept by learners as NumPy state.

:class:`RecentStreamers` holds each user's last few session starts (for the transition and
sequence learners); :class:`LiveSignals` holds per (user, streamer) counts and last starts,
who watches what right now, and each streamer's popularity (for repeat-aware features).
Both are updated once per step, vectorised, from what the step reveals, and are read
before the step is applied when a learner trains on it, so training sees exactly what
scoring saw.

Per-pair signals are sparse: a block of users x candidates is described by the pairs the
user has watched (:class:`PairSignals`), every other pair being "never watched", so their
cost grows with the users' histories, not with the size of the block.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from livereplay.arrays import distinct, pair_keys, positions
from livereplay.contract import Step, grow, known
from livereplay.history import PairTable


class RecentStreamers:
    """Each user's last ``length`` started streamers and their start steps, oldest first,
    padded with -1 on the left.

    >>> recent = RecentStreamers(3)
    >>> recent.push(np.array([0, 0, 1]), np.array([7, 8, 9]), 5)
    >>> recent.of(np.array([0, 2]))[0]
    array([[-1,  7,  8],
           [-1, -1, -1]], dtype=int32)
    """

    def __init__(self, length: int) -> None:
        self.length = length
        self.streamers = np.full((0, length), -1, np.int32)
        self.starts = np.full((0, length), -1, np.int32)

    def push(self, users: np.ndarray, streamers: np.ndarray, t: int) -> None:
        """Append the rows started at ``t`` (in the given order) to their users' windows."""
        if len(users) == 0:
            return
        size = int(users.max()) + 1
        self.streamers = grow(self.streamers, size, fill=-1)
        self.starts = grow(self.starts, size, fill=-1)
        order = np.argsort(users, kind="stable")
        users, streamers = users[order], streamers[order]
        first = np.searchsorted(users, users, "left")
        rank = np.arange(len(users)) - first  # position of the row among its user's rows
        for r in range(int(rank.max()) + 1):
            at = rank == r
            who = users[at]
            self.streamers[who, :-1] = self.streamers[who, 1:]
            self.starts[who, :-1] = self.starts[who, 1:]
            self.streamers[who, -1] = streamers[at]
            self.starts[who, -1] = t

    def of(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(streamers, start steps) of ``users``, shape (len(users), length); -1 = none."""
        users = np.asarray(users)
        seen = users < len(self.streamers)
        streamers = np.full((len(users), self.length), -1, np.int32)
        starts = np.full((len(users), self.length), -1, np.int32)
        streamers[seen] = self.streamers[users[seen]]
        starts[seen] = self.starts[users[seen]]
        return streamers, starts


class PairSignals(NamedTuple):
    """The pairs of a block of users x candidates that the user has watched, as of the last
    applied step (every other pair: never watched, not watching now).

    row, col -- index into the users and into the candidates, sorted by (row, col)
    count    -- the user's rows of the candidate so far (>= 1)
    gap      -- steps from the user's last start of it to the scored step
    now      -- whether the user is watching it at the last applied step
    """

    row: np.ndarray
    col: np.ndarray
    count: np.ndarray
    gap: np.ndarray
    now: np.ndarray


class LiveSignals:
    """What a platform knows after the last step it applied: per-pair row counts and last
    starts, who is watching what, how many watch each streamer, how many rows each streamer
    has had, and for how many steps each streamer has been live."""

    def __init__(self) -> None:
        self.pairs = PairTable()
        self.t = -1
        self.watching = np.empty(0, np.int64)  # sorted user<<32|streamer keys at step t
        self.viewers = np.zeros(0)  # watching rows per streamer at step t
        self.rows = np.zeros(0)  # rows started so far per streamer
        self.live_since = np.zeros(0, np.int64)  # first step of the current live spell, or -1
        self._last_query: tuple[int, np.ndarray, np.ndarray, PairSignals] | None = None

    def apply(self, step: Step) -> None:
        """Take step ``step.t`` into account."""
        started, watching = step.started, step.watching
        self.pairs.add(started.user, started.streamer, step.t)
        self.watching = distinct(pair_keys(watching.user, watching.streamer))
        self.viewers = np.bincount(watching.streamer, minlength=step.n_streamers).astype(float)
        self.rows = grow(self.rows, step.n_streamers)
        np.add.at(self.rows, started.streamer, 1.0)
        since = grow(self.live_since, step.n_streamers, fill=-1)
        live = np.zeros(len(since), bool)
        live[step.available] = True
        since[~live] = -1
        since[live & (since < 0)] = step.t
        self.live_since = since
        self.t = step.t
        self._last_query = None

    def pair_signals(self, users: np.ndarray, candidates: np.ndarray, t: int) -> PairSignals:
        """The watched pairs of ``users`` x ``candidates`` (sorted, distinct, as every block
        is) for step ``t`` (after the last applied step). A pair watched now has been
        counted, so it is among them.

        The last answer is kept until the next step is applied: a blend and the model it
        holds, sharing these signals, ask for the same block one after the other."""
        last_query = self._last_query
        if (last_query is not None and last_query[0] == t
                and np.array_equal(last_query[1], users)
                and np.array_equal(last_query[2], candidates)):
            return last_query[3]
        # sorted by user, then streamer, hence by column: candidates are sorted
        row, streamer, counts, last = self.pairs.of_users(users, candidates)
        keys = pair_keys(np.asarray(users)[row], streamer)
        signals = PairSignals(row, positions(candidates, streamer), counts.astype(np.float64),
                              (t - last).astype(np.float64), positions(self.watching, keys) >= 0)
        self._last_query = (t, np.array(users), np.array(candidates), signals)
        return signals

    def active(self, users: np.ndarray) -> np.ndarray:
        """Whether each user is watching something at the last applied step."""
        users = np.asarray(users, np.int64)
        return (np.searchsorted(self.watching, (users + 1) << 32)
                > np.searchsorted(self.watching, users << 32))

    def channel_signals(self, candidates: np.ndarray, t: int) -> dict[str, np.ndarray]:
        """Signals of each candidate for step ``t``: ``rows`` (its rows so far), ``viewers``
        (its viewers at the last applied step), ``live_steps`` (steps from the start of its
        current live spell to ``t``; 0 if it was not live at the last applied step)."""
        since = known(self.live_since, candidates, fill=-1)
        return {"rows": known(self.rows, candidates), "viewers": known(self.viewers, candidates),
                "live_steps": np.where(since >= 0, t - since, 0.0)}


def softmax_block(available: np.ndarray, targets: np.ndarray, max_candidates: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The candidates of one step's training softmax and the column of each target.

    All of ``available`` when it has at most ``max_candidates`` streamers; otherwise the
    targets plus a uniform sample of the other available streamers, ``max_candidates`` in
    all (uniform sampling needs no correction of the logits).
    """
    if len(available) > max_candidates:
        others = np.setdiff1d(available, targets)
        keep = max(0, max_candidates - (len(available) - len(others)))
        sampled = rng.choice(others, size=min(keep, len(others)), replace=False)
        available = np.union1d(targets, sampled)
    return available, positions(available, targets).astype(np.int32)


def sampled_block(available: np.ndarray, targets: np.ndarray, size: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sampled softmax's block for a step whose targets alone outnumber ``size``: the
    candidates (every target and ``size`` available streamers drawn uniformly), the column
    of each target and the columns of the drawn ones, the negatives every session shares
    (a session's own target among them is masked by the loss). Its cost is sessions x
    ``size`` however many streamers the step's sessions start.

    >>> candidates, target, negatives = sampled_block(np.arange(10), np.array([7, 8, 9]), 2,
    ...                                               np.random.default_rng(0))
    >>> len(negatives), bool(np.all(candidates[target] == [7, 8, 9]))
    (2, True)
    """
    drawn = rng.choice(available, size=min(size, len(available)), replace=False)
    candidates = np.union1d(targets, drawn)
    return (candidates, positions(candidates, targets).astype(np.int32),
            positions(candidates, np.sort(drawn)).astype(np.int32))
