"""Top-k slates: the k best scores, best first, ties broken at random but reproducibly;
sparse scores ranked exactly as their dense block; ranks independent of how scores are
chunked and of their float type."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from livereplay.contract import Learner, SparseScores, known
from livereplay.engine import replay
from livereplay.errors import LearnerError
from livereplay.learners.registry import make_learner
from livereplay.ranking import SCORE_BUDGET, checked_scores, rank_events, top_k


@settings(max_examples=150, deadline=None)
@given(scores=arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 12)),
                     elements=st.integers(-3, 3).map(float)),
       k=st.integers(1, 14), seed=st.integers(0, 2**16))
def test_top_k_shows_the_k_best_best_first(scores, k, seed):
    shown = top_k(scores, k, np.random.default_rng(seed))
    k = min(k, scores.shape[1])
    assert shown.shape == (scores.shape[0], k)
    for row, columns in zip(scores, shown):
        assert len(set(columns)) == k
        picked = row[columns]
        assert (np.diff(picked) <= 0).all()  # best first
        others = np.delete(row, columns)
        assert others.size == 0 or others.max() <= picked.min()
    np.testing.assert_array_equal(shown, top_k(scores, k, np.random.default_rng(seed)))


@pytest.mark.parametrize("kind", ["normal", "few values", "mostly zero"])
@pytest.mark.parametrize("k", [1, 4, 10, 40])
def test_top_k_of_wide_rows_is_the_k_best_by_score_then_column(kind, k):
    """Rows wide enough to be narrowed to their contenders before the partition: the k
    best, best first, equal scores by column unless the k-th is tied with a column left
    out (then at random)."""
    rng = np.random.default_rng(k)
    shape = (60, 997)
    scores = {"normal": rng.normal(size=shape),
              "few values": rng.integers(0, 4, shape).astype(float),
              "mostly zero": np.where(rng.random(shape) < 0.97, 0.0, rng.normal(size=shape))}[kind]
    scores[::7, ::3] = -np.inf
    shown = top_k(scores, k, np.random.default_rng(0))
    for row, columns in zip(scores, shown):
        picked = row[columns]
        assert len(set(columns)) == k and (np.diff(picked) <= 0).all()
        assert np.delete(row, columns).max() <= picked.min()
        if (row == picked[-1]).sum() == (picked == picked[-1]).sum():  # no tie left out
            np.testing.assert_array_equal(columns, np.lexsort((np.arange(len(row)), -row))[:k])


def test_a_best_score_tied_across_a_wide_row_is_drawn_among_all_its_columns():
    rows = np.tile(np.linspace(0, 0.5, 800), (3000, 1))
    best = np.arange(5, 800, 80)  # one column in each of ten blocks
    rows[:, best] = 1.0
    shown = top_k(rows, 1, np.random.default_rng(0))[:, 0]
    assert set(shown.tolist()) == set(best.tolist())
    assert np.bincount(shown)[best].min() > 200  # about 300 each


def test_ties_are_broken_at_random_not_by_position():
    constant = np.zeros((2000, 50))
    shown = top_k(constant, 1, np.random.default_rng(0))[:, 0]
    counts = np.bincount(shown, minlength=50)
    assert counts.min() > 10 and counts.max() < 80  # about 40 each, every column shown


@st.composite
def sparse_scores(draw):
    """SparseScores with integer-valued floats (so that ties are frequent) and the events,
    targets and uncounted pairs of a ranking over them."""
    n_users, n_candidates = draw(st.integers(1, 5)), draw(st.integers(1, 9))
    value = st.integers(-3, 3).map(float)
    shared = np.array(draw(st.lists(value, min_size=n_candidates, max_size=n_candidates)))
    cells = draw(st.sets(st.tuples(st.integers(0, n_users - 1),
                                   st.integers(0, n_candidates - 1)), max_size=12))
    cells = draw(st.permutations(sorted(cells)))  # in any order
    rows = np.array([row for row, _ in cells], np.int64)
    columns = np.array([column for _, column in cells], np.int64)
    values = np.array(draw(st.lists(value, min_size=len(rows), max_size=len(rows))))
    scores = SparseScores(shared, rows, columns, values, n_users=n_users)
    n_events = draw(st.integers(1, 8))
    event_rows = np.array(draw(st.lists(st.integers(0, n_users - 1), min_size=n_events,
                                        max_size=n_events)))
    pairs = st.lists(st.tuples(st.integers(0, n_events - 1), st.integers(0, n_candidates - 1)),
                     max_size=10)

    def arrays_of(found):
        return tuple(np.array(x, np.int64) for x in zip(*found)) if found else \
            (np.empty(0, np.int64), np.empty(0, np.int64))

    return scores, event_rows, arrays_of(draw(pairs)), arrays_of(draw(pairs))


@settings(max_examples=300, deadline=None)
@given(case=sparse_scores())
def test_sparse_scores_rank_exactly_as_their_dense_block(case):
    scores, event_rows, targets, uncounted = case
    checked = checked_scores(scores, scores.n_users, len(scores.shared), "test")
    np.testing.assert_array_equal(rank_events(checked, event_rows, targets, uncounted),
                                  rank_events(scores.dense(), event_rows, targets, uncounted))


@pytest.mark.parametrize("rows,columns,values,n_users,message", [
    ([0, 0], [1, 1], [1.0, 2.0], 2, "repeated (row, column)"),
    ([2], [0], [1.0], 2, "indexing outside (2, 3)"),
    ([0], [0], [np.nan], 2, "NaN"),
    ([0], [0], [1.0, 2.0], 2, "one row and column per value"),
    ([0], [0], [1.0], 3, "expected 2 users"),
])
def test_bad_sparse_scores_are_one_line_errors(rows, columns, values, n_users, message):
    scores = SparseScores(np.zeros(3), np.array(rows), np.array(columns), np.array(values),
                          n_users=n_users)
    with pytest.raises(LearnerError, match=re.escape(message)):
        checked_scores(scores, 2, 3, "step 7")


class Float32Popularity(Learner):
    """Scores every user's candidates by their rows so far plus a per-user offset, in float32
    (dense blocks whose ties and chunks matter)."""

    def __init__(self, dtype: type = np.float32, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.dtype = dtype

    def observe(self, step):
        self.rows_ = step.history.streamer_rows().copy()

    def score(self, users, candidates, t):
        return (known(self.rows_, candidates)[None, :] + (users % 3)[:, None]).astype(self.dtype)


@pytest.mark.parametrize("protocol", ["starts", "next"])
def test_ranks_do_not_depend_on_chunks_or_the_scores_float_type(sample_log, protocol):
    """Scoring in chunks of 64 scores (the next chunk scored on a second thread while one is
    ranked) or in one block, in float32 or float64, gives the same ranks."""
    def ranks(learner, budget):
        return replay(sample_log, learner, protocol=protocol, window=(2000, 2300),
                      score_budget=budget).ranks

    whole = ranks(Float32Popularity(np.float64), SCORE_BUDGET)
    assert np.isfinite(whole).sum() > 100 and len(np.unique(whole)) > 10
    assert np.array_equal(ranks(Float32Popularity(np.float32), SCORE_BUDGET), whole)
    assert np.array_equal(ranks(Float32Popularity(np.float32), 64), whole)
    assert np.array_equal(ranks(make_learner("repeat"), 64), ranks(make_learner("repeat"),
                                                                   SCORE_BUDGET))
