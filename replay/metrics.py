"""Metrics of a set of ranks (``docs/design.md`` § Ranks and metrics; ranks come from
:mod:`livereplay.ranking`): ``hr@k`` = share with rank < k, ``ndcg@k`` = mean of
1/log2(rank+2) over ranks < k, ``mrr`` = mean of 1/(rank+1); a miss (rank inf) counts 0.

>>> ranks = np.array([0.0, 3.0, np.inf])
>>> round(summarise(ranks)["hr@5"], 4), round(summarise(ranks)["mrr"], 4)
(0.6667, 0.4167)
"""
from __future__ import annotations

import numpy as np

CUTOFFS = (1, 5, 10)
METRICS = tuple([f"hr@{k}" for k in CUTOFFS] + [f"ndcg@{k}" for k in CUTOFFS] + ["mrr"])


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
