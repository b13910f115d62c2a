"""The availability index: A_t, the streamers live at each step, with their viewer counts.

A streamer is available at step t when at least one row covers t (``start <= t < stop``).
The index is built for every step at once by expanding rows into (step, streamer, user)
triples and sorting them once: the cost of a sort, never a scan of the rows per step (the
seed notebook's per-step filter was estimated at 95 hours on the 100k file).

>>> from replay.data import read_csv, default_data_path
>>> index = Availability.build(read_csv(default_data_path()))
>>> int(index.sizes().max()) > 0
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import distinct, expand_ranges
from .data import Log


@dataclass(frozen=True, eq=False)
class Availability:
    """CSR layout: step t's live streamers are ``streamers[offsets[t]:offsets[t+1]]`` (sorted),
    with ``viewers`` (distinct users watching at t) aligned to them."""

    offsets: np.ndarray
    streamers: np.ndarray
    viewers: np.ndarray

    @classmethod
    def build(cls, log: Log) -> "Availability":
        rows, steps = expand_ranges(log.start, log.stop)
        n_users, n_streamers = np.int64(log.n_users), np.int64(log.n_streamers)
        keys = (steps * n_streamers + log.streamer[rows]) * n_users + log.user[rows]
        del rows, steps
        keys = distinct(keys)  # one sort: distinct (step, streamer, user)
        keys //= n_users  # (step, streamer), still sorted
        first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        viewers = np.diff(np.r_[first, len(keys)]).astype(np.int32)
        pairs = keys[first]
        steps_of_pairs = pairs // n_streamers
        offsets = np.searchsorted(steps_of_pairs, np.arange(log.n_steps + 1))
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
