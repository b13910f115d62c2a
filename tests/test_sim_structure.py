"""The simulator's structure of viewing beyond the marginals -- habitual times of day, longer
viewings of familiar channels, hops that follow the channel left, tastes that drift -- the
figures of a log they are fitted to, and the fitting itself."""
from __future__ import annotations

import numpy as np
import pytest

from livereplay.data import STEPS_PER_DAY, Log
from livereplay.sim.calibration import (HABIT_WINDOW_STEPS, Fit, familiar_watch_ratio,
                                        fit_parameters, habit_concentration, hop_lift,
                                        taste_persistence)
from livereplay.sim.population import Users
from livereplay.sim.presets import preset
from livereplay.sim.world import simulate


def log_of(rows: list[tuple[int, int, int, int]]) -> Log:
    """A log of (user, streamer, start, stop) rows."""
    user, streamer, start, stop = zip(*rows)
    return Log.from_columns([f"u{u}" for u in user], list(range(len(rows))),
                            [f"s{s}" for s in streamer], list(start), list(stop))


def test_habitual_arrivals_keep_each_users_activity_and_gather_around_the_habit():
    """With habits, a user still arrives ``activity`` times a day on average, and the
    habitual share of the sessions start near the user's own time of day."""
    days = 30
    shares = {}
    for habit_share in (0.0, 0.8):
        params = preset("tiny", n_users=400, sessions_per_day=2.0, habit_share=habit_share)
        users = Users(params, np.random.default_rng(0))
        rng = np.random.default_rng(1)
        who, when = [], []
        for t in range(days * STEPS_PER_DAY):
            arrived = users.arrivals(t, rng)
            who.append(arrived)
            when.append(np.full(len(arrived), t))
        who, when = np.concatenate(who), np.concatenate(when)
        expected = users.activity * days
        assert abs(len(who) / expected.sum() - 1) < 0.02
        counts = np.bincount(who, minlength=len(expected))
        assert np.corrcoef(counts, expected)[0, 1] > 0.95
        offset = (when - users.habit[who]) % STEPS_PER_DAY
        shares[habit_share] = np.mean(np.minimum(offset, STEPS_PER_DAY - offset)
                                      <= HABIT_WINDOW_STEPS)
    # sd 6 steps: 95% of habitual starts within 12 steps; the rest by the daily rhythm
    assert shares[0.0] < 0.3
    assert 0.8 * 0.95 < shares[0.8] < 0.8 * 0.96 + 0.2 * 0.3


def test_the_figures_on_logs_of_known_structure():
    day = STEPS_PER_DAY
    # u0 starts at the same time every day; u1 three times near 4 steps past midnight and
    # twice half a day away, symmetrically (their circular mean: step 4)
    habits = log_of([(0, 0, d * day, d * day + 1) for d in range(5)]
                    + [(1, 0, d * day + at, d * day + at + 1)
                       for d, at in enumerate((0, 4, 8, 52, 100))])
    assert habit_concentration(habits) == pytest.approx((1 + 3 / 5) / 2)
    # first viewings of a channel last 2 steps, later ones 4
    familiar = log_of([(0, 1, 0, 2), (0, 1, 10, 14), (1, 2, 0, 2), (1, 2, 5, 9), (1, 2, 20, 24)])
    assert familiar_watch_ratio(familiar) == 2.0
    # u0 hops from channel 0 to 1 and, after a break, goes on to channel 2; the others'
    # second rows start while they watch (neither hops nor after a break). Audiences:
    # channel 0 {u0, u1}, 1 {u0, u1, u3}, 2 {u0, u1, u2, u4}.
    hops = log_of([(0, 0, 0, 3), (0, 1, 3, 5), (0, 2, 9, 10), (1, 0, 0, 5), (1, 1, 1, 2),
                   (1, 2, 2, 3), (2, 2, 0, 5), (3, 1, 0, 5), (3, 3, 3, 4), (4, 2, 0, 1)])
    overlap_hop = 1 / 2  # channels 0 and 1: u1, of the smaller audience (2)
    overlap_break = 1 / 3  # channels 1 and 2: u1, of the smaller audience (3)
    assert hop_lift(hops) == pytest.approx(overlap_hop / overlap_break)


@pytest.mark.parametrize("name, parameter, value, figure, change", [
    ("small", "habit_share", 0.5, habit_concentration, 0.15),
    ("small", "watch_familiarity", 0.5, familiar_watch_ratio, 0.3),
    ("small", "hop_similarity", 1.0, hop_lift, 0.05),
    # drift shows over weeks (the sample's 43 days, not small's 14)
    ("twitch-sample", "taste_drift", 0.25, taste_persistence, -0.05),
])
def test_each_mechanism_moves_the_figure_it_is_fitted_to(name, parameter, value, figure, change):
    without, with_it = (figure(simulate(preset(name, **{parameter: x}), seed=2).to_log())
                        for x in (0.0, value))
    assert (with_it - without) * np.sign(change) > abs(change)


def test_taste_drift_keeps_the_law_of_tastes_and_renews_the_given_share():
    users = Users(preset("tiny", n_users=20_000, taste_drift=0.2), np.random.default_rng(0))
    before = users.factors.copy()
    users.drift(np.random.default_rng(1))
    assert users.factors.std() == pytest.approx(before.std(), rel=0.01)
    correlation = np.corrcoef(before.ravel(), users.factors.ravel())[0, 1]
    assert correlation == pytest.approx(np.sqrt(1 - 0.2), abs=0.005)


def test_fitting_recovers_planted_structure():
    """A log simulated with known habits and watch lengths gives them back, within the
    precision of a few bisection steps and of another seed's log."""
    planted = preset("small", n_steps=7 * STEPS_PER_DAY, habit_share=0.6, watch_familiarity=0.4)
    real = simulate(planted, seed=5).to_log()
    start = preset("small", n_steps=7 * STEPS_PER_DAY)
    fitted = fit_parameters(start, [Fit("habit_share", 0.0, 1.0, habit_concentration),
                                    Fit("watch_familiarity", 0.0, 1.0, familiar_watch_ratio)],
                            real, seeds=[6], steps=4, report=lambda line: None)
    assert fitted.habit_share == pytest.approx(0.6, abs=0.08)
    assert fitted.watch_familiarity == pytest.approx(0.4, abs=0.08)
