"""95% intervals by a bootstrap over users, coverage, and paired tests against a baseline."""
import dataclasses

import numpy as np
import pytest

from livereplay.engine import replay
from livereplay.errors import ReplayError
from livereplay.intervals import BLOCK, paired_test, times_drawn, user_draws
from livereplay.learners.registry import make_learner
from livereplay.metrics import EVENT_METRICS, METRICS, event_values
from livereplay.results import Result
from livereplay.app.runner import RunSpec, run

WINDOW = (5000, 5300)


@pytest.fixture(scope="module")
def results(sample_log):
    """pop, repeat and random on the same window of the embedded sample (candidates A_t)."""
    return {name: replay(sample_log, make_learner(name, seed=0), window=WINDOW,
                         availability="log", learner_name=name)
            for name in ("pop", "repeat", "random")}


def with_bootstrap(result: Result, resamples: int, seed: int = 0) -> Result:
    """A copy of ``result`` (intervals not yet computed) with its own resamples and seed."""
    return dataclasses.replace(result, bootstrap=resamples, extra={"seed": seed})


def naive_intervals(ranks, users, resamples, seed):
    """The cluster bootstrap by Python loops over events, resamples and drawn users, on the
    draws of ``user_draws``: (metric, [low, high])."""
    per_event = event_values(ranks).T.tolist()
    ids = sorted(set(users.tolist()))
    sums = {user: [0.0] * len(EVENT_METRICS) for user in ids}
    counts = dict.fromkeys(ids, 0)
    for user, values in zip(users.tolist(), per_event):
        sums[user] = [total + value for total, value in zip(sums[user], values)]
        counts[user] += 1
    resampled = []
    for block in user_draws(len(ids), resamples, seed):
        for drawn in block:
            total, count = [0.0] * len(EVENT_METRICS), 0
            for index in drawn:
                total = [t + s for t, s in zip(total, sums[ids[index]])]
                count += counts[ids[index]]
            resampled.append([t / count for t in total])
    return np.quantile(np.array(resampled), [0.025, 0.975], axis=0).T


def test_vectorised_bootstrap_matches_the_naive_loops(results):
    result = with_bootstrap(results["pop"], 200, seed=3)
    for split, mask in result.split_masks().items():
        expected = naive_intervals(result.ranks[mask], result.users[mask], 200, 3)
        got = np.array([result.intervals[split][name] for name in EVENT_METRICS])
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)  # sums in 2**-32 units
        assert (got[:, 0] < got[:, 1])[:len(METRICS)].all()  # real width, not a constant


def test_same_seed_same_intervals_other_seed_other_intervals(results):
    one, same, other = (with_bootstrap(results["repeat"], 300, seed) for seed in (1, 1, 2))
    assert one.intervals == same.intervals
    assert one.intervals["all"]["hr@1"] != other.intervals["all"]["hr@1"]


def test_intervals_contain_the_point_estimates(results):
    for result in results.values():
        for split, metrics in result.metrics().items():
            for name in EVENT_METRICS:
                low, high = result.intervals[split][name]
                assert low <= metrics[name] <= high, (result.learner, split, name)


def test_coverage_is_the_share_of_targets_among_the_candidates(sample_log):
    made = Result(learner="hand", protocol="starts", availability="log", window=(0, 1),
                  splits=("repeat", "new"), ranks=np.array([0.0, np.inf, 3.0, np.inf, 12.0]),
                  users=np.array([0, 0, 1, 1, 2]), steps=np.zeros(5, dtype=int),
                  kind=np.array([True, True, False, False, False]))
    assert [made.metrics()[split]["coverage"] for split in ("all", "repeat", "new")] == [
        3 / 5, 1 / 2, 2 / 3]
    others = replay(sample_log, make_learner("pop"), window=WINDOW, availability="others")
    found = sum(1 for rank in others.ranks.tolist() if rank != float("inf"))
    assert others.metrics()["all"]["coverage"] == found / len(others.ranks) < 1
    low, high = others.intervals["all"]["coverage"]
    assert low < found / len(others.ranks) < high


def test_a_learner_paired_with_itself_differs_by_nothing(results):
    for split, test in results["pop"].paired_test(results["pop"]).items():
        assert (test.difference == 0).all() and (test.low == 0).all() and (test.high == 0).all()
        assert (test.p_value == 1).all() and not test.significant.any()


def test_repeat_beats_random_significantly_on_hr_at_10(results):
    hr10 = METRICS.index("hr@10")
    better = results["repeat"].paired_test(results["random"])["all"]
    worse = results["random"].paired_test(results["repeat"])["all"]
    expected = (results["repeat"].metrics()["all"]["hr@10"]
                - results["random"].metrics()["all"]["hr@10"])
    assert better.difference[hr10] == pytest.approx(expected) and expected > 0.2
    assert 0 < better.low[hr10] < expected < better.high[hr10] and better.significant[hr10]
    assert better.p_value[hr10] == 1 / 1000
    assert worse.difference[hr10] == pytest.approx(-expected) and worse.high[hr10] < 0


def test_paired_test_of_noise_is_not_significant():
    users = np.repeat(np.arange(40), 3)
    noise = np.random.default_rng(0).normal(size=(1, 120))
    test = paired_test(noise, np.zeros((1, 120)), users, resamples=500, seed=0)
    assert 0.05 < test.p_value[0] <= 1 and not test.significant[0]
    assert test.low[0] < test.difference[0] < test.high[0]


def test_pairing_results_of_other_events_raises(results, sample_log):
    pop = results["pop"]
    shorter = replay(sample_log, make_learner("pop"), window=(5000, 5200))
    with pytest.raises(ReplayError, match="events differ"):
        pop.paired_test(shorter)
    with pytest.raises(ReplayError, match="events differ"):
        pop.paired_test(dataclasses.replace(pop, steps=pop.steps + 1))
    with pytest.raises(ReplayError, match="events differ"):
        pop.paired_test(dataclasses.replace(pop, users=pop.users[::-1]))


def test_bootstrap_setting_reaches_the_json():
    result = run(RunSpec(learner="pop", availability="log", window=(5000, 5100), cache=False,
                         bootstrap=50, seed=4))
    assert result.bootstrap == 50 and result.seed == 4
    saved = result.to_dict()
    assert saved["bootstrap"] == 50
    assert set(saved["metrics"]["new"]["ci"]) == set(EVENT_METRICS)
    off = with_bootstrap(result, 0).to_dict()
    assert "ci" not in off["metrics"]["all"] and off["metrics"]["all"]["coverage"] == 1.0
    with pytest.raises(ReplayError, match="--bootstrap"):
        with_bootstrap(result, -1).to_dict()


def test_times_drawn_counts_the_draws_and_keeps_a_single_block():
    (counts,) = times_drawn(50, 200, seed=3)
    (draws,) = user_draws(50, 200, seed=3)
    np.testing.assert_array_equal(counts, [np.bincount(d, minlength=50) for d in draws])
    (again,) = times_drawn(50, 200, seed=3)
    assert again is counts and not counts.flags.writeable
    many = BLOCK // 50 + 1  # more resamples than a block holds: counted afresh, block by block
    blocks = list(times_drawn(50, many, seed=3))
    assert [len(b) for b in blocks] == [BLOCK // 50, 1]
    np.testing.assert_array_equal(blocks[0][:200], counts)  # the same stream of draws
