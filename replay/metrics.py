"""Metrics of a set of ranks (``docs/protocols.md`` (Ranks and metrics); ranks come from
:mod:`livereplay.ranking`): ``hr@k`` = share with rank < k, ``ndcg@k`` = mean of
1/log2(rank+2) over ranks < k, ``mrr`` = mean of 1/(rank+1); a miss (rank inf) counts 0.
``coverage`` = share of events whose target is among the candidates (finite rank).

Every metric is the mean of a per-event value (:func:`event_values`), so point estimates
(:func:`summarise`) and bootstrap intervals (:mod:`livereplay.intervals`) share one
definition.

>>> ranks = np.array([0.0, 3.0, np.inf])
>>> round(summarise(ranks)["hr@5"], 4), round(summarise(ranks)["mrr"], 4)
(0.6667, 0.4167)
>>> event_values(ranks)[EVENT_METRICS.index("hr@5")], summarise(ranks)["coverage"]
(array([1., 1., 0.]), 0.6666666666666666)
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from .arrays import PART, parts, read_part

CUTOFFS = (1, 5, 10)
METRICS = tuple([f"hr@{k}" for k in CUTOFFS] + [f"ndcg@{k}" for k in CUTOFFS] + ["mrr"])
#: Every reported mean of a per-event value: the ranking metrics first, then ``coverage``.
EVENT_METRICS = (*METRICS, "coverage")


def event_value_rows(ranks: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Each event's value of every metric of :data:`EVENT_METRICS`, one metric at a time:
    ``(name, values)`` with hit at k, NDCG gain at k, reciprocal rank, found; so that a
    summary of many events holds one metric's values at once, not all of them."""
    ranks = np.asarray(ranks, dtype=np.float64)
    for k in CUTOFFS:
        yield f"hr@{k}", (ranks < k).astype(np.float64)
    gain = 1.0 / np.log2(ranks + 2.0)
    for k in CUTOFFS:
        yield f"ndcg@{k}", np.where(ranks < k, gain, 0.0)
    del gain
    yield "mrr", 1.0 / (ranks + 1.0)
    yield "coverage", np.isfinite(ranks).astype(np.float64)


def event_values(ranks: np.ndarray) -> np.ndarray:
    """Each event's value of every metric of :data:`EVENT_METRICS`, shape
    ``(len(EVENT_METRICS), len(ranks))`` (the rows of :func:`event_value_rows`).

    One row per metric keeps each row contiguous, so its mean is summed exactly as a plain
    1-d array's is."""
    values = np.empty((len(EVENT_METRICS), len(ranks)))
    for row, (_, value) in zip(values, event_value_rows(ranks)):
        row[:] = value
    return values


def summarise(ranks: np.ndarray, where: np.ndarray | slice = slice(None)) -> dict[str, float]:
    """n and every metric of :data:`EVENT_METRICS` over the ranks selected by ``where`` (a
    boolean mask, or a slice; all by default).

    The ranks are read :data:`PART` events at a time, so a summary of hundreds of millions
    of events (memory-mapped, :mod:`livereplay.outcomes`) holds one part's values, not a
    full-length array per metric. Each mean is summed in the order numpy sums a whole array
    (pairwise, split where numpy splits it), so it is the same float as ``np.mean`` of that
    metric's values."""
    selected = _Selection(ranks, where)
    out: dict[str, float] = {"n": selected.n}
    if selected.n == 0:
        return out | {name: float("nan") for name in EVENT_METRICS}
    sums = _pairwise_sums(selected, 0, selected.n)
    return out | {name: float(total / selected.n) for name, total in zip(EVENT_METRICS, sums)}


def _pairwise_sums(selected: "_Selection", lo: int, hi: int) -> np.ndarray:
    """The sum of every metric's values over selected events lo..hi-1, added as numpy's
    pairwise summation adds a contiguous array: halves, the first a multiple of 8 long, down
    to parts that numpy sums itself."""
    n = hi - lo
    if n <= PART:
        return np.array([np.add.reduce(values)
                         for _, values in event_value_rows(selected.read(lo, hi))])
    half = n // 2
    half -= half % 8
    return _pairwise_sums(selected, lo, lo + half) + _pairwise_sums(selected, lo + half, hi)


class _Selection:
    """The ranks selected by a mask or a slice, read by position among the selected, a part
    of the underlying array at a time (:func:`livereplay.arrays.read_part`)."""

    def __init__(self, ranks: np.ndarray, where: np.ndarray | slice) -> None:
        self.ranks = ranks
        if isinstance(where, slice):
            self.first, stop, step = where.indices(len(ranks))
            if step != 1:
                raise ValueError("summarise takes a boolean mask or a contiguous slice")
            self.mask = None
            self.n = max(stop - self.first, 0)
        else:
            self.mask = where
            # selected events before each part of the underlying array
            self.before = np.cumsum([0] + [np.count_nonzero(part) for part in parts(where, PART)])
            self.n = int(self.before[-1])

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Selected ranks lo..hi-1 as float64."""
        if self.mask is None:
            part = read_part(self.ranks, self.first + lo, self.first + hi)
            return np.asarray(part, dtype=np.float64)
        first = int(np.searchsorted(self.before, lo, "right")) - 1
        last = int(np.searchsorted(self.before, hi, "left"))
        rows = slice(first * PART, last * PART)
        part = read_part(self.ranks, rows.start, min(rows.stop, len(self.ranks)))
        chosen = part[read_part(self.mask, rows.start, rows.start + len(part))]
        offset = lo - int(self.before[first])
        return np.asarray(chosen[offset:offset + hi - lo], dtype=np.float64)
