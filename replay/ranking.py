"""Scoring users against candidates, and what is done with the scores: ranks and slates.

The tie rule, stated once for the whole project (``docs/protocols.md`` (Ranks and metrics)):
ranks are zero-based and **pessimistic**, a target's rank is the number of other counted
candidates scoring greater than or equal to it, so equal scores never help a target; a
target missing from the candidates is a miss (rank infinity). Replay, the hold-out protocol
and the simulator's closed loop all score through :func:`scores_in_chunks`; the protocols rank
with :func:`rank_events`, the closed loop shows :func:`top_k`.

>>> scores = np.array([[0.5, 0.9, 0.5]])
>>> rank_events(scores, np.array([0]), (np.array([0]), np.array([0])),
...             (np.array([0]), np.array([0])))
array([2.])
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import numpy as np

from .arrays import distinct, pair_keys, positions, split_pair_keys, user_ranges
from .contract import Learner, SparseScores
from .errors import LearnerError

SCORE_BUDGET = 1 << 22  # scores per chunk (users x candidates), 16 MB of float32


Scores = np.ndarray | SparseScores


def checked_scores(scores: object, n_users: int, n_candidates: int, where: str) -> Scores:
    """A learner's scores as a float array of shape (n_users or 1, n_candidates), or as
    checked :class:`SparseScores`; else a :class:`LearnerError` saying ``where`` they went
    wrong. float32 scores stay float32 (ranks compare them exactly as float64 copies would)."""
    if isinstance(scores, SparseScores):
        rows, columns = np.asarray(scores.rows, np.int64), np.asarray(scores.columns, np.int64)
        checked = SparseScores(checked_scores(np.asarray(scores.shared)[None, :], 1,
                                              n_candidates, where)[0],
                               rows, columns, np.asarray(scores.values, np.float64), n_users)
        if not len(rows) == len(columns) == len(checked.values) or scores.n_users != n_users:
            raise LearnerError(f"{where}: score() returned SparseScores of {scores.n_users} "
                               f"users with {len(rows)} rows, {len(columns)} columns and "
                               f"{len(checked.values)} values; expected {n_users} users and "
                               "one row and column per value")
        if len(rows) and (rows.min() < 0 or rows.max() >= n_users or columns.min() < 0
                          or columns.max() >= n_candidates):
            raise LearnerError(f"{where}: score() returned SparseScores indexing outside "
                               f"({n_users}, {n_candidates})")
        if np.isnan(checked.values).any():
            raise LearnerError(f"{where}: score() returned NaN")
        if len(distinct(rows * n_candidates + columns)) != len(rows):
            raise LearnerError(f"{where}: score() returned SparseScores with a repeated "
                               "(row, column) pair")
        return checked
    scores = np.asarray(scores)
    if scores.dtype not in (np.float32, np.float64):
        scores = scores.astype(np.float64)
    if scores.ndim != 2 or scores.shape[1] != n_candidates or scores.shape[0] not in (1, n_users):
        raise LearnerError(f"{where}: score() returned shape {scores.shape}, expected "
                           f"({n_users}, {n_candidates}) or (1, {n_candidates})")
    if np.isnan(scores).any():
        raise LearnerError(f"{where}: score() returned NaN")
    return scores


def scores_in_chunks(learner: Learner, users: np.ndarray, candidates: np.ndarray, t: int,
                     score_budget: int = SCORE_BUDGET) -> Iterator[tuple[int, int, Scores]]:
    """``(lo, hi, scores)`` for consecutive blocks ``users[lo:hi]``, each scored at step ``t``
    with at most ``score_budget`` entries; a learner that returns one shared row of scores
    serves every remaining user at once (``hi = len(users)``, ``scores`` of shape (1, C)).

    While the caller uses one block, the learner scores the next on a second thread (its
    calls stay one at a time and in order, so what it computes is unchanged): a learner
    scoring in TensorFlow or NumPy releases the interpreter, and the two overlap.
    """
    chunk = max(1, score_budget // max(1, len(candidates)))

    def scored(lo: int) -> tuple[int, int, Scores]:
        hi = min(len(users), lo + chunk)
        scores = checked_scores(learner.score(users[lo:hi], candidates, t), hi - lo,
                                len(candidates), f"step {t}")
        if not isinstance(scores, SparseScores) and scores.shape[0] == 1:
            hi = len(users)
        return lo, hi, scores

    if not len(users):
        return
    block = scored(0)
    if block[1] == len(users):
        yield block
        return
    with ThreadPoolExecutor(1, thread_name_prefix="livereplay-score") as pool:
        while True:
            following = pool.submit(scored, block[1]) if block[1] < len(users) else None
            yield block
            if following is None:
                return
            block = following.result()


def rank_events(scores: Scores, event_rows: np.ndarray,
                targets: tuple[np.ndarray, np.ndarray],
                uncounted: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Pessimistic rank of each event's best-scored target among its counted candidates.

    scores     -- (n, C) scores, (1, C) when shared by every event, or :class:`SparseScores`
    event_rows -- the row of ``scores`` of each event (length E)
    targets    -- (event, column) pairs; an event's reference score is the best of its
                  targets' scores, and an event with no target is a miss (rank inf)
    uncounted  -- (event, column) pairs not counted against the event: its targets and
                  any candidates excluded for it (pairs may repeat)

    rank[e] = #{c : s[e, c] >= ref[e]} - #{c uncounted for e : s[e, c] >= ref[e]}

    Shared and sparse scores count the candidates at or above each reference with one sort
    of the shared row; sparse ones then correct the count over the event's own additions.
    """
    n_events = len(event_rows)
    sparse = isinstance(scores, SparseScores)
    shared = sparse or scores.shape[0] == 1
    row = scores.shared if sparse else scores[0]
    n_candidates = len(row)
    if sparse:  # additions sorted by (row, column), found by pair key
        added = pair_keys(scores.rows, scores.columns)
        order = np.argsort(added)
        added, values = added[order], scores.values[order]

    def score_of(events: np.ndarray, columns: np.ndarray) -> np.ndarray:
        if not shared:
            return scores[event_rows[events], columns]
        score = row[columns]
        if sparse:
            at = positions(added, pair_keys(event_rows[events], columns))
            hit = at >= 0
            score[hit] += values[at[hit]]
        return score

    target_event, target_col = targets
    reference = np.full(n_events, -np.inf)
    np.maximum.at(reference, target_event, score_of(target_event, target_col))
    if shared:
        at_least = n_candidates - np.searchsorted(np.sort(row), reference, side="left")
        if sparse:  # the event's additions moved its candidates across the reference
            event, entry = user_ranges(added, event_rows)
            base = row[split_pair_keys(added[entry])[1]]
            moved = ((base + values[entry] >= reference[event]).astype(np.int64)
                     - (base >= reference[event]))
            at_least = at_least + np.bincount(event, weights=moved, minlength=n_events)
    else:  # the reference in the scores' own type: exact, and no float64 copy of the block
        one_each = len(event_rows) == len(scores) and (event_rows == np.arange(len(scores))).all()
        at_least = np.count_nonzero((scores if one_each else scores[event_rows])
                                    >= reference.astype(scores.dtype)[:, None], axis=1)
    keys = distinct(np.asarray(uncounted[0], np.int64) * n_candidates + uncounted[1])
    events, columns = keys // n_candidates, keys % n_candidates
    not_counted = np.bincount(events, weights=score_of(events, columns) >= reference[events],
                              minlength=n_events)
    ranks = (at_least - not_counted).astype(np.float64)
    has_target = np.zeros(n_events, dtype=bool)
    has_target[target_event] = True
    ranks[~has_target] = np.inf
    return ranks


def rank_by_chunks(learner: Learner, t: int, users: np.ndarray, candidates: np.ndarray,
                   event_user: np.ndarray, targets: tuple[np.ndarray, np.ndarray],
                   uncounted: tuple[np.ndarray, np.ndarray],
                   score_budget: int = SCORE_BUDGET) -> np.ndarray:
    """Score ``users`` x ``candidates`` at step ``t`` in bounded chunks and rank every event.

    event_user -- index into ``users`` of each event; targets/uncounted -- (event, column)
    pairs as in :func:`rank_events`. With no candidates every event is a miss and the learner
    is not asked.
    """
    ranks = np.full(len(event_user), np.inf)  # no candidates: every event is a miss
    if len(candidates) == 0:
        return ranks
    for lo, hi, scores in scores_in_chunks(learner, users, candidates, t, score_budget):
        inside = (event_user >= lo) & (event_user < hi)
        events = np.flatnonzero(inside)
        local = np.cumsum(inside) - 1

        def keep(pairs: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            selected = inside[pairs[0]]
            return local[pairs[0][selected]], pairs[1][selected]

        ranks[events] = rank_events(scores, event_user[events] - lo, keep(targets), keep(uncounted))
    return ranks


def top_k(scores: Scores, k: int, rng: np.random.Generator,
          n_users: int | None = None) -> np.ndarray:
    """Columns of the ``k`` highest scores of each user's row, best first: ``scores`` is a
    dense block, one shared row (1, C) for ``n_users`` users, or :class:`SparseScores`, the
    last two ranked without forming users x candidates.

    Ties at the k-th score are broken uniformly at random with ``rng`` (seeded by the caller),
    so a slate is reproducible for a seed and a constant policy does not always show the
    lowest ids.

    >>> top_k(np.array([[0.1, 0.9, 0.5], [1.0, 1.0, 0.0]]), 2, np.random.default_rng(0))[0]
    array([1, 2])

    A user's top k and every column tied with its k-th score lie among its own additions and
    the shared row's columns scoring at least the (k + m)-th best shared score, m the most
    additions of a user (of the other columns, at least k score that much); the dense block
    ranked is those columns only.
    """
    if n_users is None:
        n_users = scores.n_users if isinstance(scores, SparseScores) else len(scores)
    if not isinstance(scores, SparseScores) and len(scores) == n_users:
        return _dense_top_k(np.asarray(scores), k, rng)
    sparse = scores if isinstance(scores, SparseScores) else SparseScores(
        scores[0], np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), n_users)
    shared = np.asarray(sparse.shared, np.float64)
    per_user = np.bincount(sparse.rows, minlength=n_users)
    depth = min(len(shared), k + int(per_user.max(initial=0)))
    threshold = np.partition(shared, len(shared) - depth)[len(shared) - depth]
    pool = np.flatnonzero(shared >= threshold)
    # every user's row: the pool's columns, then its additions outside the pool (if any)
    in_pool = positions(pool, sparse.columns)
    outside = np.flatnonzero(in_pool < 0)
    outside = outside[np.argsort(sparse.rows[outside], kind="stable")]
    owner, column = sparse.rows[outside], sparse.columns[outside]
    counts = np.bincount(owner, minlength=n_users)
    slot = len(pool) + np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = len(pool) + int(counts.max(initial=0))
    columns = np.full((n_users, width), -1, np.int64)
    columns[:, : len(pool)] = pool
    columns[owner, slot] = column
    block = np.full((n_users, width), -np.inf)
    block[:, : len(pool)] = shared[pool]
    block[owner, slot] = shared[column] + sparse.values[outside]
    inside = np.flatnonzero(in_pool >= 0)
    block[sparse.rows[inside], in_pool[inside]] += sparse.values[inside]
    return np.take_along_axis(columns, _dense_top_k(block, k, rng), 1)


def _dense_top_k(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`top_k` of a dense block: rows whose k-th score is tied with a column left out
    (where the tie must be broken at random) go through :func:`_top_k_random_ties`, the
    others are sorted best first (equal scores by column) among their k columns. A row is
    searched among its :func:`_contenders` where they are known, else whole."""
    n_rows, n_columns = scores.shape
    k = min(k, n_columns)
    top = np.empty((n_rows, k), np.int64)
    top_scores = np.empty((n_rows, k))
    tied = np.empty(n_rows, bool)
    narrowed, contenders = _contenders(scores, k)
    for rows, columns in ((np.flatnonzero(narrowed), contenders),
                          (np.flatnonzero(~narrowed), None)):
        if not len(rows):
            continue
        block = scores[rows] if columns is None else scores[rows[:, None], columns]
        local = np.argpartition(block, block.shape[1] - k, axis=1)[:, block.shape[1] - k:]
        best = np.take_along_axis(block, local, 1)
        top[rows] = local if columns is None else np.take_along_axis(columns, local, 1)
        top_scores[rows] = best
        kth = best.min(axis=1, keepdims=True)
        tied[rows] = (block == kth).sum(axis=1) > (best == kth).sum(axis=1)
    if tied.any():
        tied_scores = scores[tied]
        top[tied] = _top_k_random_ties(tied_scores, k, rng)
        top_scores[tied] = np.take_along_axis(tied_scores, top[tied], 1)
    return np.take_along_axis(top, np.lexsort((top, -top_scores), axis=-1), 1)


def _contenders(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are narrowed, and for those, (rows, W) columns holding their k highest
    scores and every column tied with the k-th.

    The columns are cut into 8k blocks (the last columns, short of a block, are always
    kept). The k blocks of highest maxima hold k distinct scores, so their lowest maximum
    is at most the row's k-th score, and every column scoring that much lies in one of
    them, unless another block's maximum equals it: such a row (wide ties) is not narrowed.
    Finding the maxima is one pass over the block, and the partition then runs over k
    blocks instead of the whole row."""
    n_rows, n_columns = scores.shape
    n_blocks = min(8 * k, n_columns // 8)  # blocks of 8 columns or more
    if n_blocks <= k:
        return np.zeros(n_rows, bool), np.empty((0, 0), np.int64)
    size = n_columns // n_blocks
    maxima = np.maximum.reduceat(scores[:, : n_blocks * size], np.arange(n_blocks) * size,
                                 axis=1)
    best = np.argpartition(maxima, n_blocks - k, axis=1)[:, n_blocks - k:]
    bound = np.take_along_axis(maxima, best, 1).min(axis=1, keepdims=True)
    narrowed = (maxima >= bound).sum(axis=1) == k
    inside = (best[narrowed, :, None] * size + np.arange(size)).reshape(-1, k * size)
    tail = np.broadcast_to(np.arange(n_blocks * size, n_columns), (len(inside),
                                                                  n_columns - n_blocks * size))
    return narrowed, np.hstack([inside, tail])


def _top_k_random_ties(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`top_k` of a dense block, every row's ties at its k-th score broken by one
    uniform draw per score."""
    n_columns = scores.shape[1]
    k = min(k, n_columns)
    tiebreak = rng.random(scores.shape)
    kth = np.partition(scores, n_columns - k, axis=1)[:, n_columns - k, None]  # k-th largest
    key = np.where(scores > kth, 2.0, np.where(scores == kth, tiebreak, -1.0))
    top = np.argpartition(-key, k - 1, axis=1)[:, :k]
    best_first = np.lexsort((-np.take_along_axis(key, top, 1),
                             -np.take_along_axis(scores, top, 1)), axis=-1)
    return np.take_along_axis(top, best_first, 1)
