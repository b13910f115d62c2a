"""The engine agrees exactly with a naive implementation of the definitions of docs/protocols.md."""
import numpy as np
import pytest
from hypothesis import given, settings

from livereplay.learners.registry import make_learner
from livereplay.engine import replay
from tests import reference
from tests.conftest import small_logs


def engine_events(log, learner, protocol, window, availability="log"):
    result = replay(log, make_learner(learner), protocol=protocol, availability=availability,
                    window=window)
    return list(zip(result.steps.tolist(), result.ranks.tolist(), result.kind.tolist()))


def reference_events(log, learner, protocol, window, availability="log"):
    rows = log.frame()
    if protocol == "starts":
        return reference.starts(rows, learner, window, availability)
    return reference.next_step(rows, learner, window, availability)


CASES = [("starts", "log"), ("starts", "others"), ("starts", "span"), ("next", "log"),
         ("next", "span")]


@pytest.mark.parametrize("learner", ["pop", "repeat"])
@pytest.mark.parametrize("protocol,availability", CASES)
def test_engine_matches_reference_on_real_rows(sample_log, learner, protocol, availability):
    window = (3000, 3040)
    expected = reference_events(sample_log, learner, protocol, window, availability)
    assert len(expected) > 50
    assert engine_events(sample_log, learner, protocol, window, availability) == expected


@settings(max_examples=60, deadline=None)
@given(log=small_logs())
def test_engine_matches_reference_on_small_logs(log):
    window = (0, log.n_steps)
    for learner in ("pop", "repeat"):
        for protocol, availability in CASES:
            expected = reference_events(log, learner, protocol, window, availability)
            if not expected:
                continue
            assert engine_events(log, learner, protocol, window, availability) == expected


def test_next_objective_is_mean_reward_per_user_and_step(sample_log):
    window = (3000, 3100)
    result = replay(sample_log, make_learner("repeat"), protocol="next", window=window)
    rewards = sum(rank == 0 for _, rank, _ in reference_events(sample_log, "repeat", "next", window))
    assert result.objective == pytest.approx(rewards / (sample_log.n_users * 100))


def test_leak_free_candidates_never_help(sample_log):
    """Removing channels only the evaluated user watches can only turn hits into misses for
    targets watched alone, and never worsens the rank of a target that stays."""
    log_ranks = replay(sample_log, make_learner("pop"), window=(4000, 4300), availability="log").ranks
    free_ranks = replay(sample_log, make_learner("pop"), window=(4000, 4300),
                        availability="others").ranks
    assert np.all(free_ranks[np.isfinite(free_ranks)] <= log_ranks[np.isfinite(free_ranks)])
    assert np.isinf(free_ranks).sum() > 0
