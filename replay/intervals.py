"""95% confidence intervals and paired tests by a bootstrap over users; t-intervals over a
few seeds (:func:`t_interval`, for the simulator's closed loop, where a bootstrap over so few
values would be degenerate).

Events of one user are not independent (a user who repeats, repeats often), so the
bootstrap resamples users, not events: a resample draws U users with replacement from the U
users with events, and its metric is the sum of the drawn users' per-event values over the
sum of their event counts. Intervals are percentile intervals of those resampled metrics.

Vectorised: per-user sums by ``np.bincount``, how often each user is drawn by one
``bincount`` per resample, and a block of resamples' metrics by one integer matrix product
(exact, hence identical bytes in every process); blocks hold at most :data:`BLOCK` draws, so
memory stays bounded whatever the number of resamples. The draws of a single block are
kept for the next intervals over as many users (:func:`times_drawn`).

>>> hits = np.array([[1., 1., 0., 1., 1., 0., 1., 1.]])    # one metric, eight events
>>> users = np.array([7, 7, 3, 3, 5, 5, 9, 9])              # of four users
>>> bootstrap_intervals(hits, users, resamples=1000, seed=0)  # [[low, high]] of hr
array([[0.5, 1. ]])
>>> baseline = np.array([[0., 1., 0., 0., 1., 0., 0., 0.]])
>>> test = paired_test(hits, baseline, users, resamples=1000, seed=0)
>>> test.difference, test.low, test.high, test.p_value, test.significant
(array([0.5]), array([0.125]), array([0.875]), array([0.008]), array([ True]))
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .errors import ReplayError

LEVEL = 0.95
#: Most user draws held at once (int32: 16 MB), whatever the number of users and resamples.
BLOCK = 1 << 22
#: Per-user metric sums are held as integers in units of 2**-32 (exact sums; 2**31 events
#: fit in an int64).
FIXED_POINT = float(1 << 32)
#: 97.5% quantiles of Student's t with 1..30 degrees of freedom (two-sided 95%: LEVEL).
T_QUANTILES = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
               2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074,
               2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


@dataclass(frozen=True)
class PairedTest:
    """A learner minus a baseline on the same events, one entry per metric: the difference of
    the metrics, its 95% bootstrap interval and a two-sided bootstrap p-value."""

    difference: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray

    @property
    def significant(self) -> np.ndarray:
        """The interval excludes 0."""
        return (self.low > 0) | (self.high < 0)


def user_draws(n_users: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks of resamples, one row each: ``n_users`` users drawn with replacement (dense ids
    0..n_users-1, in order of the original ids). Every bootstrap here draws from this, so the
    same seed gives the same resamples."""
    rng = np.random.default_rng(seed)
    rows = max(1, BLOCK // n_users)
    for first in range(0, resamples, rows):
        yield rng.integers(0, n_users, size=(min(rows, resamples - first), n_users),
                           dtype=np.int32)


def times_drawn(n_users: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Blocks of resamples of :func:`user_draws`, each row how often each user was drawn.
    Resamples of one block (at most :data:`BLOCK` draws) are kept for the next call with the
    same arguments: a comparison's every learner, and every paired test, resamples the same
    users the same way."""
    if n_users * resamples <= BLOCK:
        yield _times_drawn_block(n_users, resamples, seed)
        return
    for draws in user_draws(n_users, resamples, seed):
        yield _counts(draws, n_users)


@functools.lru_cache(maxsize=4)
def _times_drawn_block(n_users: int, resamples: int, seed: int) -> np.ndarray:
    (draws,) = user_draws(n_users, resamples, seed)
    counts = _counts(draws, n_users)
    counts.flags.writeable = False
    return counts


def _counts(draws: np.ndarray, n_users: int) -> np.ndarray:
    counts = np.empty(draws.shape, np.int32)
    for i, drawn in enumerate(draws):  # one bincount per resample (not per user)
        counts[i] = np.bincount(drawn, minlength=n_users)
    return counts


def resampled_means(values: np.ndarray, users: np.ndarray, resamples: int,
                    seed: int) -> np.ndarray:
    """Each metric (row of ``values``, one column per event of ``users``) in each resample of
    users: shape ``(resamples, len(values))``; NaN when there are no events."""
    if resamples < 1:
        raise ReplayError(f"the bootstrap needs at least one resample, got {resamples}")
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    users = np.asarray(users)
    if values.shape[1] != len(users):
        raise ReplayError(f"{values.shape[1]} event values for {len(users)} users")
    out = np.full((resamples, len(values)), np.nan)
    if len(users) == 0:
        return out
    seen = np.bincount(users) > 0
    dense = (np.cumsum(seen) - 1)[users]
    n_users = int(seen.sum())
    # per user: the sum of each metric over its events in fixed point, and (last column) its
    # event count; integer sums are exact in any order, so the intervals are the same bytes
    # in every process and on every machine, whatever the BLAS or its threads
    totals = np.column_stack([np.rint(np.bincount(dense, weights=row, minlength=n_users)
                                      * FIXED_POINT) for row in values]
                             + [np.bincount(dense, minlength=n_users)]).astype(np.int64)
    done = 0
    for counts in times_drawn(n_users, resamples, seed):
        sums = counts.astype(np.int64) @ totals
        out[done:done + len(counts)] = sums[:, :-1] / FIXED_POINT / sums[:, -1:]
        done += len(counts)
    return out


def percentile_interval(resampled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) per column: the 2.5% and 97.5% quantiles of the resampled metrics."""
    low, high = np.quantile(resampled, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
    return low, high


def bootstrap_intervals(values: np.ndarray, users: np.ndarray, resamples: int = 1000,
                        seed: int = 0) -> np.ndarray:
    """95% percentile interval of each metric, users resampled: shape ``(len(values), 2)``.

    ``values``: one row per metric, one column per event (:func:`livereplay.metrics.event_values`);
    ``users``: the user (non-negative id) of each event. Same seed, same intervals."""
    return np.column_stack(percentile_interval(resampled_means(values, users, resamples, seed)))


def paired_test(values: np.ndarray, baseline_values: np.ndarray, users: np.ndarray,
                resamples: int = 1000, seed: int = 0) -> PairedTest:
    """Paired bootstrap of ``values`` minus ``baseline_values`` (same events, same layout as
    :func:`bootstrap_intervals`): the same users are resampled for both, so each resample's
    difference is the mean per-event difference over the drawn users' events. p-value:
    2 * min(share of resampled differences <= 0, share >= 0), clipped to [1/R, 1]."""
    differences = np.atleast_2d(values) - np.atleast_2d(baseline_values)
    if differences.shape[1] == 0:
        nan = np.full(len(differences), np.nan)
        return PairedTest(difference=nan, low=nan, high=nan, p_value=nan)
    resampled = resampled_means(differences, users, resamples, seed)
    low, high = percentile_interval(resampled)
    tails = np.minimum(np.mean(resampled <= 0, axis=0), np.mean(resampled >= 0, axis=0))
    p_value = np.clip(2 * tails, 1 / resamples, 1.0)
    return PairedTest(difference=differences.mean(axis=1), low=low, high=high, p_value=p_value)


def t_interval(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the first axis (the seeds) and half-width of its 95% Student t-interval,
    ``t_{n-1} * sd / sqrt(n)``; NaN half-widths with a single seed.

    >>> mean, half = t_interval(np.array([1.0, 2.0, 3.0]))   # t_2 = 4.303, sd 1
    >>> float(mean), round(float(half), 3)
    (2.0, 2.484)
    """
    n = len(values)
    mean = values.mean(axis=0)
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, t_quantile(n - 1) * values.std(axis=0, ddof=1) / math.sqrt(n)


def t_quantile(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom: tabulated up to 30,
    beyond by the Cornish-Fisher expansion around the normal's (error under 1e-4)."""
    if df <= len(T_QUANTILES):
        return T_QUANTILES[df - 1]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)
