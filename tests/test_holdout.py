"""The paper's hold-out protocol agrees with its definition."""
import pytest

from learners.registry import make_learner
from replay.holdout import holdout, holdout_events
from tests import reference


def test_the_sample_has_809_test_users(sample_log):
    assert len(holdout_events(sample_log, "test").user) == 809


@pytest.mark.parametrize("learner", ["pop", "repeat"])
@pytest.mark.parametrize("split", ["test", "validation"])
def test_holdout_matches_the_reference(sample_log, learner, split):
    expected = reference.holdout(sample_log.frame(), learner, split)
    result = holdout(sample_log, make_learner(learner), split=split)
    events = holdout_events(sample_log, split)
    got = {int(u): (int(t), float(r), bool(k)) for u, t, r, k in
           zip(events.user, result.steps, result.ranks, result.kind)}
    assert got == expected
    assert result.metrics()["all"]["n"] == len(expected)
