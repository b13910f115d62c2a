"""Who is on the simulated platform: the streamers and their schedules, the users and their habits.

Both populations are drawn once from :class:`~livereplay.sim.presets.SimParams` and held as arrays
(one entry per streamer or user), so that everything asked of them at a step is vectorised:
which broadcasts a day holds, which users arrive at a step, how long a viewing lasts.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from livereplay.data import STEPS_PER_DAY

from .presets import SimParams

AROUND_THE_CLOCK, REGULAR, IRREGULAR = 0, 1, 2
DRIFT_BLOCK = 1 << 20  # users whose tastes drift together: bounds the memory of a day's drift


def taste_vectors(params: SimParams, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` latent taste vectors (users' or streamers'), i.i.d. normal of variance
    1/``factors`` per coordinate, so that a match (a dot product) has variance 1/``factors``."""
    return rng.normal(0.0, 1 / np.sqrt(params.factors), (n, params.factors))


def daily_rhythm(hourly: tuple[float, ...]) -> np.ndarray:
    """Relative weight of each of the 144 steps of a day (mean 1), interpolated from 24 hours."""
    hours = np.asarray(hourly, np.float64)
    centres = np.arange(24) * 6 + 2.5
    steps = np.arange(STEPS_PER_DAY)
    weights = np.interp(steps, np.concatenate([centres - 144, centres, centres + 144]),
                        np.tile(hours, 3))
    return weights / weights.mean()


class Broadcasts(NamedTuple):
    """Planned broadcasts, sorted by start: streamer, start and stop steps, broadcast id."""

    streamer: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    stream: np.ndarray


class Streamers:
    """The streamers: popularity, taste vector, schedule kind and habitual start of each."""

    def __init__(self, params: SimParams, rng: np.random.Generator) -> None:
        n = params.n_streamers
        self.params = params
        self.rhythm = daily_rhythm(params.hourly_rhythm)
        self.kind = rng.choice([AROUND_THE_CLOCK, REGULAR, IRREGULAR], size=n, p=[
            params.around_the_clock_share, params.regular_share,
            1 - params.around_the_clock_share - params.regular_share]).astype(np.int8)
        self.popularity = rng.lognormal(0.0, params.popularity_sigma, n)
        self.factors = taste_vectors(params, rng, n)
        self.habitual_start = self._start_times(n, rng)

    def _start_times(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Steps of the day at which broadcasts start, following the audience's rhythm."""
        return rng.choice(STEPS_PER_DAY, size=n, p=self.rhythm / self.rhythm.sum())

    def plan_day(self, day: int, first_stream_id: int, rng: np.random.Generator) -> Broadcasts:
        """The broadcasts starting on ``day``: streamers live around the clock broadcast all day,
        regular ones most days near their habitual time, irregular ones now and then at any time."""
        p = self.params
        chance = np.select([self.kind == AROUND_THE_CLOCK, self.kind == REGULAR],
                           [1.0, p.regular_days], p.irregular_days)
        live = np.flatnonzero(rng.random(len(self.kind)) < chance)
        kind = self.kind[live]
        jitter = np.rint(rng.normal(0.0, p.start_jitter_steps, len(live))).astype(np.int64)
        offset = np.select([kind == AROUND_THE_CLOCK, kind == REGULAR],
                           [0, (self.habitual_start[live] + jitter) % STEPS_PER_DAY],
                           self._start_times(len(live), rng))
        length = np.maximum(1, np.rint(rng.lognormal(np.log(p.broadcast_median_steps),
                                                     p.broadcast_sigma, len(live))))
        length = np.where(kind == AROUND_THE_CLOCK, STEPS_PER_DAY, length).astype(np.int64)
        start = day * STEPS_PER_DAY + offset
        keep = start < p.n_steps
        order = np.argsort(start[keep], kind="stable")
        start = start[keep][order]
        return Broadcasts(
            streamer=live[keep][order].astype(np.int32),
            start=start,
            stop=np.minimum(start + length[keep][order], p.n_steps),
            stream=first_stream_id + np.arange(len(start), dtype=np.int64),
        )


def habit_kernel(spread_steps: float) -> np.ndarray:
    """Weight of each offset (0..143 steps, modulo a day) of a session's start from the
    user's habitual time: a normal law of sd ``spread_steps`` wrapped around the day, mean 1."""
    offset = np.arange(STEPS_PER_DAY)
    distance = np.minimum(offset, STEPS_PER_DAY - offset)
    weights = np.exp(-0.5 * (distance / spread_steps) ** 2)
    return weights / weights.mean()


class Users:
    """The viewers: activity (sessions a day), loyalty to favourites, taste vector, and the
    time of day at which each habitually starts watching."""

    def __init__(self, params: SimParams, rng: np.random.Generator) -> None:
        n = params.n_users
        self.params = params
        self.activity = rng.lognormal(np.log(params.sessions_per_day), params.activity_sigma, n)
        a = params.loyalty_mean * params.loyalty_concentration
        self.loyalty = rng.beta(a, params.loyalty_concentration - a, n)
        self.factors = taste_vectors(params, rng, n)
        rhythm = daily_rhythm(params.hourly_rhythm)
        self.habit = rng.choice(STEPS_PER_DAY, size=n, p=rhythm / rhythm.sum())
        # The users by habitual time, with their activity summed in that order: the habitual
        # sessions of the users of one time are drawn from their stretch of the sum.
        self._by_habit = np.argsort(self.habit, kind="stable").astype(np.int32)
        self._cumulative_habit = np.cumsum(self.activity[self._by_habit])
        habit_activity = np.bincount(self.habit, self.activity, STEPS_PER_DAY)
        self._habit_activity = habit_activity
        self._habit_start = np.cumsum(habit_activity) - habit_activity
        # expected habitual arrivals at each step of the day from the users of each habit
        offsets = (np.arange(STEPS_PER_DAY)[:, None] - np.arange(STEPS_PER_DAY)) % STEPS_PER_DAY
        self._habit_rate = (params.habit_share / STEPS_PER_DAY * habit_activity[None, :]
                            * habit_kernel(params.habit_spread_steps)[offsets])
        self._cumulative_activity = np.cumsum(self.activity)
        self._rate = ((1 - params.habit_share) * self._cumulative_activity[-1] / STEPS_PER_DAY
                      * rhythm)

    def arrivals(self, t: int, rng: np.random.Generator) -> np.ndarray:
        """Users starting a session at step ``t``, in arrival order.

        Each user arrives as a Poisson process: at rate (1 - habit_share) x activity x
        rhythm(t), and at rate habit_share x activity x kernel(t - habit) around the user's
        habitual time. Their superposition is drawn at once, which is exact: a Poisson total,
        then each arrival's part and user -- in proportion to activity for the first part, to
        each habit's expected arrivals at t and then activity within it for the second.
        """
        habit_rate = self._habit_rate[t % STEPS_PER_DAY]
        general = self._rate[t % STEPS_PER_DAY]
        total = general + habit_rate.sum()
        picks = rng.random(rng.poisson(total))
        share = general / total  # 1.0 without habits: the picks are used as drawn
        users = np.empty(len(picks), np.int32)
        ordinary = picks < share
        users[ordinary] = self._drawn(picks[ordinary] / share * self._cumulative_activity[-1],
                                      self._cumulative_activity, None)
        if not ordinary.all():
            rate = (picks[~ordinary] - share) * total  # along the habits' expected arrivals
            cumulative_rate = np.cumsum(habit_rate)
            habit = np.minimum(np.searchsorted(cumulative_rate, rate, side="right"),
                               STEPS_PER_DAY - 1)
            within = 1 - (cumulative_rate[habit] - rate) / habit_rate[habit]
            users[~ordinary] = self._drawn(
                self._habit_start[habit] + within * self._habit_activity[habit],
                self._cumulative_habit, self._by_habit)
        return users

    def drift(self, rng: np.random.Generator) -> None:
        """A day's drift of every user's taste: a share ``taste_drift`` of its variance is
        renewed (an autoregressive step that keeps the taste vectors' law)."""
        share = self.params.taste_drift
        for first in range(0, len(self.factors), DRIFT_BLOCK):  # in place, a block at a time
            block = self.factors[first:first + DRIFT_BLOCK]
            block *= np.sqrt(1 - share)
            block += np.sqrt(share) * taste_vectors(self.params, rng, len(block))

    @staticmethod
    def _drawn(positions: np.ndarray, cumulative: np.ndarray,
               members: np.ndarray | None) -> np.ndarray:
        """The users at ``positions`` along a cumulative sum of activity (of ``members`` in
        that order, or of all users by id)."""
        # searched in increasing order (each search starts where the previous one landed:
        # three times faster among millions of users), then put back in the given order
        order = np.argsort(positions)
        index = np.empty(len(positions), np.int64)
        index[order] = np.minimum(np.searchsorted(cumulative, positions[order], side="right"),
                                  len(cumulative) - 1)
        return index if members is None else members[index]

    def watch_lengths(self, familiarity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """How many steps each viewing would last if the broadcast went on (>= 1), given the
        user's past rows with the streamer (``familiarity``, one per viewing)."""
        p = self.params
        median = np.log(p.watch_median_steps) + p.watch_familiarity * np.log1p(familiarity)
        lengths = rng.lognormal(median, p.watch_sigma, len(familiarity))
        return np.maximum(1, np.ceil(lengths)).astype(np.int64)
