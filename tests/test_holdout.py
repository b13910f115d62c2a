"""The paper's hold-out protocol agrees with its definition, and is a protocol like the others."""
import numpy as np
import pytest

from livereplay.contract import Learner
from livereplay.engine import replay, sample_users
from livereplay.errors import ReplayError
from livereplay.holdout import holdout_events
from livereplay.learners.registry import make_learner
from tests import reference


def test_the_sample_has_809_test_users_506_of_them_repeats(sample_log):
    events = holdout_events(sample_log, "test")
    assert len(events.user) == 809 and int(events.repeat.sum()) == 506


@pytest.mark.parametrize("learner", ["pop", "repeat"])
@pytest.mark.parametrize("period", ["test", "validation"])
def test_holdout_matches_the_reference(sample_log, learner, period):
    expected = reference.holdout(sample_log.frame(), learner, period)
    result = replay(sample_log, make_learner(learner), protocol="holdout", period=period)
    got = {int(u): (int(t), float(r), bool(k)) for u, t, r, k in
           zip(result.users, result.steps, result.ranks, result.kind)}
    assert got == expected
    assert result.metrics()["all"]["n"] == len(expected)
    assert result.to_dict()["period"] == period


class StepRecorder(Learner):
    """Remembers the last observed step and every step it is asked to score for."""

    def reset(self):
        self.observed_, self.asked_ = -1, []

    def observe(self, step):
        self.observed_ = step.t

    def score(self, users, candidates, t):
        assert t > self.observed_
        self.asked_.append(t)
        return np.zeros((1, len(candidates)))


def test_each_target_is_scored_at_its_own_start_after_the_training_steps(sample_log):
    recorder = StepRecorder()
    result = replay(sample_log, recorder, protocol="holdout")
    a, b = result.window
    assert recorder.observed_ == a - 1
    assert sorted(recorder.asked_) == sorted(set(result.steps.tolist()))
    assert min(recorder.asked_) >= a and max(recorder.asked_) < b
    assert len(set(recorder.asked_)) > 50  # targets spread over the period, not one step


def test_a_users_sample_keeps_exactly_the_sampled_users_events(sample_log):
    mask = sample_users(sample_log.n_users, 0.4, seed=2)
    full = replay(sample_log, make_learner("repeat"), protocol="holdout")
    part = replay(sample_log, make_learner("repeat"), protocol="holdout", users=mask)
    keep = mask[full.users]
    np.testing.assert_array_equal(part.users, full.users[keep])
    np.testing.assert_array_equal(part.ranks, full.ranks[keep])


@pytest.mark.parametrize("options,message", [
    ({"window": (10, 20)}, "fixed periods"),
    ({"availability": "others"}, "applies to the starts protocol only"),
    ({"period": "train"}, "unknown period 'train'"),
])
def test_holdout_rejects_options_it_does_not_take(sample_log, options, message):
    with pytest.raises(ReplayError, match=message):
        replay(sample_log, make_learner("pop"), protocol="holdout", **options)
