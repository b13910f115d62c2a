"""Pessimistic ranks and the metrics computed from them (DESIGN.md § Protocols and metrics).

Ranks are zero-based and pessimistic on ties: a target's rank is the number of other
candidates scoring greater than **or equal to** it. A target missing from the candidates
has rank infinity (a miss).

>>> ranks = np.array([0.0, 3.0, np.inf])
>>> round(summarise(ranks)["hr@5"], 4), round(summarise(ranks)["mrr"], 4)
(0.6667, 0.4167)
"""
from __future__ import annotations

import numpy as np

from .arrays import distinct

CUTOFFS = (1, 5, 10)
METRICS = tuple([f"hr@{k}" for k in CUTOFFS] + [f"ndcg@{k}" for k in CUTOFFS] + ["mrr"])


def rank_events(scores: np.ndarray, event_rows: np.ndarray,
                targets: tuple[np.ndarray, np.ndarray],
                uncounted: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Pessimistic rank of each event's best-scored target among its counted candidates.

    scores     -- (n, C) scores, or (1, C) when shared by every event
    event_rows -- the row of ``scores`` of each event (length E)
    targets    -- (event, column) pairs; an event's reference score is the best of its
                  targets' scores, and an event with no target is a miss (rank inf)
    uncounted  -- (event, column) pairs not counted against the event: its targets and
                  any candidates excluded for it (pairs may repeat)

    rank[e] = #{c : s[e, c] >= ref[e]} - #{c uncounted for e : s[e, c] >= ref[e]}
    """
    n_events, n_candidates = len(event_rows), scores.shape[1]
    shared = scores.shape[0] == 1

    def score_of(events: np.ndarray, columns: np.ndarray) -> np.ndarray:
        return scores[0 if shared else event_rows[events], columns]

    target_event, target_col = targets
    reference = np.full(n_events, -np.inf)
    np.maximum.at(reference, target_event, score_of(target_event, target_col))
    if shared:
        ordered = np.sort(scores[0])
        at_least = n_candidates - np.searchsorted(ordered, reference, side="left")
    else:
        at_least = (scores[event_rows] >= reference[:, None]).sum(axis=1)
    keys = distinct(np.asarray(uncounted[0], np.int64) * n_candidates + uncounted[1])
    events, columns = keys // n_candidates, keys % n_candidates
    not_counted = np.bincount(events, weights=score_of(events, columns) >= reference[events],
                              minlength=n_events)
    ranks = (at_least - not_counted).astype(np.float64)
    has_target = np.zeros(n_events, dtype=bool)
    has_target[target_event] = True
    ranks[~has_target] = np.inf
    return ranks


def summarise(ranks: np.ndarray) -> dict[str, float]:
    """n and every metric of :data:`METRICS` over a set of ranks."""
    ranks = np.asarray(ranks, dtype=np.float64)
    out: dict[str, float] = {"n": int(len(ranks))}
    if len(ranks) == 0:
        return out | {name: float("nan") for name in METRICS}
    gain = 1.0 / np.log2(ranks + 2.0)
    for k in CUTOFFS:
        out[f"hr@{k}"] = float(np.mean(ranks < k))
    for k in CUTOFFS:
        out[f"ndcg@{k}"] = float(np.mean(np.where(ranks < k, gain, 0.0)))
    out["mrr"] = float(np.mean(1.0 / (ranks + 1.0)))
    return out
