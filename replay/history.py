"""What has been revealed so far, and nothing more.

The engine appends each step to a :class:`History` as it reveals it, so a learner that holds
one can only ever reach the past: its buffers are filled step by step (a row's ``stop`` is
written only when the row ends) and hold no reference to the log they come from.
"""
from __future__ import annotations

import numpy as np

from .arrays import distinct, expand_ranges, pair_keys, positions, split_pair_keys, user_ranges


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class _Column:
    """An append-only array that doubles its capacity: amortised O(1) appends. Capacity not
    yet filled is zeros from calloc, which takes no memory until written."""

    def __init__(self, dtype: type) -> None:
        self._data = np.zeros(1024, dtype)
        self.size = 0

    def reserve(self, size: int) -> None:
        """Make the column ``size`` long (new entries 0)."""
        if size > len(self._data):
            grown = np.zeros(max(size, 2 * len(self._data)), self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self.size = max(self.size, size)

    def append(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        self.reserve(end)
        self._data[end - len(values): end] = values

    @property
    def data(self) -> np.ndarray:
        return self._data[: self.size]

    def __getstate__(self) -> dict:
        """For checkpoints: the filled part only, and the capacity to restore."""
        return {"data": self.data, "capacity": len(self._data)}

    def __setstate__(self, state: dict) -> None:
        self.size = len(state["data"])
        self._data = np.zeros(state["capacity"], state["data"].dtype)
        self._data[: self.size] = state["data"]


RUN_RATIO = 2  # a run is merged into the one before it once at least 1/RUN_RATIO of its size
SMALL_RUN = 1 << 16  # ... or while that one is smaller than this: few runs to search


class _Run:
    """One sorted run of the table: distinct pair keys with their counts and last starts.
    A run with at least as many keys as users keeps, once asked, the position of each
    user's first key (an array no larger than the run's), so the pairs of a block of users
    are found in O(1) each rather than by searches among millions of keys."""

    __slots__ = ("keys", "counts", "last", "_first_of_user")

    def __init__(self, keys: np.ndarray, counts: np.ndarray, last: np.ndarray) -> None:
        self.keys, self.counts, self.last = keys, counts, last
        self._first_of_user: np.ndarray | None = None

    def __getstate__(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.keys, self.counts, self.last  # the index is rebuilt when asked for

    def __setstate__(self, state: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        self.__init__(*state)

    def __len__(self) -> int:
        return len(self.keys)

    def of_users(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``users``, position in the run) of every key of each user."""
        n_users = int(self.keys[-1] >> 32) + 1 if len(self.keys) else 0
        if len(self.keys) < max(n_users, SMALL_RUN):
            return user_ranges(self.keys, users)
        if self._first_of_user is None:
            self._first_of_user = np.zeros(n_users + 1, np.int64)
            np.cumsum(np.bincount(self.keys >> 32, minlength=n_users),
                      out=self._first_of_user[1:])
        users = np.minimum(np.asarray(users, np.int64), n_users)
        return expand_ranges(self._first_of_user[users],
                             self._first_of_user[np.minimum(users + 1, n_users)])


class PairTable:
    """Per (user, streamer) pair: number of rows and last start, updated a step at a time.

    Keys ``user << 32 | streamer`` are kept in sorted runs of decreasing size (a
    log-structured merge): a step's pairs become a new run, and a run is merged into the one
    before it once it is at least half its size, so a pair is merged O(log n) times in all,
    never the whole table at a step. A pair may sit in several runs; reads add up its counts
    and take its latest start. Listing all pairs of a block of users is a few vectorised
    searches per run.
    """

    def __init__(self) -> None:
        self._runs: list[_Run] = []

    def __len__(self) -> int:
        """Distinct pairs (merges the runs' keys: O(n))."""
        return len(distinct(np.concatenate([np.empty(0, np.int64)]
                                           + [run.keys for run in self._runs])))

    def add(self, users: np.ndarray, streamers: np.ndarray, step: int | np.ndarray) -> None:
        """Count rows (users[i], streamers[i]) that started at ``step`` (one step for all,
        or each row's own)."""
        if len(users) == 0:
            return
        keys, inverse, counts = distinct(pair_keys(users, streamers), inverse=True, counts=True)
        last = np.full(len(keys), -1, np.int32)
        np.maximum.at(last, inverse, np.broadcast_to(np.asarray(step, np.int32), len(users)))
        self._runs.append(_Run(keys, counts.astype(np.int64), last))
        while len(self._runs) > 1 and (RUN_RATIO * len(self._runs[-1]) >= len(self._runs[-2])
                                       or len(self._runs[-2]) < SMALL_RUN):
            _merge_into(self._runs[-2], self._runs.pop())

    def get(self, users: np.ndarray, streamers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(count, last start) of each pair; (0, -1) for pairs never seen."""
        keys = pair_keys(users, streamers)
        count = np.zeros(len(keys), np.int64)
        last = np.full(len(keys), -1, np.int32)
        for run in self._runs:
            pos = positions(run.keys, keys)
            found = pos >= 0
            count[found] += run.counts[pos[found]]
            last[found] = np.maximum(last[found], run.last[pos[found]])
        return count, last

    def of_users(self, users: np.ndarray, streamers: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every pair of the given users, or only those with one of ``streamers`` (sorted,
        distinct): (index into ``users``, streamer, count, last start), sorted by index, then
        streamer. Restricting here, before the runs' pairs are merged, sorts only those kept."""
        parts = []
        wanted = None if streamers is None else _membership(streamers)
        for run in self._runs:
            owner, pos = run.of_users(users)
            streamer = run.keys[pos] & 0xFFFFFFFF
            if wanted is not None:
                kept = wanted[np.minimum(streamer, len(wanted) - 1)]
                owner, pos, streamer = owner[kept], pos[kept], streamer[kept]
            parts.append((owner, streamer.astype(np.int32), run.counts[pos], run.last[pos]))
        if len(parts) == 1:  # one run (a small table): in order and distinct already
            return parts[0]
        keys = np.concatenate([np.empty(0, np.int64)] + [pair_keys(o, s) for o, s, _, _ in parts])
        counts, last = (np.concatenate([np.empty(0, dtype)] + [p[i] for p in parts])
                        for i, dtype in ((2, np.int64), (3, np.int32)))
        order = np.argsort(keys, kind="stable")
        keys, counts, last = keys[order], counts[order], last[order]
        first = np.flatnonzero(np.r_[len(keys) > 0, keys[1:] != keys[:-1]])
        if len(first) < len(keys):  # a pair in several runs: one record, counts added
            keys, counts, last = (keys[first], np.add.reduceat(counts, first),
                                  np.maximum.reduceat(last, first))
        owner, streamer = split_pair_keys(keys)
        return owner.astype(np.int64), streamer, counts, last


def _membership(streamers: np.ndarray) -> np.ndarray:
    """A mask over streamer ids 0..max(streamers)+1 that is True at ``streamers``; the last
    entry (False) stands for every larger id."""
    wanted = np.zeros(int(streamers.max()) + 2 if len(streamers) else 1, bool)
    wanted[streamers] = True
    return wanted


def _merge_into(older: _Run, newer: _Run) -> None:
    """Merge the run ``newer`` into ``older`` (keys sorted and distinct in both): shared keys
    add their counts and keep the latest start, new keys are inserted in order. The arrays
    are replaced one at a time, so a merge holds one extra array."""
    keys, counts, last = older.keys, older.counts, older.last
    new_keys, new_counts, new_last = newer.keys, newer.counts, newer.last
    at = np.searchsorted(keys, new_keys)
    found = at < len(keys)
    found[found] = keys[at[found]] == new_keys[found]
    counts[at[found]] += new_counts[found]
    last[at[found]] = np.maximum(last[at[found]], new_last[found])
    at, fresh = at[~found], ~found
    del keys, counts, last
    older.keys = np.insert(older.keys, at, new_keys[fresh])
    older.counts = np.insert(older.counts, at, new_counts[fresh])
    older.last = np.insert(older.last, at, new_last[fresh])
    older._first_of_user = None


class History:
    """The revealed past: rows that started so far (stop = -1 while still going on), rows
    per streamer and per user, and per-pair counts. Read-only for learners."""

    def __init__(self) -> None:
        self._user, self._streamer = _Column(np.int32), _Column(np.int32)
        self._start, self._stop = _Column(np.int32), _Column(np.int32)
        self._streamer_rows, self._user_rows = _Column(np.int64), _Column(np.int64)
        self._pairs, self._pairs_rows = PairTable(), 0  # rows counted in the table so far
        self.last_step = -1

    # --- read side (learners) -------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        """Rows revealed so far (started at or before ``last_step``)."""
        return self._user.size

    @property
    def n_users(self) -> int:
        return self._user_rows.size

    @property
    def n_streamers(self) -> int:
        return self._streamer_rows.size

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(user, streamer, start, stop) of every revealed row, in reveal order; stop is -1
        for rows still going on at ``last_step``."""
        return tuple(_read_only(c.data) for c in
                     (self._user, self._streamer, self._start, self._stop))  # type: ignore

    def streamer_rows(self) -> np.ndarray:
        """Number of revealed rows of each known streamer (its popularity so far)."""
        return _read_only(self._streamer_rows.data)

    def user_rows(self) -> np.ndarray:
        """Number of revealed rows of each known user."""
        return _read_only(self._user_rows.data)

    def pair_counts(self, users: np.ndarray,
                    streamers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, last start) of each (user, streamer) pair so far; (0, -1) if never watched."""
        return self._synced_pairs().get(users, streamers)

    def user_pairs(self, users: np.ndarray) -> tuple[np.ndarray, ...]:
        """All streamers each user has watched: (index into ``users``, streamer, rows,
        last start)."""
        return self._synced_pairs().of_users(users)

    def _synced_pairs(self) -> PairTable:
        """The pair table, brought up to date with the rows revealed since it was last asked
        for: a replay whose learner never asks (``pop``) never builds it."""
        if self._pairs_rows < self.n_rows:
            rows = slice(self._pairs_rows, self.n_rows)
            self._pairs.add(self._user.data[rows], self._streamer.data[rows],
                            self._start.data[rows])
            self._pairs_rows = self.n_rows
        return self._pairs

    # --- write side (engine only) ---------------------------------------------------------
    def _reveal(self, step: int, users: np.ndarray, streamers: np.ndarray,
                ended_rows: np.ndarray, n_users: int, n_streamers: int) -> None:
        """Append the rows starting at ``step`` and close the rows ending at it."""
        self._user.append(users)
        self._streamer.append(streamers)
        self._start.append(np.full(len(users), step, np.int32))
        self._stop.append(np.full(len(users), -1, np.int32))
        self._stop.data[ended_rows] = step
        self._user_rows.reserve(n_users)
        self._streamer_rows.reserve(n_streamers)
        np.add.at(self._user_rows.data, users, 1)
        np.add.at(self._streamer_rows.data, streamers, 1)
        self.last_step = step
