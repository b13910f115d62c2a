"""Feedback metrics of a closed-loop run: what the slates did to what people watch.

A closed loop feeds back: what a policy shows shapes what users watch, which is what the
policy learns from next. These metrics measure that beyond acceptance, over the whole run
and per simulated day (their drift), from the simulated log and from what the slates showed
(:class:`Exposure`, recorded as the run goes):

acceptance        -- share of the users shown a slate who took a streamer from it
watch_per_user    -- viewing steps per active user and day (a user is active on a day when a
                     row of theirs starts that day; both streamers count when a user watches
                     two at once)
new_share         -- share of viewing steps on streamers new to the user (never watched before
                     the viewing started)
impression_gini   -- Gini coefficient of impressions (slate entries shown) over the streamers
                     live that day: 0 when every live streamer is shown equally, near 1 when a
                     few take every impression
watch_gini        -- Gini coefficient of viewing steps over the streamers live that day
diversity         -- distinct streamers watched per active user and day

Rows belong to the day their viewing starts. Over the whole run, per-user-day metrics are
totals over total active user-days, and the Gini coefficients are over the streamers live at
some point of the run, of their totals. ``drift`` is each daily series' least-squares slope,
in units per day.

>>> log = dict(user=np.array([0, 0, 1]), streamer=np.array([5, 6, 5]),
...            start=np.array([0, 1, 150]), stop=np.array([2, 2, 151]),
...            new=np.array([True, True, False]))
>>> daily_log_metrics(**log, n_days=2)["diversity"]
array([2., 1.])
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from livereplay.arrays import distinct, pair_keys, positions
from livereplay.data import STEPS_PER_DAY
from livereplay.ope import CHOICE_SCHEMA, CHOICES, LOG, RECORD_SCHEMA, RECORDS, RUN

from .world import SimulatedLog

#: Every feedback metric, in the order reports show them.
METRICS = ("acceptance", "watch_per_user", "new_share", "impression_gini", "watch_gini",
           "diversity")


def gini(values: np.ndarray, groups: np.ndarray | None = None, n_groups: int = 1) -> np.ndarray:
    """Gini coefficient of the non-negative ``values`` within each group (0..n_groups-1; all
    in group 0 if None): ``sum_i (2i - n - 1) x_(i) / (n sum x)`` with the group's n values
    sorted ascending (i = 1..n). 0 when all are equal, (n-1)/n when one holds everything;
    NaN for a group with no values or a zero total.

    >>> gini(np.array([0., 0., 0., 4.]))
    array([0.75])
    >>> gini(np.array([1., 3., 2., 2.]), groups=np.array([0, 0, 1, 1]), n_groups=3)
    array([0.25, 0.  ,  nan])
    """
    values = np.asarray(values, np.float64)
    groups = np.zeros(len(values), np.int64) if groups is None else np.asarray(groups, np.int64)
    order = np.lexsort((values, groups))
    group, value = groups[order], values[order]
    size = np.bincount(group, minlength=n_groups)
    rank = np.arange(1, len(value) + 1) - (np.cumsum(size) - size)[group]
    weighted = np.bincount(group, weights=(2 * rank - size[group] - 1) * value,
                           minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return weighted / (size * np.bincount(group, weights=value, minlength=n_groups))


def daily_log_metrics(user: np.ndarray, streamer: np.ndarray, start: np.ndarray,
                      stop: np.ndarray, new: np.ndarray, n_days: int) -> dict[str, np.ndarray]:
    """The per-user metrics of a log, per day: ``watch_per_user``, ``new_share`` and
    ``diversity`` (NaN on a day without rows), with the totals they are ratios of
    (``watch``, ``new_watch``, ``active``: active users, ``distinct``: distinct (user,
    streamer) pairs)."""
    day = np.asarray(start, np.int64) // STEPS_PER_DAY
    length = (np.asarray(stop, np.int64) - start).astype(np.float64)
    users = int(np.max(user, initial=0)) + 1
    user_days = distinct(day * users + user)
    pair_days = distinct(pair_keys(day * users + user, streamer)) >> 32
    totals = {"watch": np.bincount(day, weights=length, minlength=n_days),
              "new_watch": np.bincount(day[new], weights=length[new], minlength=n_days),
              "active": np.bincount(user_days // users, minlength=n_days).astype(np.float64),
              "distinct": np.bincount(pair_days // users, minlength=n_days).astype(np.float64)}
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"watch_per_user": totals["watch"] / totals["active"],
                "new_share": totals["new_watch"] / totals["watch"],
                "diversity": totals["distinct"] / totals["active"], **totals}


class Exposure:
    """What the slates of a run showed, recorded as it goes at a cost per step of one
    bincount of the slates over the streamers (never users x streamers): per day, the streamers
    live when a slate was shown, the impressions of each streamer, the users shown a
    (non-empty) slate and those who took a streamer from it."""

    def __init__(self, n_channels: int, n_steps: int) -> None:
        n_days = -(-n_steps // STEPS_PER_DAY)
        self.live = np.zeros((n_days, n_channels), bool)
        self.impressions_today = np.zeros(n_channels, np.int64)
        self.impressions: list[np.ndarray] = []  # per finished day: (day, streamer, count) rows
        self.shown = np.zeros(n_days, np.int64)
        self.taken = np.zeros(n_days, np.int64)

    @property
    def n_days(self) -> int:
        return len(self.shown)

    def record_slates(self, t: int, live: np.ndarray, slates: np.ndarray) -> None:
        """The streamers live at step ``t`` and the slates shown (one row per user)."""
        day = t // STEPS_PER_DAY
        while len(self.impressions) < day:
            self._close_day()
        self.live[day, live] = True
        self.impressions_today += np.bincount(slates.ravel(),
                                              minlength=len(self.impressions_today))

    def record_choices(self, t: int, channels: np.ndarray) -> None:
        """What the users shown a slate at step ``t`` did: the streamer each took, -1 if none."""
        self.shown[t // STEPS_PER_DAY] += len(channels)
        self.taken[t // STEPS_PER_DAY] += int((channels >= 0).sum())

    def daily_impressions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(day, streamer, impressions) of every streamer shown on a day."""
        while len(self.impressions) < self.n_days:
            self._close_day()
        rows = np.concatenate([np.empty((0, 3), np.int64)] + self.impressions)
        return rows[:, 0], rows[:, 1], rows[:, 2]

    def _close_day(self) -> None:
        channel = np.flatnonzero(self.impressions_today)
        day = np.full(len(channel), len(self.impressions))
        self.impressions.append(np.column_stack([day, channel, self.impressions_today[channel]]))
        self.impressions_today[:] = 0


@dataclass(frozen=True)
class Feedback:
    """The feedback metrics (:data:`METRICS`) of one run: over the whole run, per day, and
    the drift (least-squares slope per day of each daily series)."""

    overall: dict[str, float]
    per_day: dict[str, np.ndarray]

    @property
    def drift(self) -> dict[str, float]:
        return dict(zip(METRICS, slope_per_day(np.array([self.per_day[m] for m in METRICS]))))


def slope_per_day(series: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of ``series`` (one column per day) against the day,
    over its finite values (NaN with fewer than two).

    >>> slope_per_day(np.array([[1., 3., 5.], [2., np.nan, 2.]]))
    array([2., 0.])
    """
    finite = np.isfinite(series)
    days = np.broadcast_to(np.arange(series.shape[1], dtype=np.float64), series.shape)
    count = finite.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_day = np.where(finite, days, 0).sum(axis=1) / count
        mean_value = np.where(finite, series, 0).sum(axis=1) / count
        centred = np.where(finite, days - mean_day[:, None], 0)
        return ((centred * np.where(finite, series - mean_value[:, None], 0)).sum(axis=1)
                / (centred ** 2).sum(axis=1))


def feedback(simulated: SimulatedLog, exposure: Exposure) -> Feedback:
    """The feedback metrics of a run from its log and what its slates showed."""
    n_days, n_channels = exposure.live.shape
    user, streamer, start = simulated.user, simulated.streamer, simulated.start
    daily = daily_log_metrics(user, streamer, start, simulated.stop, simulated.new, n_days)
    # the streamer-days that count for concentration: live when a slate was shown, or watched
    length = (simulated.stop.astype(np.int64) - start).astype(np.float64)
    watched = start.astype(np.int64) // STEPS_PER_DAY * n_channels + streamer
    shown_day, shown_channel, shown_count = exposure.daily_impressions()
    shown = shown_day * n_channels + shown_channel
    support = distinct(np.concatenate([np.flatnonzero(exposure.live), watched]))
    watch = np.bincount(positions(support, watched), weights=length, minlength=len(support))
    impressions = np.bincount(positions(support, shown), weights=shown_count,
                              minlength=len(support))
    day, channel = support // n_channels, support % n_channels
    ever = distinct(channel)
    totals = [np.bincount(positions(ever, channel), weights=v, minlength=len(ever))
              for v in (impressions, watch)]
    with np.errstate(invalid="ignore", divide="ignore"):
        per_day = {"acceptance": exposure.taken / exposure.shown,
                   **{m: daily[m] for m in ("watch_per_user", "new_share", "diversity")},
                   "impression_gini": gini(impressions, day, n_days),
                   "watch_gini": gini(watch, day, n_days)}
        overall = {"acceptance": exposure.taken.sum() / exposure.shown.sum(),
                   "watch_per_user": daily["watch"].sum() / daily["active"].sum(),
                   "new_share": daily["new_watch"].sum() / daily["watch"].sum(),
                   "impression_gini": float(gini(totals[0])[0]),
                   "watch_gini": float(gini(totals[1])[0]),
                   "diversity": daily["distinct"].sum() / daily["active"].sum()}
    return Feedback({m: float(overall[m]) for m in METRICS}, {m: per_day[m] for m in METRICS})


class SlateRecords:
    """Every slate a run showed, one record each, as it goes (``--feedback``): the complement
    of :class:`Exposure`, which keeps daily totals only. A record holds the step, the user,
    the live streamers, the slate, its propensity and position propensities
    (:mod:`livereplay.sim.explore`), the streamer taken (-1 if none), the steps of the viewing
    that followed, and -- apart, for validation -- the simulator's exact probability of each
    choice given the slate.

    ``probe`` (optional): for record i, an (M, width) array of other slates (streamer ids)
    evaluated at the record's moment by the same choice model, without showing them: the
    probability that each would have been accepted, there and then, is kept in
    ``probe_acceptance`` (one (n, M) block per step: what a target policy's slates would
    have been accepted with).
    """

    def __init__(self, probe: list[np.ndarray] | None = None) -> None:
        self.parts: list[dict[str, Any]] = []
        self.probe = probe
        self.probe_acceptance: list[np.ndarray] = []
        self.n_records = 0

    def add_slates(self, t: int, users: np.ndarray, live: np.ndarray, slates: np.ndarray,
                   propensity: np.ndarray, position_propensity: np.ndarray) -> None:
        """The slates shown at step ``t`` (one row per user, streamer ids) and their
        propensities."""
        self.parts.append({"step": np.full(len(users), t, np.int32), "user": users,
                           "live": live, "slate": slates, "propensity": propensity,
                           "position_propensity": position_propensity,
                           "taken": np.full(len(users), -1, np.int64),
                           "watch": np.zeros(len(users), np.int64)})

    def add_choices(self, t: int, taken: np.ndarray,
                    choice_probabilities: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        """What the users shown the last slates did (the streamer taken, -1 if none), and the
        choice model's probabilities of every choice, ``choice_probabilities(users,
        slates)``, for those slates and the probe's."""
        part = self.parts[-1]
        part["taken"] = np.asarray(taken, np.int64)
        part["probabilities"] = choice_probabilities(part["user"], part["slate"])
        first, self.n_records = self.n_records, self.n_records + len(taken)
        if self.probe is not None:
            probe = self.probe[first:self.n_records]
            n_draws = probe[0].shape[0] if probe else 0
            slates = np.concatenate([np.empty((0, part["slate"].shape[1]), np.int64)]
                                    + [p[:, :part["slate"].shape[1]] for p in probe])
            ignored = choice_probabilities(np.repeat(part["user"], n_draws), slates)[:, 0]
            self.probe_acceptance.append(1 - ignored.reshape(len(taken), n_draws))

    def add_rows(self, t: int, users: np.ndarray, streamers: np.ndarray,
                 stops: np.ndarray) -> None:
        """The rows that started at step ``t``: the viewing of each taken streamer gives the
        record its watch time."""
        if not self.parts or self.parts[-1]["step"][:1].tolist() != [t]:
            return
        part = self.parts[-1]
        keys = pair_keys(users, streamers)
        order = np.argsort(keys, kind="stable")
        taken = part["taken"] >= 0
        row = positions(keys[order], pair_keys(part["user"][taken], part["taken"][taken]))
        found = row >= 0
        part["watch"][np.flatnonzero(taken)[found]] = (
            np.asarray(stops, np.int64)[order[row[found]]] - t)

    def tables(self) -> tuple[pa.Table, pa.Table]:
        """The records (``livereplay.ope.RECORD_SCHEMA``) and the choice probabilities
        (``CHOICE_SCHEMA``), in the order shown."""
        def lists(key: str, kind: pa.DataType) -> pa.Array:
            """A list column from each part's (n, width) block (the live streamers: one row
            repeated for every user of the part)."""
            blocks = [np.broadcast_to(part[key], (len(part["user"]), np.shape(part[key])[-1]))
                      for part in self.parts]
            lengths = np.concatenate([np.zeros(1, np.int64)]
                                     + [np.full(len(b), b.shape[1]) for b in blocks])
            values = np.concatenate([np.empty(0)] + [b.ravel() for b in blocks])
            return pa.ListArray.from_arrays(pa.array(np.cumsum(lengths).astype(np.int32)),
                                            pa.array(values.astype(kind.to_pandas_dtype())))

        def column(key: str) -> np.ndarray:
            return np.concatenate([np.empty(0)] + [part[key] for part in self.parts])

        step, user = column("step"), column("user")
        records = pa.table({
            "step": step, "user": user, "live": lists("live", pa.int32()),
            "slate": lists("slate", pa.int32()), "propensity": column("propensity"),
            "position_propensity": lists("position_propensity", pa.float64()),
            "taken": column("taken"), "watch": column("watch")}).cast(RECORD_SCHEMA)
        choices = pa.table({"step": step, "user": user,
                            "probabilities": lists("probabilities", pa.float64())}
                           ).cast(CHOICE_SCHEMA)
        return records, choices


def write_feedback(folder: str | Path, simulated: SimulatedLog, records: SlateRecords,
                   run: dict[str, Any]) -> None:
    """Write a feedback folder: the records, the choice probabilities (apart: estimators never
    read them), the log of the run and ``run`` (what was run) as JSON. Same run, same bytes."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    record_table, choice_table = records.tables()
    pq.write_table(record_table, folder / RECORDS)
    pq.write_table(choice_table, folder / CHOICES)
    simulated.write_csv(folder / LOG)
    (folder / RUN).write_text(json.dumps(run, indent=2, sort_keys=True) + "\n")
