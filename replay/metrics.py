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


def summarise(ranks: np.ndarray) -> dict[str, float]:
    """n and every metric of :data:`EVENT_METRICS` over a set of ranks."""
    out: dict[str, float] = {"n": int(len(ranks))}
    if len(ranks) == 0:
        return out | {name: float("nan") for name in EVENT_METRICS}
    return out | {name: float(np.mean(value)) for name, value in event_value_rows(ranks)}
