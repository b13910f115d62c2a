"""What has been revealed so far, and nothing more.

The engine appends each step to a :class:`History` as it reveals it, so a learner that holds
one can only ever reach the past: its buffers are filled step by step (a row's ``stop`` is
written only when the row ends) and hold no reference to the log they come from.
"""
from __future__ import annotations

import math

import numpy as np

from .arrays import distinct, pair_keys, split_pair_keys, user_ranges


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class _Column:
    """An append-only array that doubles its capacity: amortised O(1) appends."""

    def __init__(self, dtype: type, fill: int = 0) -> None:
        self._data = np.full(1024, fill, dtype=dtype)
        self._fill = fill
        self.size = 0

    def reserve(self, size: int) -> None:
        if size > len(self._data):
            grown = np.full(max(size, 2 * len(self._data)), self._fill, dtype=self._data.dtype)
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


class PairTable:
    """Per (user, streamer) pair: number of rows and last start, updated a step at a time.

    Keys ``user << 32 | streamer`` live in a large sorted array plus a small sorted pending
    array (merged into the large one when it outgrows ~sqrt of it), so that updating a step
    and listing all pairs of a block of users are both a few vectorised searches.
    """

    _MIN_PENDING = 16384

    def __init__(self) -> None:
        empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32))
        self._main = empty
        self._pending = empty

    def __len__(self) -> int:
        return len(self._main[0]) + len(self._pending[0])

    @staticmethod
    def _find(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.searchsorted(keys, wanted)
        found = pos < len(keys)
        found[found] = keys[pos[found]] == wanted[found]
        return pos, found

    def add(self, users: np.ndarray, streamers: np.ndarray, step: int) -> None:
        """Count rows (users[i], streamers[i]) that started at ``step``."""
        keys, counts = distinct(pair_keys(users, streamers), counts=True)
        for table in (self._main, self._pending):
            pos, found = self._find(table[0], keys)
            table[1][pos[found]] += counts[found]
            table[2][pos[found]] = step
            keys, counts = keys[~found], counts[~found]
        if len(keys):
            old_keys, old_counts, old_last = self._pending
            at = np.searchsorted(old_keys, keys)
            self._pending = (np.insert(old_keys, at, keys), np.insert(old_counts, at, counts),
                             np.insert(old_last, at, np.int32(step)))
            if len(self._pending[0]) > max(self._MIN_PENDING, 16 * math.isqrt(len(self._main[0]))):
                at = np.searchsorted(self._main[0], self._pending[0])
                self._main = tuple(np.insert(m, at, p) for m, p in zip(self._main, self._pending))
                self._pending = tuple(p[:0] for p in self._pending)

    def get(self, users: np.ndarray, streamers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(count, last start) of each pair; (0, -1) for pairs never seen."""
        keys = pair_keys(users, streamers)
        count = np.zeros(len(keys), np.int64)
        last = np.full(len(keys), -1, np.int32)
        for table in (self._main, self._pending):
            pos, found = self._find(table[0], keys)
            count[found] = table[1][pos[found]]
            last[found] = table[2][pos[found]]
        return count, last

    def of_users(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every pair of the given users: (index into ``users``, streamer, count, last start)."""
        parts = []
        for keys, counts, last in (self._main, self._pending):
            owner, pos = user_ranges(keys, users)
            parts.append((owner, split_pair_keys(keys[pos])[1], counts[pos], last[pos]))
        return tuple(np.concatenate(p) for p in zip(*parts))  # type: ignore[return-value]


class History:
    """The revealed past: rows that started so far (stop = -1 while still going on), rows
    per streamer and per user, and per-pair counts. Read-only for learners."""

    def __init__(self) -> None:
        self._user, self._streamer = _Column(np.int32), _Column(np.int32)
        self._start, self._stop = _Column(np.int32), _Column(np.int32, fill=-1)
        self._streamer_rows, self._user_rows = _Column(np.int64), _Column(np.int64)
        self._pairs = PairTable()
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
        return self._pairs.get(users, streamers)

    def user_pairs(self, users: np.ndarray) -> tuple[np.ndarray, ...]:
        """All streamers each user has watched: (index into ``users``, streamer, rows,
        last start)."""
        return self._pairs.of_users(users)

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
        self._pairs.add(users, streamers, step)
        self.last_step = step
