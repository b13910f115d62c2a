"""The simulator on the tiny preset: determinism, the data model, plausible marginals, the
closed loop, scaling, writing as it goes, and the command-line entry points."""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livereplay.data import STEPS_PER_DAY, default_data_path, read_csv
from livereplay.errors import ReplayError
from livereplay.sim.calibration import (CALIBRATION_FILES, calibration_file_rows, comparison_rows,
                                        ks_distance, log_stats, missing_calibration_files)
from livereplay.app.simulate import add_simulate_arguments, print_comparison, run_simulate
from livereplay.learners.registry import make_learner
from livereplay.history import PairTable
from livereplay.sim.closed_loop import run_closed_loop
from livereplay.sim.favourites import Favourites
from livereplay.sim.presets import PRESETS, parse_overrides, preset
from livereplay.sim.world import Platform, SimulatedLog, simulate, simulate_to_csv


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    return run_simulate(parser.parse_args(list(argv)))


@pytest.fixture(scope="module")
def tiny() -> SimulatedLog:
    return simulate(preset("tiny"), seed=7)


def assert_data_model(simulated: SimulatedLog) -> None:
    """Rows are valid log rows, in time order, within the horizon and within their broadcast."""
    start, stop = simulated.start, simulated.stop
    assert len(start) > 0
    assert (start >= 0).all() and (stop > start).all()
    assert stop.max() <= simulated.params.n_steps
    assert (np.diff(start) >= 0).all()
    assert simulated.user.max() < simulated.params.n_users
    assert simulated.streamer.max() < simulated.params.n_streamers
    # a broadcast id belongs to one channel
    pairs = np.unique(np.stack([simulated.stream, simulated.streamer]), axis=1)
    assert len(np.unique(pairs[0])) == pairs.shape[1]
    log = simulated.to_log()
    assert log.n_rows == len(start) and log.report.duplicates == 0


def test_same_seed_same_bytes_other_seed_other_log(tmp_path):
    paths = [tmp_path / name for name in ("a.csv", "b.csv", "c.csv")]
    for path, seed in zip(paths, ("3", "3", "4")):
        assert cli("--preset", "tiny", "--seed", seed, "--out", str(path), "--quiet") == 0
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b
    assert a != c


@pytest.mark.parametrize("name, batch_rows", [("tiny", 1), ("tiny", 1 << 20), ("small", 997)])
def test_writing_as_it_goes_gives_the_bytes_of_the_log_in_memory(tmp_path, name, batch_rows):
    params = preset(name, n_steps=4 * STEPS_PER_DAY).scaled(0.5)
    in_memory = simulate(params, seed=2)
    in_memory.write_csv(tmp_path / "memory.csv")
    summary = simulate_to_csv(params, tmp_path / "streamed.csv", seed=2, batch_rows=batch_rows)
    for kind in ("csv", "schedule.csv"):  # the log, and its true schedule beside it
        assert (tmp_path / f"streamed.{kind}").read_bytes() == \
            (tmp_path / f"memory.{kind}").read_bytes()
    assert summary == in_memory.summary()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "memory.csv", "memory.schedule.csv", "streamed.csv", "streamed.schedule.csv"]


def test_command_line_writes_the_log_at_its_scale(tmp_path, capsys):
    assert cli("--preset", "tiny", "--scale", "0.4", "--seed", "5", "--out",
               str(tmp_path / "cli.csv")) == 0
    simulated = simulate(preset("tiny").scaled(0.4), seed=5)
    simulated.write_csv(tmp_path / "memory.csv")
    assert (tmp_path / "cli.csv").read_bytes() == (tmp_path / "memory.csv").read_bytes()
    assert str(simulated.summary()) in capsys.readouterr().err


def test_a_failed_run_leaves_no_file(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(Platform, "arriving_users", fail)
    with pytest.raises(RuntimeError, match="boom"):
        simulate_to_csv(preset("tiny"), tmp_path / "log.csv")
    assert list(tmp_path.iterdir()) == []


def test_scaling_keeps_every_law_and_shrinks_the_log():
    small = preset("small")
    half = small.scaled(0.5)
    assert (half.n_users, half.n_streamers) == (small.n_users // 2, small.n_streamers // 2)
    assert replace(half, n_users=small.n_users, n_streamers=small.n_streamers) == small
    assert small.scaled(1.0) == small
    assert (small.scaled(1e-9).n_users, small.scaled(1e-9).n_streamers) == (1, 1)
    full, tenth = preset("twitch-full"), preset("twitch-full").scaled(0.1)
    assert tenth.n_users == round(full.n_users / 10) and tenth.n_steps == full.n_steps
    # rows, users and streamers of the log shrink about in proportion; the shares stay put
    params = preset("small", n_steps=4 * STEPS_PER_DAY)
    whole, part = (log_stats(simulate(p, seed=1).to_log()).scalars
                   for p in (params, params.scaled(0.5)))
    for name in ("rows", "users", "streamers"):
        assert 0.4 < part[name] / whole[name] < 0.6
    assert abs(part["repeat_share"] - whole["repeat_share"]) < 0.05


def test_written_file_loads_as_the_same_log(tmp_path, tiny):
    path = tmp_path / "tiny.csv"
    tiny.write_csv(path)
    loaded, in_memory = read_csv(path), tiny.to_log()
    assert loaded.n_rows == in_memory.n_rows == len(tiny.user)
    for column in ("user", "streamer", "start", "stop"):
        np.testing.assert_array_equal(getattr(loaded, column), getattr(in_memory, column))


def test_rows_satisfy_the_data_model(tiny):
    assert_data_model(tiny)


def test_marginals_of_the_tiny_preset_are_plausible(tiny):
    stats = log_stats(tiny.to_log()).scalars
    assert 1.5 < stats["mean_interval"] < 6
    assert 0.05 < stats["repeat_share"] < 0.8
    assert 0 < stats["simultaneous_share"] < 0.2
    assert 0 < stats["contiguous_share"] < 0.4
    assert stats["users"] > 0.5 * PRESETS["tiny"].n_users
    # the evening (18h-24h) is busier than the morning (6h-12h), as in the daily rhythm
    hour = tiny.start % STEPS_PER_DAY // 6
    assert ((hour >= 18).sum()) > 1.3 * ((hour >= 6) & (hour < 12)).sum()
    # a few channels get most of the audience: heavy-tailed popularity
    viewers = np.sort(np.bincount(tiny.streamer))[::-1]
    assert viewers[: len(viewers) // 10].sum() > 0.3 * viewers.sum()


def test_closed_loop_same_seed_same_outcome_and_pop_beats_random():
    params = preset("tiny")
    first, log_first = run_closed_loop(params, make_learner("pop", seed=5), seed=5)
    again, log_again = run_closed_loop(params, make_learner("pop", seed=5), seed=5)
    assert (first.sessions, first.rows) == (again.sessions, again.rows)
    np.testing.assert_equal(first.feedback.overall, again.feedback.overall)
    np.testing.assert_array_equal(log_first.streamer, log_again.streamer)
    assert_data_model(log_first)
    random, _ = run_closed_loop(params, make_learner("random", seed=5), seed=5)
    assert first.feedback.overall["acceptance"] > random.feedback.overall["acceptance"]
    none, _ = run_closed_loop(params, None, seed=5)
    assert np.isnan(none.feedback.overall["acceptance"])


def test_cli_closed_loop_prints_one_row_per_policy(capsys):
    assert cli("--preset", "tiny", "--set", "n_steps=144", "--policy", "random",
               "--policy", "repeat") == 0
    lines = capsys.readouterr().out.split("\n\n")[0].splitlines()
    assert lines[0].startswith("policy") and [l.split()[0] for l in lines[2:]] == ["random", "repeat"]


@pytest.mark.parametrize("argv, message", [
    (("--preset", "tiny"), "--out"),
    (("--preset", "tiny", "--out", "x.csv", "--set", "nope=1"), "unknown parameter"),
    (("--preset", "tiny", "--out", "x.csv", "--set", "n_users"), "NAME=VALUE"),
    (("--preset", "tiny", "--out", "x.csv", "--set", "n_users=many"), "not a valid int"),
    (("--preset", "tiny", "--out", "x.csv", "--set", "hop_probability=1.5"), "hop_probability"),
    (("--preset", "tiny", "--out", "no/such/dir/x.csv"), "no such directory"),
    (("--preset", "tiny", "--out", "x.csv", "--seed", "-1"), "--seed"),
    (("--preset", "tiny", "--out", "x.csv", "--policy", "pop", "--policy", "random"), "single"),
    (("--preset", "tiny", "--out", "x.csv", "--scale", "0"), r"scale must lie in \(0, 1\]"),
    (("--preset", "tiny", "--out", "x.csv", "--scale", "1.5"), r"scale must lie in \(0, 1\]"),
    (("--preset", "tiny", "--out", "x.csv", "--scale", "nan"), r"scale must lie in \(0, 1\]"),
])
def test_bad_arguments_are_one_line_errors(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReplayError, match=message) as error:
        cli(*argv)
    assert "\n" not in str(error.value)


def test_list_params_and_python_overrides(capsys):
    assert cli("--preset", "tiny", "--set", "n_users=42", "--list-params") == 0
    assert "n_users = 42" in capsys.readouterr().out
    assert preset("tiny", n_users=42) == preset("tiny", **parse_overrides(["n_users=42"]))
    with pytest.raises(ReplayError, match="unknown preset"):
        preset("huge")


def test_print_comparison_shows_every_statistic(tmp_path, tiny, capsys):
    path = tmp_path / "tiny.csv"
    tiny.write_csv(path)
    print_comparison(str(default_data_path()), str(path))
    out = capsys.readouterr().out
    assert "repeat share of rows" in out and "KS" in out


def test_calibration_files_are_read_and_their_absence_named(tmp_path):
    stats = log_stats(read_csv(default_data_path()))
    assert missing_calibration_files(tmp_path) == list(CALIBRATION_FILES)
    viewers = stats.distributions["viewers_per_streamer"]
    pd.DataFrame({"ViewerCount": viewers}).to_csv(tmp_path / CALIBRATION_FILES[0], index=False)
    assert missing_calibration_files(tmp_path) == [CALIBRATION_FILES[1]]
    pd.DataFrame({"Frequency": [1, 2, 3]}).to_csv(tmp_path / CALIBRATION_FILES[1], index=False)
    assert missing_calibration_files(tmp_path) == []
    (streamers, *_, same), (users, *_, other) = calibration_file_rows(stats, tmp_path)
    assert "viewers per streamer" in streamers and same == "KS 0.000"
    assert other != "KS 0.000"


def test_comparison_of_a_log_with_itself_is_zero():
    stats = log_stats(read_csv(default_data_path()))
    for _, real, sim, distance in comparison_rows(stats, stats):
        assert real == sim and float(distance.split()[1]) == 0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_users=st.integers(1, 40),
       n_streamers=st.integers(1, 60), n_steps=st.integers(1, 300),
       hop=st.floats(0, 1), second=st.floats(0, 1), loyalty=st.floats(0.01, 0.99))
def test_any_parameters_give_valid_deterministic_logs(seed, n_users, n_streamers, n_steps,
                                                       hop, second, loyalty):
    params = preset("tiny", n_users=n_users, n_streamers=n_streamers, n_steps=n_steps,
                    hop_probability=hop, second_streamer_probability=second,
                    loyalty_mean=loyalty, around_the_clock_share=0.2, sessions_per_day=20.0)
    simulated = simulate(params, seed)
    if len(simulated.user):
        assert_data_model(simulated)
    np.testing.assert_array_equal(simulate(params, seed).stop, simulated.stop)


@settings(max_examples=30, deadline=None)
@given(steps=st.lists(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 40)), max_size=40),
                      min_size=1, max_size=12),
       asked=st.lists(st.integers(0, 9), max_size=15))
def test_favourites_answer_as_the_pair_table(steps, asked):
    """Per-user blocks give the shared pair table's counts and order (the log depends on it)."""
    favourites, table = Favourites(n_users=10), PairTable()
    for t, rows in enumerate(steps):
        pairs = np.array(rows, np.int64).reshape(-1, 2)
        favourites.add(pairs[:, 0], pairs[:, 1])
        table.add(pairs[:, 0], pairs[:, 1], t)
        users = np.array(asked, np.int64)
        expected = table.of_users(users)[:3]
        for got, want in zip(favourites.of_users(users), expected):
            np.testing.assert_array_equal(got, want)
        streamers = np.arange(len(users)) % 41
        np.testing.assert_array_equal(favourites.counts(users, streamers),
                                      table.get(users, streamers)[0])


@given(a=st.lists(st.integers(0, 20), min_size=1, max_size=30),
       b=st.lists(st.integers(0, 20), min_size=1, max_size=30))
def test_ks_distance_is_a_symmetric_distance_in_unit_interval(a, b):
    a, b = np.array(a), np.array(b)
    d = ks_distance(a, b)
    assert 0 <= d <= 1 and d == ks_distance(b, a) and ks_distance(a, a) == 0
