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


def daily_rhythm(hourly: tuple[float, ...]) -> np.ndarray:
    """Relative weight of each of the 144 steps of a day (mean 1), interpolated from 24 hours."""
    hours = np.asarray(hourly, np.float64)
    centres = np.arange(24) * 6 + 2.5
    steps = np.arange(STEPS_PER_DAY)
    weights = np.interp(steps, np.concatenate([centres - 144, centres, centres + 144]),
                        np.tile(hours, 3))
    return weights / weights.mean()


class Broadcasts(NamedTuple):
    """Planned broadcasts, sorted by start: channel, start and stop steps, broadcast id."""

    streamer: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    stream: np.ndarray


class Streamers:
    """The channels: popularity, taste vector, schedule kind and habitual start of each."""

    def __init__(self, params: SimParams, rng: np.random.Generator) -> None:
        n = params.n_streamers
        self.params = params
        self.rhythm = daily_rhythm(params.hourly_rhythm)
        self.kind = rng.choice([AROUND_THE_CLOCK, REGULAR, IRREGULAR], size=n, p=[
            params.around_the_clock_share, params.regular_share,
            1 - params.around_the_clock_share - params.regular_share]).astype(np.int8)
        self.popularity = rng.lognormal(0.0, params.popularity_sigma, n)
        self.factors = rng.normal(0.0, 1 / np.sqrt(params.factors), (n, params.factors))
        self.habitual_start = self._start_times(n, rng)

    def _start_times(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Steps of the day at which broadcasts start, following the audience's rhythm."""
        return rng.choice(STEPS_PER_DAY, size=n, p=self.rhythm / self.rhythm.sum())

    def plan_day(self, day: int, first_stream_id: int, rng: np.random.Generator) -> Broadcasts:
        """The broadcasts starting on ``day``: channels live around the clock broadcast all day,
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


class Users:
    """The viewers: activity (sessions a day), loyalty to favourites, and taste vector."""

    def __init__(self, params: SimParams, rng: np.random.Generator) -> None:
        n = params.n_users
        self.params = params
        self.activity = rng.lognormal(np.log(params.sessions_per_day), params.activity_sigma, n)
        a = params.loyalty_mean * params.loyalty_concentration
        self.loyalty = rng.beta(a, params.loyalty_concentration - a, n)
        self.factors = rng.normal(0.0, 1 / np.sqrt(params.factors), (n, params.factors))
        self._cumulative_activity = np.cumsum(self.activity)
        self._rate = self._cumulative_activity[-1] / STEPS_PER_DAY * daily_rhythm(params.hourly_rhythm)

    def arrivals(self, t: int, rng: np.random.Generator) -> np.ndarray:
        """Users starting a session at step ``t``, in arrival order.

        Each user arrives as a Poisson process of rate activity x rhythm(t); their superposition
        is drawn at once (a Poisson total, then who, in proportion to activity), which is exact.
        """
        picks = rng.random(rng.poisson(self._rate[t % STEPS_PER_DAY])) * self._cumulative_activity[-1]
        # searched in increasing order (each search starts where the previous one landed:
        # three times faster among millions of users), then put back in arrival order
        order = np.argsort(picks)
        users = np.empty(len(picks), np.int32)
        users[order] = np.minimum(np.searchsorted(self._cumulative_activity, picks[order],
                                                  side="right"), len(self.activity) - 1)
        return users

    def watch_lengths(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """How many steps each of ``n`` viewings would last if the broadcast went on (>= 1)."""
        p = self.params
        lengths = rng.lognormal(np.log(p.watch_median_steps), p.watch_sigma, n)
        return np.maximum(1, np.ceil(lengths)).astype(np.int64)
