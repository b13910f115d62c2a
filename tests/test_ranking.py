"""Top-k slates: the k best scores, best first, ties broken at random but reproducibly."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from livereplay.ranking import top_k


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


def test_ties_are_broken_at_random_not_by_position():
    constant = np.zeros((2000, 50))
    shown = top_k(constant, 1, np.random.default_rng(0))[:, 0]
    counts = np.bincount(shown, minlength=50)
    assert counts.min() > 10 and counts.max() < 80  # about 40 each, every column shown
