"""Stochastic slates and off-policy evaluation: propensities that sum to one over every slate,
draws that follow them, estimators that are exact for the logging policy and unbiased where
the truth is enumerated, one-line errors for bad records, and feedback folders that are the
same bytes for the same seed."""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from livereplay.app.cli import main
from livereplay.app.ope import evaluate, log_feedback
from livereplay.app.simulate import add_simulate_arguments, run_simulate
from livereplay.errors import ReplayError
from livereplay.ope import (RECORD_SCHEMA, RECORDS, FeedbackError, LoggedSlates, RewardPredictions,
                            TargetProbabilities, choice_model_probabilities, estimate,
                            fit_choice_model)
from livereplay.sim.explore import Exploration, parse_exploration
from livereplay.sim.presets import preset

POLICIES = ["greedy", "epsilon:0.3", "epsilon:1", "softmax:0.7", "softmax:4"]


def every_slate(n: int, k: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(n), k)))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("n, k", [(5, 3), (4, 4), (6, 2), (7, 5)])
def test_propensities_sum_to_one_and_marginals_are_exact(policy, n, k):
    exploration = parse_exploration(policy)
    rng = np.random.default_rng(n * 10 + k)
    for scores in (np.round(rng.normal(size=n)), rng.normal(size=n) * 3):  # ties, none
        slates = every_slate(n, k)
        block = np.repeat(scores[None, :], len(slates), axis=0)
        probability = exploration.slate_probability(block, slates)
        assert probability.sum() == pytest.approx(1.0, abs=1e-12)
        expected = np.zeros((k, n))
        for place in range(k):
            np.add.at(expected[place], slates[:, place], probability)
        np.testing.assert_allclose(exploration.position_probability(block, slates),
                                   expected[np.arange(k), slates], atol=1e-12)
        np.testing.assert_allclose(exploration.prefix_probability(block, slates)[:, -1],
                                   probability)


def test_a_greedy_slate_without_ties_has_propensity_one():
    scores = np.array([[0.3, 2.0, 1.0, -1.0]])
    greedy = Exploration()
    slate = greedy.sample(scores, 3, np.random.default_rng(0))
    assert slate.tolist() == [[1, 2, 0]]
    assert greedy.slate_probability(scores, slate).tolist() == [1.0]
    assert greedy.position_probability(scores, slate).tolist() == [[1.0, 1.0, 1.0]]


@pytest.mark.parametrize("policy", POLICIES)
def test_draws_follow_the_propensities(policy):
    exploration = parse_exploration(policy)
    scores = np.array([2.0, 1.0, 1.0, 1.0, 0.0])
    draws = 100_000
    slates = exploration.sample(np.repeat(scores[None, :], draws, 0), 3,
                                np.random.default_rng(1))
    assert all(len(set(row)) == 3 for row in slates[:200].tolist())
    shown, counts = np.unique(slates, axis=0, return_counts=True)
    probability = exploration.slate_probability(np.repeat(scores[None, :], len(shown), 0),
                                                shown)
    assert probability.sum() == pytest.approx(1.0)  # every slate with a chance was drawn
    sd = np.sqrt(probability * (1 - probability) / draws)
    assert np.all(np.abs(counts / draws - probability) <= 5 * sd + 1e-9)


def test_softmax_position_propensities_past_the_second_place_are_unbiased_estimates():
    exploration = parse_exploration("softmax:0.5", draws=8)
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(1, 30)) * 2
    slates = exploration.sample(np.repeat(scores, 400_000, 0), 5, rng)
    shown = slates[:4]
    frequency = np.array([[np.mean(slates[:, place] == s) for place, s in enumerate(row)]
                          for row in shown])
    estimates = np.mean([exploration.position_probability(np.repeat(scores, 4, 0), shown,
                                                          np.random.default_rng(seed))
                         for seed in range(50)], axis=0)
    np.testing.assert_allclose(estimates, frequency, rtol=0.05, atol=2e-3)
    assert (exploration.position_probability(np.repeat(scores, 4, 0), shown) > 0).all()


def test_ips_with_the_logging_policy_as_target_is_the_logged_mean(tmp_path):
    params = preset("tiny", n_steps=144)
    log_feedback(params, "pop", tmp_path, seed=2, explore="epsilon:0.3")
    report = evaluate(tmp_path, "pop", explore="epsilon:0.3", seed=2, resamples=50)
    for reward in ("acceptance", "watch"):
        assert report.estimates["ips"][reward].value == report.logged[reward].value
        assert report.estimates["snips"][reward].value == pytest.approx(
            report.logged[reward].value)
    assert report.n_records > 100 and 0 < report.logged["acceptance"].value < 1
    assert report.effective_share == pytest.approx(1.0)  # every weight is 1
    greedy = evaluate(tmp_path, "repeat", seed=2, resamples=50)
    assert 0 < greedy.effective_share < 0.5  # weights 0 or 1 / P's, on a few places


def synthetic_log(rng: np.random.Generator, n_records: int, k: int, logging: Exploration,
                  scores: np.ndarray, take: Callable[[np.ndarray], np.ndarray]) -> LoggedSlates:
    """A bandit with one context: ``len(scores)`` live streamers, slates of k drawn from
    ``logging``; ``take(slates)`` gives each place's chance to be taken (the rest: none)."""
    block = np.repeat(scores[None, :], n_records, 0)
    slates = logging.sample(block, k, rng)
    u = rng.random(n_records)
    cumulative = np.cumsum(take(slates), axis=1)
    taken_any = u < cumulative[:, -1]
    pick = (u[:, None] < cumulative).argmax(axis=1)
    taken = np.where(taken_any, slates[np.arange(n_records), pick], -1)
    return LoggedSlates.from_columns(
        step=np.zeros(n_records, int), user=rng.integers(0, 50, n_records),
        live=[list(range(len(scores)))] * n_records, slate=slates.tolist(),
        propensity=logging.slate_probability(block, slates),
        position_propensity=logging.position_probability(block, slates).tolist(),
        taken=taken, watch=np.where(taken_any, 2 + slates[np.arange(n_records), pick], 0))


def item_features(slates: np.ndarray, n_items: int) -> np.ndarray:
    """One-hot streamer and log(1 + place): a logit on these is the k = 1 world's model."""
    one_hot = np.eye(n_items)[slates]
    place = np.broadcast_to(np.log1p(np.arange(slates.shape[-1]))[:, None],
                            slates.shape + (1,))
    return np.concatenate([one_hot[..., 1:], place], axis=-1)


@pytest.mark.parametrize("world", ["logit, one streamer", "position-based, two places"])
def test_every_estimator_is_unbiased_where_the_truth_is_enumerated(world):
    """Averaged over many logs, each estimate of the target's acceptance and watch is within
    four standard errors of the truth, enumerated over the target's slates: every estimator
    in a logit world of one-streamer slates (the reward model is right), the weighting ones
    in a position-based world of two places (the independent-item assumption holds, the
    logit does not)."""
    n_items, k = (4, 1) if world.startswith("logit") else (4, 2)
    attraction = np.array([0.6, 0.3, 0.15, 0.05])
    if k == 1:  # a logit with an outside option: P(take) = e^v / (1 + e^v)
        utility = np.log(attraction / (1 - attraction))

        def take(slates):
            return np.exp(utility[slates]) / (1 + np.exp(utility[slates]))
        names = ["ips", "snips", "dm", "dr", "switch-dr"]
    else:  # position-based: place j is taken with chance examine_j * attraction
        examine = np.array([0.8, 0.5])

        def take(slates):
            return examine[None, :] * attraction[slates]
        names = ["ips", "snips"]
    logging, target = parse_exploration("epsilon:0.6"), parse_exploration("softmax:0.5")
    logging_scores, target_scores = np.array([0.0, 1.0, 2.0, 3.0]), np.array([3.0, 2.0, 0.5, 0.0])
    slates = every_slate(n_items, k)
    target_block = np.repeat(target_scores[None, :], len(slates), 0)
    target_probability = target.slate_probability(target_block, slates)
    chance = take(slates)
    truth = {"acceptance": target_probability @ chance.sum(axis=1),
             "watch": target_probability @ (chance * (2 + slates)).sum(axis=1)}
    rng = np.random.default_rng(7)
    values = {name: {reward: [] for reward in truth} for name in names}
    for _ in range(150):
        logged = synthetic_log(rng, 400, k, logging, logging_scores, take)
        block = np.repeat(target_scores[None, :], len(logged.step), 0)
        probabilities = TargetProbabilities(target.slate_probability(block, logged.slate),
                                            target.position_probability(block, logged.slate))
        x = item_features(logged.slate, n_items)
        theta = fit_choice_model(x, logged.valid, logged.taken_position)
        logged_p = choice_model_probabilities(theta, x, logged.valid)
        all_p = choice_model_probabilities(theta, item_features(slates, n_items),
                                           np.ones(slates.shape, bool))
        watch = 2.0 + logged.slate  # the watch model is exact here: 2 + streamer id
        predictions = RewardPredictions(
            target={"acceptance": np.full(len(logged.step), target_probability @ all_p.sum(1)),
                    "watch": np.full(len(logged.step),
                                     target_probability @ (all_p * (2 + slates)).sum(1))},
            logged={"acceptance": logged_p, "watch": logged_p * watch})
        found = estimate(logged, probabilities, predictions, estimators=names,
                         switch_threshold=1e9, resamples=2)
        for name in names:
            for reward in truth:
                values[name][reward].append(found[name][reward].value)
    for name in names:
        for reward, expected in truth.items():
            runs = np.array(values[name][reward])
            error = 4 * runs.std(ddof=1) / np.sqrt(len(runs)) + 1e-3 * expected
            assert abs(runs.mean() - expected) <= error, (name, reward, runs.mean(), expected)


GOOD = dict(step=[0, 0, 1], user=[0, 1, 0], live=[[3, 4, 5]] * 2 + [[4, 5]],
            slate=[[3, 4], [5, 3], [5, 4]], propensity=[0.5, 0.25, 0.5],
            position_propensity=[[0.5, 0.5], [0.25, 0.5], [0.5, 1.0]], taken=[3, -1, 4],
            watch=[2, 0, 5])


@pytest.mark.parametrize("change, message", [
    ({"propensity": [0.5, None, 0.5]}, "record 1 \\(step 0, user 1\\) has no propensity"),
    ({"position_propensity": [[0.5, 0.5], [0.25, None], [0.5, 1.0]]},
     "record 1 .* has no propensity"),
    ({"propensity": [0.5, 0.25, 0.0]}, "record 2 \\(step 1, user 0\\) shows a slate of "
                                       "propensity 0"),
    ({"position_propensity": [[0.5, 0.0], [0.25, 0.5], [0.5, 1.0]]},
     "record 0 .* propensity 0"),
    ({"slate": [[3, 4], [5, 3], [3, 4]]}, "record 2 .* shows streamer 3, which is not live"),
    ({"taken": [3, -1, 7]}, "record 2 .* took streamer 7, which is not in its slate"),
    ({"live": [[3, 4, 5], [3, 4, 6], [4, 5]], "slate": [[3, 4], [6, 3], [5, 4]]},
     "record 1 .* other live streamers than the step's first"),
])
def test_bad_records_are_one_line_errors(change, message):
    with pytest.raises(FeedbackError, match=message) as error:
        LoggedSlates.from_columns(**{**GOOD, **change})
    assert "\n" not in str(error.value) and isinstance(error.value, ReplayError)


def test_the_command_line_reports_a_bad_folder_in_one_line(tmp_path, capsys):
    records = LoggedSlates.from_columns(**GOOD)
    assert records.taken_position.tolist() == [0, -1, 1]
    table = pa.table({**GOOD, "propensity": [0.5, 0.0, 0.5]}).cast(RECORD_SCHEMA)
    pq.write_table(table, tmp_path / RECORDS)
    assert main(["ope", "--feedback", str(tmp_path), "--policy", "pop"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("livereplay: error: ") and error.count("\n") == 1
    assert "record 1 (step 0, user 1) shows a slate of propensity 0" in error
    assert main(["ope", "--feedback", str(tmp_path / "none"), "--policy", "pop"]) == 2
    assert "no records.parquet" in capsys.readouterr().err


def test_the_same_seed_gives_the_same_bytes_of_the_feedback_folder(tmp_path):
    params = preset("tiny", n_steps=144)
    for name in ("a", "b"):
        log_feedback(params, "repeat", tmp_path / name, seed=5, explore="softmax:0.5")
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["choices.parquet", "log.csv", "log.schedule.csv", "records.parquet",
                     "run.json"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    choices = pq.read_table(tmp_path / "a" / "choices.parquet").to_pydict()
    totals = [sum(p) for p in choices["probabilities"]]
    np.testing.assert_allclose(totals, 1.0)
    records = pq.read_table(tmp_path / "a" / RECORDS).to_pydict()
    assert all(len(p) == len(s) + 1 for p, s in zip(choices["probabilities"], records["slate"]))
    watched = [w for w, t in zip(records["watch"], records["taken"]) if t >= 0]
    assert min(watched) >= 1 and all(w == 0 for w, t in zip(records["watch"],
                                                             records["taken"]) if t < 0)


def simulate_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    return run_simulate(parser.parse_args(list(argv)))


@pytest.mark.parametrize("argv, message", [
    (("--policy", "pop", "--explore", "epsilon:0.1"), "--explore draws the slates of a "
                                                       "--feedback run"),
    (("--policy", "pop", "--policy", "repeat", "--feedback", "fb"), "a single run"),
    (("--policy", "none", "--feedback", "fb"), "a single run"),
    (("--policy", "pop", "--feedback", "fb", "--explore", "softmax:0"),
     "TAU must be a positive number"),
    (("--policy", "pop", "--feedback", "fb", "--explore", "epsilon:2"), "E must lie in"),
    (("--policy", "pop", "--feedback", "fb", "--explore", "boltzmann:1"), "expected greedy"),
])
def test_bad_feedback_arguments_are_one_line_errors(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReplayError, match=message) as error:
        simulate_cli("--preset", "tiny", *argv)
    assert "\n" not in str(error.value)
    assert not Path("fb").exists()


def test_ope_command_prints_every_estimate_and_writes_json(tmp_path, capsys):
    folder = tmp_path / "fb"
    assert simulate_cli("--preset", "tiny", "--set", "n_steps=144", "--policy", "pop",
                        "--explore", "softmax:1", "--feedback", str(folder), "--quiet") == 0
    capsys.readouterr()
    assert main(["ope", "--feedback", str(folder), "--policy", "repeat", "--bootstrap", "50",
                 "--json", str(tmp_path / "ope.json")]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[1] for line in table[3:]] == ["logged", "ips", "snips", "dm", "dr",
                                                       "switch-dr"]
    written = json.loads((tmp_path / "ope.json").read_text())
    dr = written["estimates"]["dr"]["acceptance"]
    assert dr["low"] <= dr["value"] <= dr["high"]
    assert written["logging"]["explore"] == "softmax:1"
