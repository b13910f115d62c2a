"""Statistics of a log that a simulator must reproduce, and side-by-side comparisons.

:func:`log_stats` computes, vectorised over the rows of a :class:`livereplay.data.Log`, the
figures the presets are calibrated on (size, interval lengths, repeat share, rows per user,
distinct viewers per streamer, simultaneous viewing) and the distributions behind them
(compared by the two-sample Kolmogorov-Smirnov statistic). Beyond the marginals, four
figures of the structure of viewing -- habits, longer viewings of familiar streamers, hops
that follow the streamer left, taste drift -- are what :func:`fit_structure` fits the
simulator's mechanisms to, and :func:`fit_parameters` fits any parameter to any figure.

>>> from livereplay.data import read_csv, default_data_path
>>> stats = log_stats(read_csv(default_data_path()))
>>> round(stats.scalars["repeat_share"], 3), stats.scalars["median_rows_per_user"]
(0.55, 13.0)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from livereplay.arrays import distinct, expand_ranges, pair_keys, positions, split_pair_keys
from livereplay.data import STEPS_PER_DAY, Log

from .presets import SimParams
from .world import simulate

# The Twitch 100k file (100k_a.csv), as given by its own aggregates in the calibration files:
# rows = sum of per-user frequencies, mean interval = total watch volume / rows, distinct
# pairs = sum of distinct viewers over streamers.
REAL_100K: dict[str, float] = {
    "rows": 3_051_733,
    "streamers": 162_625,
    "mean_interval": 3.14,
    "repeat_share": 1 - 1_505_158 / 3_051_733,
    "median_rows_per_user": 16,
    "single_viewer_share": 0.551,
    "top1_pair_share": 0.525,
}
# The full release, as published (rounded): only its size is known here.
REAL_FULL: dict[str, float] = {"rows": 124_000_000, "users": 15_500_000, "streamers": 465_000}
# Counts that shrink with the log when users and streamers are scaled; the rest are shares.
SIZES = ("rows", "users", "streamers")

SCALARS = {
    "rows": "rows",
    "users": "distinct users",
    "streamers": "distinct streamers",
    "mean_interval": "mean interval (steps)",
    "repeat_share": "repeat share of rows",
    "median_rows_per_user": "median rows per user",
    "single_viewer_share": "streamers with one viewer",
    "top1_pair_share": "pairs held by top 1% streamers",
    "simultaneous_share": "rows starting while watching",
    "contiguous_share": "rows starting as another stops",
}
# Allowed relative error of a preset calibrated on real figures.
TOLERANCE: dict[str, float] = {name: 0.10 for name in SCALARS} | {"median_rows_per_user": 0.20}
DISTRIBUTIONS = {
    "interval": "interval length",
    "rows_per_user": "rows per user",
    "viewers_per_streamer": "distinct viewers per streamer",
    "streamers_per_user": "distinct streamers per user",
    "step_of_day": "start step of day (rhythm)",
}


@dataclass(frozen=True)
class LogStats:
    """Scalar statistics (names in SCALARS) and samples of distributions (in DISTRIBUTIONS)."""

    scalars: dict[str, float]
    distributions: dict[str, np.ndarray]


def _columns(log: Log) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(user, streamer, start, stop) as int64, for keys and sums that overflow int32."""
    return tuple(getattr(log, name).astype(np.int64)
                 for name in ("user", "streamer", "start", "stop"))


def log_stats(log: Log) -> LogStats:
    """The calibration statistics of a log."""
    user, streamer, start, stop = _columns(log)
    interval = stop - start
    pairs = distinct(pair_keys(user, streamer))
    pair_user, pair_streamer = split_pair_keys(pairs)
    rows_per_user = np.bincount(user, minlength=log.n_users)
    viewers = np.bincount(pair_streamer, minlength=log.n_streamers)
    top = np.sort(viewers)[::-1][: max(1, len(viewers) // 100)]
    scalars = {
        "rows": float(log.n_rows),
        "users": float(log.n_users),
        "streamers": float(log.n_streamers),
        "mean_interval": float(interval.mean()),
        "repeat_share": 1 - len(pairs) / log.n_rows,
        "median_rows_per_user": float(np.median(rows_per_user)),
        "single_viewer_share": float((viewers == 1).mean()),
        "top1_pair_share": float(top.sum() / len(pairs)),
        **_overlaps(user, start, stop),
    }
    return LogStats(scalars, {
        "interval": interval,
        "rows_per_user": rows_per_user,
        "viewers_per_streamer": viewers,
        "streamers_per_user": np.bincount(pair_user, minlength=log.n_users),
        "step_of_day": start % STEPS_PER_DAY,
    })


def _previous_stops(user: np.ndarray, start: np.ndarray,
                    stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, previous_stop): the rows by user, then start, and for each of them in that
    order the last stop of the user's earlier rows (-1 for a user's first row)."""
    order = np.lexsort((stop, start, user))
    span = int(stop.max()) + 1
    # Keys user * span + stop grow with the user, so a running maximum restarts at each user.
    running = np.maximum.accumulate(user[order] * span + stop[order])
    previous = np.concatenate([[-1], running[:-1]])
    same_user = previous // span == user[order]
    return order, np.where(same_user, previous % span, -1)


def _overlaps(user: np.ndarray, start: np.ndarray, stop: np.ndarray) -> dict[str, float]:
    """Shares of rows that start while an earlier row of the same user is going on, and that
    start exactly when the user's previous rows have all stopped (a hop)."""
    order, previous_stop = _previous_stops(user, start, stop)
    return {"simultaneous_share": float((start[order] < previous_stop).mean()),
            "contiguous_share": float((start[order] == previous_stop).mean())}


# --- structure of viewing, beyond the marginals: what the simulator's habits, watch
# lengths, hops and taste drift are fitted to (:func:`structure_fits`) ---------------------

HABIT_WINDOW_STEPS = 12  # two hours either side of a user's usual time of day
HABIT_MIN_SESSIONS = 5


def habit_concentration(log: Log) -> float:
    """How much users keep to their usual time of day: over users with at least
    ``HABIT_MIN_SESSIONS`` sessions, the mean share of their session starts (rows starting
    after a gap in the user's viewing) within ``HABIT_WINDOW_STEPS`` of their circular mean
    start time of day. Users who start at any hour score about the window's share of the
    day (weighted by the daily rhythm); users of fixed habits score 1."""
    user, _, start, stop = _columns(log)
    order, previous_stop = _previous_stops(user, start, stop)
    session = start[order] > previous_stop
    who, when = user[order][session], start[order][session] % STEPS_PER_DAY
    angle = 2 * np.pi * when / STEPS_PER_DAY
    sessions = np.bincount(who, minlength=log.n_users)
    mean_angle = np.arctan2(np.bincount(who, np.sin(angle), log.n_users),
                            np.bincount(who, np.cos(angle), log.n_users))
    offset = np.abs(np.angle(np.exp(1j * (angle - mean_angle[who])))) * STEPS_PER_DAY / (2 * np.pi)
    near = np.bincount(who, offset <= HABIT_WINDOW_STEPS, log.n_users)
    keep = sessions >= HABIT_MIN_SESSIONS
    return float((near[keep] / sessions[keep]).mean())


def _first_of_pairs(log: Log) -> np.ndarray:
    """Whether each row is its (user, streamer) pair's first, in time order."""
    keys = pair_keys(log.user, log.streamer)
    order = np.lexsort((log.start, keys))
    first = np.ones(len(keys), bool)
    first[order[1:]] = keys[order[1:]] != keys[order[:-1]]
    return first


def familiar_watch_ratio(log: Log) -> float:
    """How much longer users watch streamers they know: the mean interval of rows on a
    streamer the user watched before over that of rows on a streamer new to the user."""
    interval = (log.stop - log.start).astype(np.float64)
    new = _first_of_pairs(log)
    return float(interval[~new].mean() / interval[new].mean())


def _co_viewer_overlap(log: Log, a: np.ndarray, b: np.ndarray, viewer: np.ndarray) -> np.ndarray:
    """For each pair of streamers (a[i], b[i]): how many users other than ``viewer[i]``
    watched both, over the smaller of the two audiences (0 to 1), from the log's pairs."""
    pairs = distinct(pair_keys(log.user, log.streamer))
    audience = np.bincount(split_pair_keys(pairs)[1], minlength=log.n_streamers)
    # look among the viewers of whichever streamer of the two has fewer
    swap = audience[a] > audience[b]
    small, large = np.where(swap, b, a), np.where(swap, a, b)
    by_channel = np.sort((pairs & 0xFFFFFFFF) << 32 | pairs >> 32)  # streamer << 32 | user
    lo = np.searchsorted(by_channel, small << 32)
    index, slot = expand_ranges(lo, lo + audience[small])
    other = by_channel[slot] & 0xFFFFFFFF
    both = (positions(pairs, pair_keys(other, large[index])) >= 0) & (other != viewer[index])
    shared = np.bincount(index[both], minlength=len(a))
    return shared / np.maximum(1, np.minimum(audience[a], audience[b]))


def hop_lift(log: Log) -> float:
    """How much hops follow the streamer left, beyond the user's taste: over the rows on a
    streamer new to the user that follow another row of the user, the mean co-viewer
    overlap of their streamer with the previous row's (:func:`_co_viewer_overlap`) on hops
    (rows starting as the user's viewing stops), over the same on rows after a break. 1:
    a hop lands no closer to the streamer just left than a new choice after a break lands
    to the last streamer watched."""
    user, streamer, start, stop = _columns(log)
    order, previous_stop = _previous_stops(user, start, stop)
    user, start, streamer = user[order], start[order], streamer[order]
    follows = np.concatenate([[False], user[1:] == user[:-1]]) & _first_of_pairs(log)[order]
    previous = np.concatenate([[-1], streamer[:-1]])[follows]
    overlap = _co_viewer_overlap(log, previous, streamer[follows], user[follows])
    hop, after_break = (start == previous_stop)[follows], (start > previous_stop)[follows]
    return float(overlap[hop].mean() / overlap[after_break].mean())


def taste_persistence(log: Log) -> float:
    """How much a user's taste persists over the weeks: over successive pairs of a user's
    rows on streamers new to the user, the mean co-viewer overlap of the two streamers
    (:func:`_co_viewer_overlap`) when the second started a week or more after the first,
    over the same when it started within a day. Tastes that drift make choices a week apart
    less alike than choices a day apart."""
    first = _first_of_pairs(log)
    user, streamer, start, _ = (column[first] for column in _columns(log))
    order = np.lexsort((start, user))
    user, start, streamer = user[order], start[order], streamer[order]
    same = user[1:] == user[:-1]
    gap = (start[1:] - start[:-1])[same]
    overlap = _co_viewer_overlap(log, streamer[:-1][same], streamer[1:][same], user[1:][same])
    return float(overlap[gap >= 7 * STEPS_PER_DAY].mean() / overlap[gap <= STEPS_PER_DAY].mean())


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs.

    >>> ks_distance(np.array([1, 2, 3]), np.array([1, 2, 3]))
    0.0
    >>> ks_distance(np.array([0, 0]), np.array([1, 1]))
    1.0
    """
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    gap = np.searchsorted(a, grid, side="right") / len(a) - np.searchsorted(b, grid, side="right") / len(b)
    return float(np.abs(gap).max())


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b between two scorings of the same items: +1 when they order every pair
    alike, -1 when they order every pair oppositely (ties count for neither).

    >>> kendall_tau(np.array([0.1, 0.5, 0.3]), np.array([1.0, 3.0, 2.0]))
    1.0
    >>> kendall_tau(np.array([0.1, 0.5, 0.3]), np.array([2.0, 1.0, 3.0]))
    -0.333...
    """
    first, second = np.triu_indices(len(a), 1)
    sign_a, sign_b = np.sign(a[first] - a[second]), np.sign(b[first] - b[second])
    untied = np.count_nonzero(sign_a) * np.count_nonzero(sign_b)
    return float((sign_a * sign_b).sum() / np.sqrt(untied)) if untied else float("nan")


def fit_monotone(statistic: Callable[[float], float], target: float, low: float, high: float,
                 steps: int = 6) -> float:
    """The value in [low, high] at which a statistic that moves monotonically with it (up or
    down) meets ``target``, by bisection: ``steps`` halvings after evaluating both ends (a
    target outside their range gives the nearer end). Used to fit a simulation parameter to
    a figure of the real sample, the statistic simulating a log for each value.

    >>> round(fit_monotone(lambda x: 10 - x ** 2, 6.0, 0.0, 3.0, steps=20), 4)
    2.0
    """
    at_low, at_high = statistic(low), statistic(high)
    rising = at_high > at_low
    if (target <= min(at_low, at_high)) or (target >= max(at_low, at_high)):
        return low if abs(at_low - target) <= abs(at_high - target) else high
    for _ in range(steps):
        middle = (low + high) / 2
        if (statistic(middle) < target) == rising:
            low = middle
        else:
            high = middle
    return (low + high) / 2


@dataclass(frozen=True)
class Fit:
    """A parameter of :class:`~livereplay.sim.presets.SimParams` to fit, in [low, high]
    (bisected on a log scale if ``log``, rounded if ``integer``), and the figure of a log it
    should reproduce (computed on the real log for the target, on simulated logs to fit)."""

    parameter: str
    low: float
    high: float
    figure: Callable[[Log], float]
    log: bool = False
    integer: bool = False

    def value(self, x: float) -> float:
        """The parameter's value at ``x``, a point of the bisected scale."""
        value = float(np.exp(x)) if self.log else x
        return round(value) if self.integer else value


def fit_parameters(params: SimParams, fits: Sequence[Fit], real: Log | Sequence[float],
                   seeds: Sequence[int], rounds: int = 1, steps: int = 5,
                   report: Callable[[str], None] = print) -> SimParams:
    """``params`` with each parameter of ``fits`` fitted in turn (the ones before it already
    set), by :func:`fit_monotone` on its figure averaged over the logs of ``seeds`` (one log
    at the sample's scale varies from seed to seed), against the figure on ``real`` (or
    the targets given, one per fit); all of them ``rounds`` times over, as each moves the
    others' figures.

    Recovering the users behind a log from its number of rows:

    >>> from livereplay.sim.presets import preset
    >>> real = simulate(preset("tiny", n_users=600), seed=1).to_log()
    >>> fit = Fit("n_users", 200, 1000, lambda log: log.n_rows, integer=True)
    >>> fitted = fit_parameters(preset("tiny"), [fit], real, seeds=[1], report=lambda line: None)
    >>> 550 <= fitted.n_users <= 650
    True
    """
    targets = ([fit.figure(real) for fit in fits] if isinstance(real, Log)
               else [float(target) for target in real])
    for fit, target in [item for _ in range(rounds) for item in zip(fits, targets)]:

        def simulated(x: float, fit: Fit = fit, target: float = target) -> float:
            trial = replace(params, **{fit.parameter: fit.value(x)})
            value = float(np.mean([fit.figure(simulate(trial, seed).to_log()) for seed in seeds]))
            report(f"{fit.parameter} {fit.value(x):g}: {value:.4f} (real {target:.4f})")
            return value

        scale = np.log if fit.log else float
        x = fit_monotone(simulated, target, scale(fit.low), scale(fit.high), steps=steps)
        params = replace(params, **{fit.parameter: fit.value(x)})
        report(f"fitted {fit.parameter} = {fit.value(x):g}")
    return params


def structure_fits() -> tuple[Fit, ...]:
    """What :func:`fit_structure` fits, in this order, each to a figure of the real sample:
    the share of habitual sessions to how users keep to their usual time of day, how much
    longer familiar streamers are watched to the ratio of their viewings' mean lengths, how
    much hops follow the streamer left to how much closer to it (in co-viewers) they land
    than choices after a break land to the last streamer watched, and how fast tastes drift
    to how much less alike new choices a week apart are than new choices a day apart."""
    return (Fit("habit_share", 0.0, 1.0, habit_concentration),
            Fit("watch_familiarity", 0.0, 1.0, familiar_watch_ratio),
            Fit("hop_similarity", 0.0, 1.0, hop_lift),
            Fit("taste_drift", 0.0, 0.25, taste_persistence))


def fit_structure(params: SimParams, real: Log, seeds: Sequence[int], rounds: int = 2,
                  report: Callable[[str], None] = print) -> SimParams:
    """``params`` with the parameters of :func:`structure_fits` fitted to the ``real`` log
    (each figure averaged over the simulated logs of ``seeds``, at the scale of ``params``),
    then the median viewing length refitted so that the mean interval stays the real one:
    watching familiar streamers longer lengthens viewings overall.

    ``python benchmarks/fidelity.py --fit-structure --seeds 0,1`` runs it on the embedded
    sample with the ``twitch-sample`` preset; the presets hold the values it prints."""
    fits = (*structure_fits(), MEAN_INTERVAL_FIT)
    return fit_parameters(params, fits, real, seeds, rounds=rounds, report=report)


def mean_interval(log: Log) -> float:
    """The mean length of a row, in steps."""
    return float((log.stop - log.start).mean())


#: The median viewing length, fitted to a log's mean interval (``benchmarks/sim_speed.py
#: --fit-interval`` fits it to the real 100k file's).
MEAN_INTERVAL_FIT = Fit("watch_median_steps", 0.25, 2.0, mean_interval, log=True)


def comparison_rows(real: LogStats, sim: LogStats) -> list[tuple[str, str, str, str]]:
    """(statistic, real, simulated, distance): relative difference for figures, KS statistic
    for distributions (shown by their median and mean)."""
    rows = []
    for name, label in SCALARS.items():
        a, b = real.scalars[name], sim.scalars[name]
        rows.append((label, _number(a), _number(b), f"rel {abs(b - a) / abs(a):.3f}" if a else "-"))
    for name, label in DISTRIBUTIONS.items():
        a, b = real.distributions[name], sim.distributions[name]
        rows.append((label, _summary(a), _summary(b), f"KS {ks_distance(a, b):.3f}"))
    return rows


def calibration_rows(sim: LogStats | dict[str, float], real: dict[str, float] = REAL_100K,
                     scale: float = 1.0) -> list[tuple[str, str, str, str, str]]:
    """(statistic, real, simulated, relative error, within tolerance?) for the ``real``
    figures (REAL_100K or REAL_FULL) that ``sim`` has (its statistics, or some scalars),
    the SIZES taken at ``scale`` to compare a preset run at that scale."""
    scalars = sim.scalars if isinstance(sim, LogStats) else sim
    rows = []
    for name, target in real.items():
        if name not in scalars:
            continue
        value, target = scalars[name], round(target * scale) if name in SIZES else target
        error = abs(value - target) / abs(target)
        rows.append((SCALARS[name], _number(target), _number(value), f"{error:.3f}",
                     "ok" if error <= TOLERANCE[name] else f"OFF (>{TOLERANCE[name]:.0%})"))
    return rows


CALIBRATION_FILES = ("streamer_viewer_distribution.csv", "rfm_user_segments.csv")


def missing_calibration_files(directory: str | Path) -> list[str]:
    """The calibration files (:data:`CALIBRATION_FILES`) that ``directory`` lacks."""
    return [name for name in CALIBRATION_FILES if not (Path(directory) / name).is_file()]


def calibration_file_rows(sim: LogStats, directory: str | Path) -> list[tuple[str, str, str, str]]:
    """KS distances to the real per-streamer and per-user distributions in the calibration
    files (:data:`CALIBRATION_FILES`)."""
    viewers_file, users_file = (Path(directory) / name for name in CALIBRATION_FILES)
    viewers = pd.read_csv(viewers_file)["ViewerCount"].to_numpy()
    frequency = pd.read_csv(users_file)["Frequency"].to_numpy()
    return [(label, _summary(a), _summary(sim.distributions[name]),
             f"KS {ks_distance(a, sim.distributions[name]):.3f}")
            for name, label, a in (("viewers_per_streamer", DISTRIBUTIONS["viewers_per_streamer"], viewers),
                                   ("rows_per_user", DISTRIBUTIONS["rows_per_user"], frequency))]


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A plain-text table with aligned columns."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def _number(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() and abs(x) >= 10 else f"{x:.3f}"


def _summary(sample: np.ndarray) -> str:
    return f"med {np.median(sample):g} mean {np.mean(sample):.2f}"
