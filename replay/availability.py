"""The availability indexes: A_t, the streamers live at each step, with their viewer counts;
and broadcast spans, the leak-free candidates of availability ``span``.

A streamer is available at step t when at least one row covers t (``start <= t < stop``).
The index is built for every step at once by expanding rows into (step, streamer, user)
triples and sorting them once: the cost of a sort, never a scan of the rows per step (the
seed notebook's per-step filter was estimated at 95 hours on the 100k file).

>>> index = Availability.build(user=np.array([0, 1, 1]), streamer=np.array([0, 0, 1]),
...                            start=np.array([0, 1, 2]), stop=np.array([2, 3, 3]))
>>> index.at(1), index.viewers_at(1), index.at(2), index.sizes()
(array([0], dtype=int32), array([2], dtype=int32), array([0, 1], dtype=int32), array([1, 1, 2]))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import distinct, expand_ranges, pair_keys, positions, split_pair_keys

NEVER = np.iinfo(np.int32).max  # the start of a broadcast no other user is seen to begin


@dataclass(frozen=True, eq=False)
class Availability:
    """CSR layout: step t's live streamers are ``streamers[offsets[t]:offsets[t+1]]`` (sorted),
    with ``viewers`` (distinct users watching at t) aligned to them."""

    offsets: np.ndarray
    streamers: np.ndarray
    viewers: np.ndarray

    @classmethod
    def build(cls, *, user: np.ndarray, streamer: np.ndarray, start: np.ndarray,
              stop: np.ndarray) -> "Availability":
        """The index of the rows (user, streamer, start, stop), dense ids, for steps
        0 .. max(stop)-1."""
        rows, steps = expand_ranges(start, stop)
        n_users = np.int64(user.max(initial=-1) + 1)
        n_streamers = np.int64(streamer.max(initial=-1) + 1)
        n_steps = int(stop.max(initial=0))
        keys = (steps * n_streamers + streamer[rows]) * n_users + user[rows]
        del rows, steps
        keys = distinct(keys)  # one sort: distinct (step, streamer, user)
        keys //= n_users  # (step, streamer), still sorted
        first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        viewers = np.diff(np.r_[first, len(keys)]).astype(np.int32)
        pairs = keys[first]
        steps_of_pairs = pairs // n_streamers
        offsets = np.searchsorted(steps_of_pairs, np.arange(n_steps + 1))
        return cls(offsets=offsets.astype(np.int64),
                   streamers=(pairs % n_streamers).astype(np.int32), viewers=viewers)

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
    is used, so u's own rows never make a channel a candidate for u. Only the user holding
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
              start: np.ndarray, stop: np.ndarray) -> "Spans":
        """The index of the rows (user, stream, streamer, start, stop), dense ids, for steps
        0 .. max(stop)-1."""
        n_streams = np.int64(stream.max(initial=-1) + 1)
        key = streamer.astype(np.int64) * n_streams + stream
        order = np.argsort(key)
        first = _firsts(key[order])
        broadcast = np.cumsum(first) - 1  # of each row in ``order``
        bounds = np.flatnonzero(first)
        users = user[order]
        first_start, first_user, other_start = _extremes(
            np.minimum, start[order], users, broadcast, bounds, NEVER)
        last_stop, last_user, other_stop = _extremes(
            np.maximum, stop[order], users, broadcast, bounds, 0)
        n_broadcasts = np.int64(len(bounds))
        owner, steps = expand_ranges(first_start, last_stop)
        cells = np.sort(steps * n_broadcasts + owner)  # (step, broadcast)
        del owner, steps
        offsets = np.searchsorted(cells, np.arange(int(stop.max(initial=0)) + 1) * n_broadcasts)
        return cls(streamer=streamer[order][bounds].astype(np.int32), first_start=first_start,
                   first_user=first_user, other_start=other_start, last_stop=last_stop,
                   last_user=last_user, other_stop=other_stop, offsets=offsets.astype(np.int64),
                   broadcasts=(cells % n_broadcasts).astype(np.int32))

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


def _extremes(ufunc: np.ufunc, values: np.ndarray, users: np.ndarray, group: np.ndarray,
              bounds: np.ndarray, none: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group of consecutive rows (``group`` of each row, ``bounds`` its first rows), with
    ``ufunc`` np.minimum or np.maximum: the extreme value, a user holding it, and the extreme
    value among the rows of the other users (``none`` where there are none)."""
    best = ufunc.reduceat(values, bounds)
    holding = np.flatnonzero(values == best[group])
    holder = users[holding[_firsts(group[holding])]]  # the first row holding the extreme
    other = ufunc.reduceat(np.where(users != holder[group], values, none), bounds)
    return best.astype(np.int32), holder.astype(np.int32), other.astype(np.int32)


def _firsts(sorted_values: np.ndarray) -> np.ndarray:
    """Mask of the first element of each run of equal values."""
    first = np.ones(len(sorted_values), dtype=bool)
    first[1:] = sorted_values[1:] != sorted_values[:-1]
    return first
