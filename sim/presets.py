"""Simulation parameters, the named presets, and overrides from the command line or Python.

Every number the simulator uses is a field of :class:`SimParams`, so a preset is just a
:class:`SimParams` and any field can be overridden:

>>> params = preset("tiny", n_users=50)
>>> params.n_users, params.n_steps
(50, 432)
>>> preset("tiny", **parse_overrides(["hop_probability=0.3"])).hop_probability
0.3

Presets: ``tiny`` (seconds, for tests), ``small`` (a quick demo), ``twitch-sample`` (fitted
to the embedded sample), ``twitch-100k`` (the scale of the Twitch 100k file of Rappaz, McAuley
& Aberer, RecSys 2021) and ``twitch-full`` (the scale of the full release).

- ``twitch-100k``: the daily rhythm is the hourly share of row starts in the real sample; the
  viewing lengths, hop and second-streamer rates come from the sample's interval lengths,
  gaps and overlaps; the popularity, activity and loyalty laws are tuned so that the log
  lands on the real file's size, repeat share, rows per user and distinct viewers per
  streamer (:mod:`livereplay.sim.calibration`; ``python benchmarks/sim_speed.py twitch-100k
  --calibration DIR`` measures each figure against the real file's marginals). The smaller
  presets keep every law and shrink the populations and the horizon.
- Every preset holds the structure of viewing fitted to the embedded sample
  (:func:`livereplay.sim.calibration.fit_structure`, ``python benchmarks/fidelity.py
  --fit-structure``): how much users keep to their habitual time of day (``habit_share``),
  how much longer a familiar streamer is watched (``watch_familiarity``), how much a hop
  follows the streamer left (``hop_similarity``) and how fast tastes drift
  (``taste_drift``); then the median viewing length, so that the mean interval stays the
  real one (``python benchmarks/sim_speed.py --fit-interval``).
- ``twitch-sample`` is fitted to the embedded sample itself, whose users are not a uniform
  draw of the 100k file's (they watch far fewer streamers than such a draw would): its
  number of streamers, the weight of taste in an exploring user's choice and the spread of
  popularity are fitted on the sample's validation days 20-31 (``python
  benchmarks/fidelity.py --fit``, :func:`livereplay.sim.calibration.fit_parameters`) to the
  streamers the sample's users watch, to ``mf``'s hr@10 on new streamers and to ``pop``'s
  hr@1. The weight of taste so fitted is every preset's: the marginals do not constrain it,
  and it is what lets a learner that learns the users' tastes tell in closed loop.
- ``twitch-full`` keeps every law of ``twitch-100k`` but activity: the full release has
  about 8 rows per user where the 100k file has 30, so the median sessions a day are lower
  (their spread kept), and ``n_users`` and ``n_streamers`` are the release's counts over the
  share of users who ever arrive and of streamers ever watched, measured on the preset at a
  twentieth of its scale (``python benchmarks/sim_speed.py twitch-full --scale 0.05``),
  which :meth:`SimParams.scaled` makes sound: it keeps rows per user, viewers per streamer
  and those shares.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from livereplay.errors import ReplayError

# Hourly share of row starts in the real sample (step t is hour (t % 144) // 6), times 24.
REAL_HOURLY_RHYTHM = (1.14, 1.18, 1.06, 0.91, 0.88, 0.72, 0.69, 0.68, 0.61, 0.63, 0.66, 0.69,
                      0.77, 0.90, 1.04, 1.15, 1.14, 1.26, 1.35, 1.30, 1.39, 1.35, 1.30, 1.19)


@dataclass(frozen=True)
class SimParams:
    """Everything that shapes a simulated platform (steps are ten minutes, 144 a day).

    Streamers
      n_streamers           -- streamers on the platform; only those someone watches appear in the log
      popularity_sigma      -- log-normal spread of streamer popularity (heavy tail)
      around_the_clock_share, regular_share -- shares of streamers live all the time, and of
                               regular daily broadcasters (the rest broadcast irregularly)
      regular_days, irregular_days -- chance that a regular / irregular streamer is live on a day
      start_jitter_steps    -- spread of a regular broadcaster's start around its habitual time
      broadcast_median_steps, broadcast_sigma -- log-normal length of a broadcast
    Users
      n_users               -- viewers
      sessions_per_day, activity_sigma -- median sessions a day and log-normal spread (heavy tail)
      loyalty_mean, loyalty_concentration -- Beta law of the chance a user returns to a live
                               favourite (a streamer watched before, chosen by how often)
      browse_share          -- chance that a user who explores picks a live streamer at random
                               (browsing the directory) rather than by popularity and taste
      candidates            -- live streamers, drawn by popularity, that an exploring user weighs
      taste                 -- weight of the latent taste match among those candidates
      factors               -- dimension of the latent taste vectors
      taste_drift           -- share of a user's taste renewed every day (its variance), so
                               that tastes wander over the weeks (fitted)
      watch_median_steps, watch_sigma -- log-normal law of a viewing's length before rounding
                               up (bounded by the end of the broadcast)
      watch_familiarity     -- a viewing's median length is multiplied by (1 + the user's past
                               rows with the streamer) to this power: people watch what they
                               know for longer (fitted, see livereplay.sim.calibration)
      habit_share           -- share of a user's sessions that start around the user's own
                               habitual time of day (drawn from the rhythm), the rest following
                               the platform's rhythm (fitted)
      habit_spread_steps    -- standard deviation, in steps, of those sessions' start around it
      hop_similarity        -- weight, in the choice of a viewer leaving a streamer (a hop, or
                               a second streamer), of the taste match between the streamer left
                               and each candidate, relative to the user's own taste's: hops
                               follow co-watching (fitted)
      hop_probability       -- chance that a viewer moves on to another streamer when a viewing ends
      second_streamer_probability -- chance that a viewer also opens a second streamer
      hourly_rhythm         -- relative session arrivals per hour of the day (also the
                               start times of broadcasts)
    Closed loop (a slate of recommendations shown to arriving users; see livereplay.sim.closed_loop)
      slate_size            -- k, streamers shown
      accept_outside        -- utility of ignoring the slate (a multinomial logit with an
                               outside option: see Platform.accept_from_slate)
      accept_taste, accept_familiarity, accept_popularity -- weights of the taste match, of
                               log(1 + the user's past rows with the streamer) and of its log
                               popularity in a shown streamer's utility: the user's own
                               affinity weighs, popularity does not by default
      accept_position       -- weight of log(1 + place in the slate) taken off a shown
                               streamer's utility: the first places are looked at more
    Horizon
      n_steps               -- steps simulated
    """

    n_users: int = 100_000
    n_streamers: int = 500_000
    n_steps: int = 6148
    popularity_sigma: float = 2.9
    around_the_clock_share: float = 0.002
    regular_share: float = 0.35
    regular_days: float = 0.8
    irregular_days: float = 0.2
    start_jitter_steps: float = 6.0
    broadcast_median_steps: float = 30.0
    broadcast_sigma: float = 0.5
    sessions_per_day: float = 0.34
    activity_sigma: float = 1.1
    loyalty_mean: float = 0.62
    loyalty_concentration: float = 4.0
    browse_share: float = 0.06
    candidates: int = 16
    taste: float = 32.0
    factors: int = 8
    taste_drift: float = 0.004
    watch_median_steps: float = 0.75
    watch_sigma: float = 1.55
    watch_familiarity: float = 0.3
    habit_share: float = 0.36
    habit_spread_steps: float = 6.0
    hop_similarity: float = 0.016
    hop_probability: float = 0.12
    second_streamer_probability: float = 0.055
    hourly_rhythm: tuple[float, ...] = REAL_HOURLY_RHYTHM
    slate_size: int = 10
    accept_outside: float = 4.0
    accept_taste: float = 8.0
    accept_popularity: float = 0.0
    accept_familiarity: float = 4.0
    accept_position: float = 2.0

    def __post_init__(self) -> None:
        problems = [f"{name} must be positive" for name in
                    ("n_users", "n_streamers", "n_steps", "candidates", "factors", "slate_size",
                     "sessions_per_day", "broadcast_median_steps", "watch_median_steps",
                     "habit_spread_steps")
                    if getattr(self, name) <= 0]
        problems += [f"{name} must lie in [0, 1]" for name in
                     ("around_the_clock_share", "regular_share", "regular_days",
                      "irregular_days", "loyalty_mean", "browse_share", "hop_probability",
                      "second_streamer_probability", "habit_share", "taste_drift")
                     if not 0 <= getattr(self, name) <= 1]
        problems += [f"{name} must not be negative" for name in
                     ("watch_familiarity", "hop_similarity") if getattr(self, name) < 0]
        if self.around_the_clock_share + self.regular_share > 1:
            problems.append("around_the_clock_share + regular_share must be at most 1")
        if not 0 < self.loyalty_mean < 1 or self.loyalty_concentration <= 0:
            problems.append("loyalty_mean must lie in (0, 1), loyalty_concentration be positive")
        if len(self.hourly_rhythm) != 24 or min(self.hourly_rhythm) < 0 or sum(self.hourly_rhythm) <= 0:
            problems.append("hourly_rhythm must be 24 non-negative weights, not all zero")
        if problems:
            raise ReplayError("bad simulation parameters: " + "; ".join(problems))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def scaled(self, fraction: float) -> SimParams:
        """The same world with ``fraction`` of its users and of its streamers (at least one of
        each) and every law kept: rows, users and streamers in the log shrink about in
        proportion, while rows per user, viewers per streamer and the shares stay put.

        >>> preset("twitch-full").scaled(0.1).n_users == round(preset("twitch-full").n_users / 10)
        True
        """
        if not 0 < fraction <= 1:
            raise ReplayError(f"scale must lie in (0, 1] (a fraction of the users and "
                              f"streamers), not {fraction}")
        return replace(self, n_users=max(1, round(self.n_users * fraction)),
                       n_streamers=max(1, round(self.n_streamers * fraction)))


PRESETS: dict[str, SimParams] = {
    # seconds: for tests
    "tiny": SimParams(n_users=500, n_streamers=2500, n_steps=3 * 144),
    # a few thousand users over two weeks: a quick demo, and the closed-loop default
    "small": SimParams(n_users=3000, n_streamers=15_000, n_steps=14 * 144),
    # the embedded sample (2151 users of the 100k file, 6148 steps), fitted to it (see above)
    "twitch-sample": SimParams(n_users=2185, n_streamers=13_170, popularity_sigma=2.46875,
                               watch_median_steps=0.78),
    # the scale of the real 100k file: 100k users, 6148 steps
    "twitch-100k": SimParams(),
    # the scale of the full release: 15.5M users, 465k streamers, 124M rows (see above)
    "twitch-full": SimParams(n_users=18_100_000, n_streamers=470_000, sessions_per_day=0.074),
}


def preset(name: str, **overrides: Any) -> SimParams:
    """The preset ``name`` with some fields replaced (unknown names are errors)."""
    if name not in PRESETS:
        raise ReplayError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    unknown = sorted(set(overrides) - {f.name for f in fields(SimParams)})
    if unknown:
        raise ReplayError(f"unknown simulation parameter(s): {', '.join(unknown)}"
                          " (see `livereplay simulate --list-params`)")
    return replace(PRESETS[name], **overrides)


def parse_overrides(assignments: list[str]) -> dict[str, Any]:
    """``["n_users=5000", "hourly_rhythm=1,1,...", ...]`` -> typed overrides of SimParams fields."""
    types = {f.name: type(getattr(PRESETS["twitch-100k"], f.name)) for f in fields(SimParams)}
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        name = name.strip()
        if not sep:
            raise ReplayError(f"--set {assignment!r}: expected NAME=VALUE")
        if name not in types:
            raise ReplayError(f"--set {assignment!r}: unknown parameter {name!r}"
                              " (see `livereplay simulate --list-params`)")
        kind = types[name]
        try:
            if kind is tuple:
                overrides[name] = tuple(float(x) for x in text.split(","))
            elif kind is int:
                overrides[name] = int(text.replace("_", ""))
            else:
                overrides[name] = float(text)
        except ValueError:
            raise ReplayError(f"--set {assignment!r}: {text!r} is not a valid "
                              f"{'list of numbers' if kind is tuple else kind.__name__}") from None
    return overrides
