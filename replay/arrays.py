"""Small vectorised array helpers shared by the engine and the learners."""
from __future__ import annotations

import mmap
from typing import Iterator

import numpy as np


def expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``[lo[i], hi[i])``: (i, value) for every value in them, grouped by i.

    >>> expand_ranges(np.array([3, 0]), np.array([5, 1]))
    (array([0, 0, 1]), array([3, 4, 0]))
    """
    lo = np.asarray(lo, np.int64)
    lengths = np.asarray(hi, np.int64) - lo
    owner = np.repeat(np.arange(len(lo), dtype=np.int64), lengths)
    first = np.cumsum(lengths) - lengths
    return owner, lo[owner] + (np.arange(len(owner), dtype=np.int64) - first[owner])


def pair_keys(users: np.ndarray, streamers: np.ndarray) -> np.ndarray:
    """One int64 key per (user, streamer) pair, ``user << 32 | streamer``: sorted keys are
    grouped by user (see :func:`user_ranges`).

    >>> split_pair_keys(pair_keys(np.array([3]), np.array([7])))
    (array([3], dtype=int32), array([7], dtype=int32))
    """
    return (np.asarray(users, np.int64) << 32) | np.asarray(streamers, np.int64)


def split_pair_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(users, streamers) of pair keys."""
    return (keys >> 32).astype(np.int32), (keys & 0xFFFFFFFF).astype(np.int32)


def user_ranges(keys: np.ndarray, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted pair keys: (index into ``users``, position in ``keys``) of every key of
    each user.

    The users' bounds are searched in increasing order, in one call: each search starts
    where the previous one landed, which among the millions of keys of a large log is
    several times faster than searching in the users' own order.

    >>> user_ranges(pair_keys(np.array([1, 1, 4]), np.array([5, 6, 2])), np.array([4, 2, 1]))
    (array([0, 2, 2]), array([2, 0, 1]))
    """
    users = np.asarray(users, np.int64)
    order = np.argsort(users, kind="stable")
    ordered = users[order]
    bounds = np.empty((len(users), 2), np.int64)
    bounds[order] = np.searchsorted(keys, np.column_stack([ordered << 32, (ordered + 1) << 32])
                                    .ravel()).reshape(-1, 2)
    return expand_ranges(bounds[:, 0], bounds[:, 1])


def distinct(values: np.ndarray, *, inverse: bool = False, counts: bool = False):
    """Sorted distinct values, optionally with the inverse map and the counts: what
    ``np.unique`` returns, with one sort (much faster than ``np.unique`` in recent numpy,
    which hashes, both on large arrays and on the small ones of a replay step).

    >>> distinct(np.array([3, 1, 3, 2]), inverse=True, counts=True)
    (array([1, 2, 3]), array([2, 0, 2, 1]), array([1, 1, 2]))
    """
    values = np.asarray(values)
    order = np.argsort(values, kind="stable") if inverse else None
    ordered = values[order] if inverse else np.sort(values)
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    out = [ordered[first]]
    if inverse:
        out.append(np.empty(len(values), np.int64))
        out[-1][order] = np.cumsum(first) - 1
    if counts:
        out.append(np.diff(np.append(np.flatnonzero(first), len(ordered))))
    return out[0] if len(out) == 1 else tuple(out)


def positions(candidates: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Position of each item in ``candidates`` (sorted, distinct), or -1 where absent.

    >>> positions(np.array([2, 5, 9]), np.array([5, 3, 9, 10]))
    array([ 1, -1,  2, -1])
    """
    if len(candidates) == 0:
        return np.full(len(items), -1, np.int64)
    pos = np.minimum(np.searchsorted(candidates, items), len(candidates) - 1)
    return np.where(candidates[pos] == items, pos, -1)


#: Elements read at a time by scans that go a part at a time (:func:`parts`).
PART = 1 << 20


def parts(array: np.ndarray, size: int = PART) -> Iterator[np.ndarray]:
    """Consecutive parts of a 1-d array, each read by :func:`read_part`."""
    for lo in range(0, len(array), size):
        yield read_part(array, lo, lo + size)


def read_part(array: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """A copy of ``array[lo:hi]`` (1-d). When ``array`` maps a file (the spilled outcomes of
    :mod:`livereplay.outcomes`), the part's pages are then dropped from this process: they
    stay in the system's file cache, so a scan of a file-backed array block by block holds
    one block in resident memory, not the whole file.

    >>> read_part(np.arange(10), 2, 5)
    array([2, 3, 4])
    """
    part = np.array(array[lo:hi])
    mapped = getattr(getattr(array, "base", None), "obj", None)
    if isinstance(mapped, mmap.mmap) and hi > lo and hasattr(mmap, "MADV_DONTNEED"):
        first = lo * array.itemsize // mmap.PAGESIZE * mmap.PAGESIZE
        mapped.madvise(mmap.MADV_DONTNEED, first, hi * array.itemsize - first)
    return part
