"""The closed loop's feedback metrics, policies x seeds with intervals, and its command line:
metrics against hand-computed values, slates as the dense ranking gives them, determinism,
the CLI's tables, plots and errors, and policies that the choice model separates."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from livereplay.contract import SparseScores
from livereplay.errors import ReplayError
from livereplay.ranking import top_k
from livereplay.app.simulate import add_simulate_arguments, run_simulate
from livereplay.app.closed_loop import run_policies
from livereplay.sim.closed_loop import LearnerSlate, run_closed_loop, t_interval
from livereplay.sim.feedback import Exposure, feedback, gini
from livereplay.sim.oracle import Oracle
from livereplay.sim.population import Broadcasts
from livereplay.sim.presets import preset
from livereplay.sim.world import Platform, SimulatedLog, simulate


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    return run_simulate(parser.parse_args(list(argv)))


def test_gini_of_known_vectors():
    assert gini(np.array([0.0, 0.0, 0.0, 4.0]))[0] == pytest.approx(0.75)
    assert gini(np.array([5.0, 5.0, 5.0]))[0] == pytest.approx(0.0)
    assert gini(np.array([0.0, 1.0, 6.0, 9.0]))[0] == pytest.approx(0.5)
    by_group = gini(np.array([7.0, 0.0, 1.0, 2.0, 6.0]), np.array([0, 0, 0, 1, 1]), n_groups=3)
    np.testing.assert_allclose(by_group[:2], [14 / 24, 0.25])
    assert np.isnan(by_group[2])


def hand_made_run() -> tuple[SimulatedLog, Exposure]:
    """Five rows over two days, four channels; two steps with slates."""
    user, streamer = np.array([0, 0, 1, 0, 2]), np.array([1, 2, 1, 1, 3])
    start, stop = np.array([0, 10, 20, 150, 160]), np.array([3, 11, 24, 152, 166])
    log = SimulatedLog(user=user, stream=streamer.astype(np.int64), streamer=streamer,
                       start=start, stop=stop, session=np.arange(5),
                       new=np.array([True, True, True, False, True]), n_sessions=5,
                       params=preset("tiny"), seed=0,
                       schedule=Broadcasts(streamer, start, stop, streamer.astype(np.int64)))
    exposure = Exposure(n_channels=4, n_steps=288)
    exposure.record_slates(0, np.array([0, 1, 2]), np.array([[1, 2], [1, 0]]))
    exposure.record_choices(0, np.array([1, -1]))
    exposure.record_slates(150, np.array([1, 3]), np.array([[3, 1]]))
    exposure.record_choices(150, np.array([1]))
    return log, exposure


def test_metrics_of_a_hand_made_log():
    result = feedback(*hand_made_run())
    # day 0: users 0 and 1 watch 3 + 1 + 4 steps, all new, 3 distinct (user, channel) pairs;
    # day 1: users 0 and 2 watch 2 + 6 steps, 6 of them new, 2 pairs
    expected_per_day = {
        "acceptance": [1 / 2, 1 / 1],
        "watch_per_user": [8 / 2, 8 / 2],
        "new_share": [1.0, 6 / 8],
        # impressions over the live channels {0, 1, 2}: [1, 2, 1]; then {1, 3}: [1, 1]
        "impression_gini": [1 / 6, 0.0],
        # viewing steps over the same channels: [0, 7, 1]; then [2, 6]
        "watch_gini": [14 / 24, 4 / 16],
        "diversity": [3 / 2, 2 / 2],
    }
    for metric, values in expected_per_day.items():
        np.testing.assert_allclose(result.per_day[metric], values, err_msg=metric)
    # whole run: impressions per channel [1, 3, 1, 1], viewing steps [0, 9, 1, 6]
    expected = {"acceptance": 2 / 3, "watch_per_user": 16 / 4, "new_share": 14 / 16,
                "impression_gini": 0.25, "watch_gini": 0.5, "diversity": 5 / 4}
    assert result.overall == pytest.approx(expected)
    assert result.drift["acceptance"] == pytest.approx(0.5)
    assert result.drift["watch_per_user"] == pytest.approx(0.0)


def test_t_interval_over_seeds():
    mean, half = t_interval(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_allclose(mean, [2.0, 5.0])
    np.testing.assert_allclose(half, [12.706, 0.0])  # t_1 * sd sqrt(2) / sqrt(2)
    assert np.isnan(t_interval(np.array([0.7]))[1])


@pytest.mark.parametrize("seed", range(5))
def test_slates_are_the_top_k_of_the_dense_block(seed):
    rng = np.random.default_rng(seed)
    n_users, n_candidates, k = 7, 40, 5
    shared = rng.permutation(n_candidates).astype(np.float64)  # distinct: no ties
    pairs = rng.choice(n_users * n_candidates, size=30, replace=False)
    sparse = SparseScores(shared, pairs // n_candidates, pairs % n_candidates,
                          rng.normal(0, 20, 30) + 0.5, n_users)
    for scores in (shared[None, :], sparse, rng.normal(size=(n_users, n_candidates))):
        expected = top_k(np.broadcast_to(np.asarray(scores), (n_users, n_candidates)), k,
                         np.random.default_rng(0))
        np.testing.assert_array_equal(top_k(scores, k, np.random.default_rng(0), n_users),
                                      expected)


def test_ties_in_shared_scores_are_broken_at_random_per_user():
    scores = np.zeros((1, 50))
    shown = top_k(scores, 3, np.random.default_rng(0), 200)
    assert shown.shape == (200, 3) and len(np.unique(shown)) == 50
    assert all(len(set(row)) == 3 for row in shown.tolist())


def test_same_seed_same_numbers_in_one_process_or_several_and_no_slate_is_open_loop():
    params = preset("tiny", n_steps=2 * 144)
    first, again = (run_policies(params, ["none", "pop"], [3, 4], jobs=jobs)
                    for jobs in (1, 2))
    for a, b in zip(first, again):
        assert a.policy == b.policy and [r.seed for r in a.reports] == [3, 4]
        for ra, rb in zip(a.reports, b.reports):
            np.testing.assert_equal(ra.feedback.overall, rb.feedback.overall)
            np.testing.assert_equal(ra.feedback.per_day, rb.feedback.per_day)
    # an empty slate shows nothing and changes nothing: the log of the open loop
    report, closed = run_closed_loop(params, None, seed=3)
    open_loop = simulate(params, seed=3)
    for column in ("user", "streamer", "start", "stop"):
        np.testing.assert_array_equal(getattr(closed, column), getattr(open_loop, column))
    assert np.isnan(report.feedback.overall["acceptance"])
    assert np.isnan(report.feedback.overall["impression_gini"])


def test_cli_with_seeds_prints_intervals_and_writes_plots_and_json(tmp_path, capsys):
    assert cli("--preset", "tiny", "--set", "n_steps=288", "--policy", "random",
               "--policy", "pop", "--seeds", "2", "--plots", str(tmp_path / "plots"),
               "--json", str(tmp_path / "out.json")) == 0
    out = capsys.readouterr().out
    table = out.split("\n\n")[0].splitlines()
    assert table[0].startswith("policy") and [line.split()[0] for line in table[2:]] == [
        "random", "pop"]
    assert all("±" in line for line in table[2:])
    assert "minus random" in out
    assert (tmp_path / "plots" / "closed_loop_drift.png").stat().st_size > 10_000
    written = json.loads((tmp_path / "out.json").read_text())
    acceptance = written["policies"]["pop"]["overall"]["acceptance"]
    assert len(acceptance["per_seed"]) == 2
    assert acceptance["low"] <= acceptance["mean"] <= acceptance["high"]


def test_cli_with_one_seed_prints_no_interval(capsys):
    assert cli("--preset", "tiny", "--set", "n_steps=144", "--policy", "pop") == 0
    table = capsys.readouterr().out.split("\n\n")[0].splitlines()
    assert table[2].split()[0] == "pop" and "±" not in table[2]


@pytest.mark.parametrize("argv, message", [
    (("--policy", "pop", "--seeds", "0"), "--seeds must be a positive integer"),
    (("--policy", "pop", "--jobs", "0"), "--jobs must be a positive integer"),
    (("--policy", "pop", "--policy", "pop"), "--policy pop given more than once"),
    (("--policy", "no-such-learner"), "unknown learner"),
    (("--policy", "pop", "--seeds", "2", "--out", "x.csv"), "single run"),
    (("--policy", "pop", "--json", "no/such/dir/x.json"), "--json .*no such directory"),
    (("--policy", "pop", "--plots", "no/such/dir"), "--plots .*no such directory"),
    (("--out", "x.csv", "--seeds", "2"), "for the closed loop"),
    (("--out", "x.csv", "--plots", "plots"), "for the closed loop"),
    (("--policy", "none/softmax:1"), "none shows no slate to explore"),
    (("--policy", "pop/soft:1"), "expected greedy, epsilon:E or softmax:TAU"),
    (("--policy", "pop/epsilon:2"), "E must lie in"),
    (("--policy", "pop/softmax:1", "--explore", "softmax:1", "--feedback", "fb"),
     "already says how it explores"),
])
def test_bad_closed_loop_arguments_are_one_line_errors(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReplayError, match=message) as error:
        cli("--preset", "tiny", *argv)
    assert "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_the_choice_model_separates_policies_that_know_the_user():
    """On the small preset (a week), seed by seed: random < pop < repeat in acceptance, each
    difference beyond its 95% interval (paired over seeds)."""
    params = preset("small", n_steps=7 * 144)
    summaries = {s.policy: s for s in run_policies(params, ["random", "pop", "repeat"],
                                                   [0, 1, 2])}
    for better, worse in (("pop", "random"), ("repeat", "pop")):
        difference, half = summaries[better].difference("acceptance", summaries[worse])
        assert difference - half > 0, (better, worse, difference, half)


def test_no_slate_of_the_live_streamers_is_accepted_more_often_than_the_oracles():
    """After a day of the tiny world in closed loop, each user's chance to accept the
    oracle's slate is at least that of its slate reordered, of the k streamers it scores
    next, and of random slates; and a seeded sweep ranks it first in acceptance."""
    params = preset("tiny", n_steps=144)
    k = params.slate_size
    oracle = Oracle()
    platform = Platform(params, seed=1, slate=LearnerSlate(oracle, k, Exposure(
        params.n_streamers, params.n_steps)))
    platform.run()
    live = np.sort(platform.on_air.live(params.n_steps - 1, platform.streamers.popularity).ids)
    users = np.arange(0, params.n_users, 3)
    affinity = oracle.score(users, live, params.n_steps - 1)
    order = np.argsort(-affinity, axis=1, kind="stable")
    best = live[order[:, :k]]
    accepted = 1 - platform.choice_probabilities(users, best)[:, 0]
    rng = np.random.default_rng(0)
    others = [best[:, ::-1], live[order[:, k:2 * k]],
              *(live[np.argsort(rng.random((len(users), len(live))), axis=1)[:, :k]]
                for _ in range(20))]
    for slate in others:
        assert (1 - platform.choice_probabilities(users, slate)[:, 0] <= accepted + 1e-12).all()
    summaries = run_policies(params, ["repeat", "oracle", "pop/epsilon:0.2"], [0])
    acceptance = {s.policy: s.overall("acceptance")[0] for s in summaries}
    assert acceptance["oracle"] > max(acceptance["repeat"], acceptance["pop/epsilon:0.2"])


def test_the_oracle_scores_only_inside_the_closed_loop():
    with pytest.raises(RuntimeError, match="only inside the simulator's closed loop"):
        Oracle().score(np.arange(2), np.arange(3), 0)
