"""The availability indexes: A_t, the streamers live at each step (:class:`LiveIndex`), with their viewer counts;
and broadcast spans, the leak-free candidates of availability ``span``.

A streamer is available at step t when at least one row covers t (``start <= t < stop``).
The index is built for every step at once by expanding rows into (step, streamer, user)
triples and sorting them once: the cost of a sort, never a scan of the rows per step (the
seed notebook's per-step filter was estimated at 95 hours on the 100k file).

>>> index = LiveIndex.build(user=np.array([0, 1, 1]), streamer=np.array([0, 0, 1]),
...                         start=np.array([0, 1, 2]), stop=np.array([2, 3, 3]))
>>> index.at(1), index.viewers_at(1), index.at(2), index.sizes()
(array([0], dtype=int32), array([2], dtype=int32), array([0, 1], dtype=int32), array([1, 1, 2]))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .arrays import distinct, expand_ranges, pair_keys, positions, split_pair_keys

NEVER = np.iinfo(np.int32).max  # the start of a broadcast no other user is seen to begin
WINDOW_STEPS = 144  # steps expanded at a time when building an index (a day)
ROWS_AT_ONCE = 1 << 23  # rows read at a time when building the span index


@dataclass(frozen=True, eq=False)
class LiveIndex:
    """CSR layout: step t's live streamers are ``streamers[offsets[t]:offsets[t+1]]`` (sorted),
    with ``viewers`` (distinct users watching at t) aligned to them."""

    offsets: np.ndarray
    streamers: np.ndarray
    viewers: np.ndarray

    @classmethod
    def build(cls, *, user: np.ndarray, streamer: np.ndarray, start: np.ndarray,
              stop: np.ndarray, window: int = WINDOW_STEPS) -> "LiveIndex":
        """The index of the rows (user, streamer, start, stop), dense ids, for steps
        0 .. max(stop)-1, built ``window`` steps at a time (memory follows a window's rows)."""
        if np.any(start[1:] < start[:-1]):  # a log's rows come sorted by start
            order = np.argsort(start, kind="stable")
            user, streamer, start, stop = user[order], streamer[order], start[order], stop[order]
        n_users = np.int64(user.max(initial=-1) + 1)
        n_streamers = np.int64(streamer.max(initial=-1) + 1)
        streamers, viewers, counts = [], [], []
        for first_step, last_step, rows, steps in _windows(start, stop, window):
            keys = (steps * n_streamers + streamer[rows]) * n_users + user[rows]
            del rows, steps
            keys = distinct(keys)  # distinct (step, streamer, user), sorted
            keys //= n_users  # (step, streamer), still sorted
            first = np.flatnonzero(np.r_[len(keys) > 0, keys[1:] != keys[:-1]])
            viewers.append(np.diff(np.r_[first, len(keys)]).astype(np.int32))
            pairs = keys[first]
            streamers.append((pairs % n_streamers).astype(np.int32))
            counts.append(np.bincount(pairs // n_streamers - first_step,
                                      minlength=last_step - first_step))
        return cls(offsets=np.r_[0, np.cumsum(np.concatenate(counts or [[]]), dtype=np.int64)],
                   streamers=np.concatenate(streamers or [np.empty(0, np.int32)]),
                   viewers=np.concatenate(viewers or [np.empty(0, np.int32)]))

    @property
    def n_steps(self) -> int:
        return len(self.offsets) - 1

    def at(self, step: int) -> np.ndarray:
        """A_t as a sorted array of streamer ids (a fresh copy)."""
        return self.streamers[self.offsets[step]:self.offsets[step + 1]].copy()

    def viewers_at(self, step: int) -> np.ndarray:
        """Distinct viewers of each streamer of :meth:`at` (same order)."""
        return self.viewers[self.offsets[step]:self.offsets[step + 1]].copy()

    def sizes(self) -> np.ndarray:
        """|A_t| for every step t."""
        return np.diff(self.offsets)


@dataclass(frozen=True, eq=False)
class Spans:
    """Broadcast spans, for the candidates of availability ``span``.

    A broadcast is a (streamer, stream) pair; broadcast ids are ordered by (streamer, stream).
    For user u, broadcast b is on at step t when rows of *other* users show it begun and going
    on: ``min(start) <= t < max(stop)`` over the rows of b of users other than u. No row of u
    is used, so u's own rows never make a streamer a candidate for u. Only the user holding
    b's earliest start (or latest stop) can see a shorter span than everyone's, so per
    broadcast the index keeps the earliest start, its user and the earliest start among the
    other users' rows (``NEVER`` if none), and likewise the latest stop (0 if none). Steps
    are a CSR: ``broadcasts[offsets[t]:offsets[t+1]]`` are the broadcasts whose span over all
    users covers t, sorted. Building it costs a sort of the rows and one of the (step,
    broadcast) cells, never a per-user table.

    A span is read from rows on both sides of t: a broadcast in a gap between its viewers is
    on through another user's row that starts after t. That is what ``span`` adds to
    ``others`` (from the rows begun by t alone they agree), and why a log cut before that
    row shows fewer candidates just before the cut.

    Below, no row covers step 4 (a gap between viewers), yet for user 0 broadcast 0 is on
    there (users 1 and 2 show it from 1 to 7); for user 2, who alone watched it after step 3,
    it is not: the pair (user 2, column 0) is excluded.

    >>> spans = Spans.build(user=np.array([0, 1, 2, 0]), stream=np.array([0, 0, 0, 1]),
    ...                     streamer=np.array([0, 0, 0, 1]), start=np.array([0, 1, 5, 2]),
    ...                     stop=np.array([2, 3, 7, 4]))
    >>> [spans.first_start.tolist(), spans.first_user.tolist(), spans.other_start.tolist()]
    [[0, 2], [0, 0], [1, 2147483647]]
    >>> [spans.last_stop.tolist(), spans.last_user.tolist(), spans.other_stop.tolist()]
    [[7, 4], [2, 0], [3, 0]]
    >>> spans.at(4).tolist(), [a.tolist() for a in spans.candidates(4, np.array([0, 2]))]
    ([0], [[0], [2], [0]])
    """

    streamer: np.ndarray
    first_start: np.ndarray
    first_user: np.ndarray
    other_start: np.ndarray
    last_stop: np.ndarray
    last_user: np.ndarray
    other_stop: np.ndarray
    offsets: np.ndarray
    broadcasts: np.ndarray

    @classmethod
    def build(cls, *, user: np.ndarray, stream: np.ndarray, streamer: np.ndarray,
              start: np.ndarray, stop: np.ndarray, window: int = WINDOW_STEPS,
              rows_at_once: int = ROWS_AT_ONCE) -> "Spans":
        """The index of the rows (user, stream, streamer, start, stop), dense ids, for steps
        0 .. max(stop)-1. Per-broadcast extremes are gathered ``rows_at_once`` rows at a time
        and the step CSR ``window`` steps at a time, so memory follows the broadcasts, not
        the rows. Where several users hold a broadcast's extreme, the holder is the smallest
        user id (the others' extreme is then the same value)."""
        chunks = [slice(i, i + rows_at_once) for i in range(0, len(user), rows_at_once)]
        keys = distinct(np.concatenate(
            [distinct(pair_keys(streamer[c], stream[c])) for c in chunks] or [[]]).astype(np.int64))
        n_broadcasts = len(keys)
        streams = split_pair_keys(keys)[1]
        of_stream = None  # where every stream has one streamer, a table maps stream -> broadcast
        if len(distinct(streams)) == n_broadcasts:
            of_stream = np.zeros(int(streams.max(initial=-1)) + 1, np.int64)
            of_stream[streams] = np.arange(n_broadcasts)

        def broadcast(c: slice) -> np.ndarray:
            if of_stream is not None:
                return of_stream[stream[c]]
            return positions(keys, pair_keys(streamer[c], stream[c]))

        first_start = np.full(n_broadcasts, NEVER, np.int32)
        last_stop = np.zeros(n_broadcasts, np.int32)
        for c in chunks:
            b = broadcast(c)
            np.minimum.at(first_start, b, start[c])
            np.maximum.at(last_stop, b, stop[c])
        first_user = np.full(n_broadcasts, NEVER, np.int32)
        last_user = np.full(n_broadcasts, NEVER, np.int32)
        for c in chunks:
            b = broadcast(c)
            for extreme, holder, values in ((first_start, first_user, start[c]),
                                            (last_stop, last_user, stop[c])):
                holding = values == extreme[b]
                np.minimum.at(holder, b[holding], user[c][holding])
        other_start = np.full(n_broadcasts, NEVER, np.int32)
        other_stop = np.zeros(n_broadcasts, np.int32)
        for c in chunks:
            b = broadcast(c)
            others = user[c] != first_user[b]
            np.minimum.at(other_start, b[others], start[c][others])
            others = user[c] != last_user[b]
            np.maximum.at(other_stop, b[others], stop[c][others])
        offsets, broadcasts = step_index(first_start, last_stop, np.arange(n_broadcasts),
                                         n_broadcasts, window)
        return cls(streamer=split_pair_keys(keys)[0], first_start=first_start,
                   first_user=first_user, other_start=other_start, last_stop=last_stop,
                   last_user=last_user, other_stop=other_stop, offsets=offsets,
                   broadcasts=broadcasts)

    @property
    def n_steps(self) -> int:
        return len(self.offsets) - 1

    def at(self, step: int) -> np.ndarray:
        """The streamers of the broadcasts whose span over all users covers ``step``, sorted."""
        return distinct(self.streamer[self.broadcasts[self.offsets[step]:self.offsets[step + 1]]])

    def candidates(self, step: int,
                   users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidates of ``users`` (sorted distinct ids) at ``step``: ``(streamers,
        excluded_user, excluded_column)``. ``streamers`` (sorted) is the union of the users'
        candidates; each pair says ``streamers[column]`` is not a candidate for that user, as
        none of the streamer's broadcasts on at the step has a span covering it for that user.
        """
        on = self.broadcasts[self.offsets[step]:self.offsets[step + 1]]
        live, n_broadcasts = distinct(self.streamer[on], counts=True)
        # (user, broadcast) whose span for that user misses the step: only holders lose it
        early, late = self.other_start[on] > step, self.other_stop[on] <= step
        holder = np.concatenate([self.first_user[on][early], self.last_user[on][late]])
        lost = np.concatenate([on[early], on[late]])
        asked = positions(users, holder) >= 0
        holder, lost = split_pair_keys(distinct(pair_keys(holder[asked], lost[asked])))
        pairs, n_lost = distinct(pair_keys(holder, self.streamer[lost]), counts=True)
        holder, streamer = split_pair_keys(pairs)
        gone = n_lost == n_broadcasts[positions(live, streamer)]  # every broadcast lost
        holder, streamer = holder[gone], streamer[gone]
        excluded, n_excluding = distinct(streamer, counts=True)
        streamers = live[positions(excluded[n_excluding == len(users)], live) < 0]
        column = positions(streamers, streamer)
        kept = column >= 0
        return streamers, holder[kept], column[kept]


def step_index(lo: np.ndarray, hi: np.ndarray, values: np.ndarray, n_values: int,
               window: int = WINDOW_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """A CSR of steps 0 .. max(hi)-1: step t holds the distinct ``values[i]`` (ints below
    ``n_values``) of every item i with ``lo[i] <= t < hi[i]``, sorted, in
    ``values[offsets[t]:offsets[t+1]]``. Built ``window`` steps at a time, so memory follows
    the items on during a window.

    >>> step_index(np.array([0, 1, 1]), np.array([2, 3, 2]), np.array([4, 4, 1]), 5)
    (array([0, 1, 3, 4]), array([4, 1, 4, 4], dtype=int32))
    """
    by_start = np.argsort(lo, kind="stable")
    values, n_values = np.asarray(values, np.int64)[by_start], np.int64(n_values)
    cells, counts = [], []
    for first_step, last_step, on, steps in _windows(lo[by_start], hi[by_start], window):
        cell = distinct(steps * n_values + values[on])  # (step, value), sorted
        cells.append((cell % n_values).astype(np.int32))
        counts.append(np.bincount(cell // n_values - first_step,
                                  minlength=last_step - first_step))
    return (np.r_[0, np.cumsum(np.concatenate(counts or [[]]), dtype=np.int64)],
            np.concatenate(cells or [np.empty(0, np.int32)]))


def _windows(lo: np.ndarray, hi: np.ndarray,
             window: int) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """For consecutive windows ``[a, b)`` of ``window`` steps up to ``max(hi)``: ``(a, b,
    items, steps)``, every (item, step) with ``lo[item] <= step < hi[item]`` and ``a <= step
    < b``. ``lo`` must be sorted; items running past a window are carried into the next, so
    each window expands only the items on during it."""
    n_steps = int(hi.max(initial=0))
    carried = np.empty(0, np.int64)
    for a in range(0, n_steps, window):
        b = min(a + window, n_steps)
        begun = np.arange(np.searchsorted(lo, a), np.searchsorted(lo, b), dtype=np.int64)
        items = np.concatenate([carried, begun])
        owner, steps = expand_ranges(np.maximum(lo[items], a), np.minimum(hi[items], b))
        yield a, b, items[owner], steps
        carried = items[hi[items] > b]
