"""The streamers each user has watched, and how often: what sends a user back to a favourite.

The platform asks, at every step, for all the favourites of the users choosing a streamer and
for the count of the pairs it records. A table of all pairs sorted by key answers with
binary searches over the whole table, a few cache misses per row once it holds the tens of
millions of pairs of the full release; here each user's pairs sit together, so a question
costs the blocks of the users it names and nothing else.

>>> favourites = Favourites(n_users=3)
>>> favourites.add(np.array([2, 0, 2, 2]), np.array([7, 5, 3, 7]))
>>> favourites.of_users(np.array([2, 1, 0]))
(array([0, 0, 2]), array([3, 7, 5]), array([1, 2, 1]))
>>> favourites.counts(np.array([2, 2, 1]), np.array([7, 5, 5]))
array([2, 0, 0])
"""
from __future__ import annotations

import numpy as np

from livereplay.arrays import distinct, expand_ranges, pair_keys, positions

_LOW = 0xFFFFFFFF


def _room(size: np.ndarray) -> np.ndarray:
    """Slots of a block holding ``size`` pairs: the next power of two (0 for no pair)."""
    size = np.asarray(size, np.int64)
    return np.where(size > 0, np.left_shift(1, np.frexp(size - 1)[1].astype(np.int64)), 0)


class Favourites:
    """Rows so far of each (user, streamer) pair, kept per user.

    A user's pairs fill a block of one shared array, sorted by streamer and packed as
    ``streamer << 32 | rows``; the block has room for the next power of two of them. A user
    who outgrows it moves to a new block at the end of the array; the old one is left
    unused, which at most doubles the slots (each move frees half the new block's room).
    Memory is proportional to users and distinct pairs, never to rows.
    """

    def __init__(self, n_users: int) -> None:
        self.offset = np.zeros(n_users, np.int64)
        self.size = np.zeros(n_users, np.int32)
        self.slots = np.zeros(1 << 16, np.int64)
        self.end = 0

    def _blocks(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``users``, slot) of every pair of each user, by index, then streamer."""
        first = self.offset[users]
        return expand_ranges(first, first + self.size[users])

    def of_users(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair of the given users: (index into ``users``, streamer, rows), sorted by
        index, then streamer."""
        owner, slot = self._blocks(users)
        held = self.slots[slot]
        return owner, held >> 32, held & _LOW

    def counts(self, users: np.ndarray, channels: np.ndarray) -> np.ndarray:
        """Rows so far of each pair (users[i], streamers[i]); 0 if never watched."""
        owner, slot = self._blocks(users)
        held = self.slots[slot]
        match = (held >> 32) == np.asarray(channels, np.int64)[owner]
        count = np.zeros(len(users), np.int64)
        count[owner[match]] = held[match] & _LOW
        return count

    def add(self, users: np.ndarray, channels: np.ndarray) -> None:
        """Count a row of each pair (users[i], streamers[i])."""
        keys, rows = distinct(pair_keys(users, channels), counts=True)
        touched = distinct(keys >> 32)
        owner, slot = self._blocks(touched)
        held = (touched[owner] << 32) | (self.slots[slot] >> 32)  # sorted, as keys
        at = positions(held, keys)
        found = at >= 0
        self.slots[slot[at[found]]] += rows[found]
        if not found.all():
            self._insert(keys[~found], rows[~found])

    def _insert(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Add pairs not held yet (sorted keys): each gaining user's block is rewritten with
        its new pairs merged in, in a new block where it no longer fits."""
        users, gained = distinct(keys >> 32, counts=True)
        owner, slot = self._blocks(users)
        packed = np.concatenate([self.slots[slot], ((keys & _LOW) << 32) | rows])
        order = np.argsort(np.concatenate([(users[owner] << 32) | (self.slots[slot] >> 32), keys]),
                           kind="stable")
        size = self.size[users].astype(np.int64)
        moving = _room(size + gained) > _room(size)
        room = _room(size + gained)[moving]
        self.offset[users[moving]] = self.end + np.cumsum(room) - room
        self.end += int(room.sum())
        if self.end > len(self.slots):  # grown in place (realloc), not copied
            self.slots.resize(max(self.end, len(self.slots) * 5 // 4), refcheck=False)
        self.size[users] = size + gained
        self.slots[self._blocks(users)[1]] = packed[order]
