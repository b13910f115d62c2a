"""Off-policy evaluation of slate policies from logged feedback: reading the records, the
reward model, and the estimators (``docs/ope.md``).

A logging policy P showed each record's user an ordered slate of live streamers, drawn
with a known propensity; the user took one streamer of it or none, and watched for a while.
The estimators value a target policy Q, given for every record the probability that Q shows
the logged slate and the marginal probability that Q puts each logged streamer at its place,
plus a reward model's predictions. Rewards are per shown slate: ``acceptance`` (1 if a
streamer of the slate was taken) and ``watch`` (steps of the viewing that followed, 0 if
none); each is a sum over places (the reward at place j is the record's reward if the taken
streamer sat at place j, else 0).

Estimators (``w_ij = q_ij / p_ij``, Q's over P's marginal probability of the logged streamer
at place j; ``r_ij`` the reward at place j; ``rhat_ij`` the reward model's prediction of it
on the logged slate; ``dm_i`` the model's expected reward of Q's slates for record i):

ips        -- independent-item (position-based) IPS: ``sum_j w_ij r_ij``. Unbiased when the
              expected reward at a place depends only on the streamer shown there (and the
              context), not on the rest of the slate, and P can show at each place every
              streamer Q can.
snips      -- the same, self-normalised place by place: ``sum_j (sum_i w_ij r_ij) /
              (sum_i w_ij)``, scaled by the share of records with a place j.
dm         -- the direct method: ``dm_i``, as good as the reward model.
dr         -- doubly robust: ``dm_i + sum_j w_ij (r_ij - rhat_ij)``, unbiased when either the
              model or the independent-item weights are right.
switch-dr  -- DR whose correction keeps only the places with ``w_ij <= switch_threshold``
              (the DM alone elsewhere): less variance, some bias.

Each estimate comes with a 95% percentile interval from a bootstrap over users (the records
of a user are resampled together, :mod:`livereplay.intervals`); the reward model is fitted
once, not in each resample.

The reward model (:func:`fit_choice_model`) is a conditional logit with an outside option
fitted on the records: streamer j of a slate has utility ``a + b . x_j`` (x_j the features
the caller gives it, such as the user's past rows with the streamer and its place), ignoring
the slate utility 0; the watch time of a taken streamer is a least-squares line in the same
features (:func:`fit_watch_model`).

>>> logged = LoggedSlates.from_columns(
...     step=[0, 0, 1], user=[0, 1, 0], live=[[3, 4], [3, 4], [4, 5]],
...     slate=[[3, 4], [4, 3], [5, 4]], propensity=[0.5, 0.5, 0.5],
...     position_propensity=[[0.5, 1.0], [0.5, 1.0], [0.5, 1.0]], taken=[3, -1, 4],
...     watch=[2, 0, 5])
>>> logged.rewards()["acceptance"].tolist(), logged.taken_position.tolist()
([1.0, 0.0, 1.0], [0, -1, 1])
>>> same = TargetProbabilities(logged.propensity, logged.position_propensity)
>>> float(independent_weights(logged, same)[logged.valid].max())
1.0
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import ReplayError
from .intervals import bootstrap_intervals, percentile_interval, resampled_means

#: The feedback folder: the records estimators read, the simulator's exact choice
#: probabilities (validation only: estimators never read them), the log the target is
#: replayed on, and what was run.
RECORDS, CHOICES, LOG, RUN = "records.parquet", "choices.parquet", "log.csv", "run.json"
#: Every estimator, by the name ``--estimators`` gives it.
ESTIMATORS = ("ips", "snips", "dm", "dr", "switch-dr")
#: The rewards estimated, per shown slate.
REWARDS = ("acceptance", "watch")
#: Columns of ``records.parquet`` and their types (lists are variable-length).
RECORD_SCHEMA = pa.schema([
    ("step", pa.int32()), ("user", pa.int32()), ("live", pa.list_(pa.int32())),
    ("slate", pa.list_(pa.int32())), ("propensity", pa.float64()),
    ("position_propensity", pa.list_(pa.float64())), ("taken", pa.int32()),
    ("watch", pa.int32())])
#: Columns of ``choices.parquet``: the probability of ignoring the slate, then of taking each
#: of its streamers.
CHOICE_SCHEMA = pa.schema([("step", pa.int32()), ("user", pa.int32()),
                           ("probabilities", pa.list_(pa.float64()))])


class FeedbackError(ReplayError):
    """A feedback folder or record that cannot be used: missing, malformed or impossible."""


@dataclass(frozen=True, eq=False)
class LoggedSlates:
    """The records of a feedback folder as arrays, one row per shown slate; slates padded
    to the widest with -1 (``valid`` marks the real places).

    step, user   -- when, and to whom, the slate was shown
    live_values, live_offsets -- the live streamers of record i:
                    ``live_values[live_offsets[i]:live_offsets[i + 1]]`` (sorted)
    slate        -- (N, k) the streamers shown, first place first
    propensity   -- (N,) the logging policy's probability of the whole ordered slate
    position_propensity -- (N, k) its marginal probability of each shown streamer at its place
    taken        -- (N,) the streamer taken, -1 if none
    watch        -- (N,) steps of the viewing that followed, 0 if none
    metadata     -- what was run (``run.json``)
    """

    step: np.ndarray
    user: np.ndarray
    live_values: np.ndarray
    live_offsets: np.ndarray
    slate: np.ndarray
    propensity: np.ndarray
    position_propensity: np.ndarray
    taken: np.ndarray
    watch: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> np.ndarray:
        return self.slate >= 0

    @property
    def taken_position(self) -> np.ndarray:
        """(N,) the place of the taken streamer in the slate, -1 if none."""
        hit = self.slate == self.taken[:, None]
        return np.where(hit.any(axis=1), np.argmax(hit, axis=1), -1)

    def live(self, i: int) -> np.ndarray:
        return self.live_values[self.live_offsets[i]:self.live_offsets[i + 1]]

    def rewards(self) -> dict[str, np.ndarray]:
        """Each reward per record (:data:`REWARDS`)."""
        return {"acceptance": (self.taken >= 0).astype(np.float64),
                "watch": self.watch.astype(np.float64)}

    @staticmethod
    def from_columns(*, step: Sequence[int], user: Sequence[int], live: Sequence[Sequence[int]],
                     slate: Sequence[Sequence[int]], propensity: Sequence[float | None],
                     position_propensity: Sequence[Sequence[float | None]],
                     taken: Sequence[int], watch: Sequence[int],
                     metadata: dict[str, Any] | None = None,
                     where: str = "records") -> LoggedSlates:
        """Records from Python lists (or a table's columns), checked (:class:`FeedbackError`
        naming ``where`` and the record)."""
        table = pa.table({"step": step, "user": user, "live": live, "slate": slate,
                          "propensity": propensity, "position_propensity": position_propensity,
                          "taken": taken, "watch": watch})
        return _from_table(table.cast(RECORD_SCHEMA), metadata or {}, where)


@dataclass(frozen=True)
class TargetProbabilities:
    """What the target policy would do at each record: the probability of the logged slate
    (N,) and the marginal probability of each logged streamer at its place (N, k)."""

    slate: np.ndarray
    positions: np.ndarray


@dataclass(frozen=True)
class RewardPredictions:
    """A reward model's predictions for each reward: ``target`` (N,), the expected reward of
    the target's slates; ``logged`` (N, k), the expected reward at each place of the logged
    slate."""

    target: dict[str, np.ndarray]
    logged: dict[str, np.ndarray]


@dataclass(frozen=True)
class Estimate:
    """An estimate with its 95% bootstrap interval."""

    value: float
    low: float
    high: float

    def covers(self, truth: float) -> bool:
        return self.low <= truth <= self.high


def read_feedback(folder: str | Path) -> LoggedSlates:
    """The records of a feedback folder, checked: one-line :class:`FeedbackError` for a
    missing file or column, a record without a propensity, a shown slate of propensity 0, a
    shown streamer that is not live."""
    folder = Path(folder)
    path = folder / RECORDS
    if not path.is_file():
        raise FeedbackError(f"{folder}: no {RECORDS} (write one with livereplay simulate "
                            "--policy P --feedback DIR)")
    table = pq.read_table(path)
    missing = [name for name in RECORD_SCHEMA.names if name not in table.column_names]
    if missing:
        raise FeedbackError(f"{path}: no column {missing[0]!r}")
    try:
        table = table.select(RECORD_SCHEMA.names).cast(RECORD_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise FeedbackError(f"{path}: columns of the wrong type ({error})") from None
    run = folder / RUN
    metadata = json.loads(run.read_text()) if run.is_file() else {}
    return _from_table(table, metadata, str(path))


def _from_table(table: pa.Table, metadata: dict[str, Any], where: str) -> LoggedSlates:
    n = table.num_rows

    def record(i: int) -> str:
        return (f"{where}: record {i} (step {table['step'][i].as_py()}, "
                f"user {table['user'][i].as_py()})")

    for name in RECORD_SCHEMA.names:
        column = table[name]
        if column.null_count:
            first = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            what = "propensity" if "propensity" in name else name
            raise FeedbackError(f"{record(first)} has no {what}")
    slates = _padded(table["slate"], -1, np.int64)
    positions = _padded(table["position_propensity"], np.nan, np.float64)
    widths = np.asarray(pc.list_value_length(table["slate"]).to_numpy(), np.int64)
    position_widths = pc.list_value_length(table["position_propensity"]).to_numpy()
    propensity = table["propensity"].to_numpy().astype(np.float64)
    valid = slates >= 0
    checks = [
        (widths == 0, "shows an empty slate"),
        (position_widths != widths, "has not one position propensity per place"),
        (np.isnan(propensity) | (valid & np.isnan(positions)).any(axis=1), "has no propensity"),
        ((propensity <= 0) | (valid & (positions <= 0)).any(axis=1),
         "shows a slate of propensity 0"),
        ((propensity > 1) | (valid & (positions > 1)).any(axis=1),
         "has a propensity above 1"),
    ]
    live = table["live"].combine_chunks()
    live_values = np.asarray(live.values.to_numpy(), np.int64)
    live_offsets = np.asarray(live.offsets.to_numpy(), np.int64)
    owner = np.repeat(np.arange(n), np.diff(live_offsets))
    live_keys = owner * (1 << 32) + live_values
    slate_keys = np.arange(n)[:, None] * (1 << 32) + slates
    on_air = np.isin(slate_keys, live_keys) | ~valid
    checks.append((~on_air.all(axis=1), "shows streamer {streamer}, which is not live"))
    step = table["step"].to_numpy().astype(np.int64)
    if np.any(np.diff(step) < 0):
        raise FeedbackError(f"{record(int(np.flatnonzero(np.diff(step) < 0)[0]) + 1)} comes "
                            "before the record above it: records go in time order")
    # every record of a step has its step's live streamers (those of the step's first record)
    lengths = np.diff(live_offsets)
    head = np.searchsorted(step, step)
    same = lengths == lengths[head]
    owner_head = np.repeat(head, np.where(same, lengths, 0))
    within = np.arange(len(owner_head)) - np.repeat(
        np.cumsum(np.where(same, lengths, 0)) - np.where(same, lengths, 0),
        np.where(same, lengths, 0))
    mine = np.repeat(live_offsets[:-1], np.where(same, lengths, 0)) + within
    equal = np.ones(n, bool)
    np.logical_and.at(equal, np.repeat(np.arange(n), np.where(same, lengths, 0)),
                      live_values[mine] == live_values[live_offsets[owner_head] + within])
    checks.append((~(same & equal), "has other live streamers than the step's first record"))
    taken = table["taken"].to_numpy().astype(np.int64)
    checks.append(((taken >= 0) & ~(slates == taken[:, None]).any(axis=1),
                   "took streamer {taken}, which is not in its slate"))
    for bad, message in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            streamer = slates[i][~on_air[i]][0] if "not live" in message else None
            raise FeedbackError(f"{record(i)} {message.format(streamer=streamer, taken=taken[i])}")
    return LoggedSlates(step=step,
                        user=table["user"].to_numpy().astype(np.int64),
                        live_values=live_values, live_offsets=live_offsets, slate=slates,
                        propensity=propensity, position_propensity=positions, taken=taken,
                        watch=table["watch"].to_numpy().astype(np.int64), metadata=metadata)


def _padded(column: pa.ChunkedArray, fill: float, dtype: type) -> np.ndarray:
    """A list column as an (N, widest) array, short rows padded with ``fill``."""
    array = column.combine_chunks()
    offsets = np.asarray(array.offsets.to_numpy(), np.int64)
    values = np.asarray(array.values.to_numpy(zero_copy_only=False), dtype)
    widths = np.diff(offsets)
    out = np.full((len(widths), int(widths.max(initial=1))), fill, dtype)
    row = np.repeat(np.arange(len(widths)), widths)
    out[row, np.arange(len(values)) - offsets[row]] = values
    return out


def independent_weights(logged: LoggedSlates, target: TargetProbabilities) -> np.ndarray:
    """(N, k): ``q_ij / p_ij``, the target's over the logging policy's marginal probability
    of each logged streamer at its place (0 on padding)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = target.positions / logged.position_propensity
    return np.where(logged.valid, weights, 0.0)


def effective_share(logged: LoggedSlates, target: TargetProbabilities) -> float:
    """Kish's effective sample size of the places' weights over the number of places,
    ``(sum w)^2 / (n sum w^2)`` in [0, 1]: 1 when Q puts each logged streamer at its place
    as often as P did, near 0 when a few places carry the weighted estimators (ips, snips,
    dr), whose intervals are then wide and whose errors large; 0 when Q never shows what P
    showed.

    >>> logged = LoggedSlates.from_columns(
    ...     step=[0, 0], user=[0, 1], live=[[3, 4], [3, 4]], slate=[[3], [4]],
    ...     propensity=[0.5, 0.5], position_propensity=[[0.5], [0.5]], taken=[3, -1],
    ...     watch=[1, 0])
    >>> effective_share(logged, TargetProbabilities(np.ones(2), np.array([[1.0], [0.0]])))
    0.5
    """
    weights = independent_weights(logged, target)[logged.valid]
    squares = float((weights ** 2).sum())
    return float(weights.sum() ** 2 / (len(weights) * squares)) if squares else 0.0


def place_rewards(logged: LoggedSlates) -> dict[str, np.ndarray]:
    """(N, k) per reward: the record's reward at the place of the taken streamer, 0 elsewhere."""
    at = logged.taken_position[:, None] == np.arange(logged.slate.shape[1])[None, :]
    return {name: at * value[:, None] for name, value in logged.rewards().items()}


def estimate(logged: LoggedSlates, target: TargetProbabilities,
             predictions: RewardPredictions | None = None, *,
             estimators: Sequence[str] = ESTIMATORS, switch_threshold: float = 10.0,
             resamples: int = 1000, seed: int = 0) -> dict[str, dict[str, Estimate]]:
    """Every estimator's value of the target for every reward, with its 95% interval
    (bootstrap over users, ``resamples`` resamples seeded with ``seed``).

    Parameters
    ----------
    logged
        The logging policy's records.
    target
        The target's probabilities at each record.
    predictions
        The reward model's predictions; needed by dm, dr and switch-dr.
    estimators
        Names among :data:`ESTIMATORS`.
    switch_threshold
        The largest weight whose place keeps its correction in switch-dr.
    resamples
        Bootstrap resamples of users.
    seed
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``{estimator: {reward: Estimate}}``.
    """
    unknown = [name for name in estimators if name not in ESTIMATORS]
    if unknown:
        raise ReplayError(f"--estimators: unknown estimator {unknown[0]!r} (known: "
                          f"{', '.join(ESTIMATORS)})")
    if predictions is None and set(estimators) & {"dm", "dr", "switch-dr"}:
        raise ReplayError("dm, dr and switch-dr need the reward model's predictions")
    weights = independent_weights(logged, target)
    rewards = place_rewards(logged)
    out: dict[str, dict[str, Estimate]] = {}
    for name in estimators:
        out[name] = {}
        for reward in REWARDS:
            if name == "snips":
                out[name][reward] = _snips(weights, rewards[reward], logged, resamples, seed)
                continue
            if name == "ips":
                values = (weights * rewards[reward]).sum(axis=1)
            else:
                assert predictions is not None
                values = predictions.target[reward]
                residual = rewards[reward] - predictions.logged[reward]
                kept = weights if name == "dr" else np.where(weights <= switch_threshold,
                                                             weights, 0.0)
                if name != "dm":
                    values = values + np.where(logged.valid, kept * residual, 0.0).sum(axis=1)
            out[name][reward] = mean_estimate(values, logged.user, resamples, seed)
    return out


def mean_estimate(values: np.ndarray, users: np.ndarray, resamples: int = 1000,
                  seed: int = 0) -> Estimate:
    """The mean of per-record ``values`` and its 95% interval, users resampled."""
    low, high = bootstrap_intervals(values[None, :], users, resamples, seed)[0]
    return Estimate(float(np.mean(values)), float(low), float(high))


def _snips(weights: np.ndarray, rewards: np.ndarray, logged: LoggedSlates, resamples: int,
           seed: int) -> Estimate:
    """Self-normalised independent-item IPS and its interval: per place, the weighted mean
    reward over the mean weight, times the share of records with that place."""
    k = weights.shape[1]
    rows = np.vstack([(weights * rewards).T, weights.T, logged.valid.T.astype(np.float64)])

    def value(means: np.ndarray) -> np.ndarray:
        numerator, denominator, present = means[..., :k], means[..., k:2 * k], means[..., 2 * k:]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(denominator > 0, numerator / denominator, 0.0)
        return (ratio * present).sum(axis=-1)

    resampled = value(resampled_means(rows, logged.user, resamples, seed))
    low, high = percentile_interval(resampled[:, None])
    return Estimate(float(value(rows.mean(axis=1))), float(low[0]), float(high[0]))


def fit_choice_model(features: np.ndarray, valid: np.ndarray, taken_position: np.ndarray, *,
                     l2: float = 1e-3, iterations: int = 50) -> np.ndarray:
    """Maximum-likelihood conditional logit with an outside option, by Newton's method.

    Parameters
    ----------
    features
        (N, k, F) features of each shown streamer.
    valid
        (N, k) which places hold a streamer.
    taken_position
        (N,) the place taken, -1 for the outside option.
    l2
        Ridge penalty on the coefficients (keeps Newton's steps defined when a feature is
        constant).
    iterations
        Most Newton steps, each halved until the likelihood does not fall (it stops once a
        step changes no coefficient by 1e-10).

    Returns
    -------
    numpy.ndarray
        (1 + F,) the intercept of a streamer's utility (against the outside option's 0),
        then a coefficient per feature.
    """
    design = np.concatenate([np.ones(features.shape[:2] + (1,)), features], axis=2)
    design = np.where(valid[..., None], design, 0.0)
    width = design.shape[2]
    taken = taken_position >= 0
    chosen = design[np.flatnonzero(taken), taken_position[taken]].sum(axis=0)

    def log_likelihood(theta: np.ndarray) -> float:
        utility = np.where(valid, design @ theta, -np.inf)
        top = np.maximum(utility.max(axis=1), 0.0)
        normaliser = top + np.log(np.exp(-top) + np.exp(utility - top[:, None]).sum(axis=1))
        return float(chosen @ theta - normaliser.sum() - l2 / 2 * theta @ theta)

    theta = np.zeros(width)
    current = log_likelihood(theta)
    for _ in range(iterations):
        p = choice_model_probabilities(theta, features, valid)
        mean = np.einsum("nk,nkf->nf", p, design)
        gradient = chosen - mean.sum(axis=0) - l2 * theta
        hessian = (np.einsum("nk,nkf,nkg->fg", p, design, design)
                   - mean.T @ mean + l2 * np.eye(width))
        step = np.linalg.solve(hessian, gradient)
        for _ in range(40):  # halve the step until the likelihood does not fall
            proposed = log_likelihood(theta + step)
            if proposed >= current:
                break
            step = step / 2
        theta, current = theta + step, max(proposed, current)
        if np.abs(step).max() < 1e-10:
            break
    return theta


def choice_model_probabilities(theta: np.ndarray, features: np.ndarray,
                               valid: np.ndarray) -> np.ndarray:
    """(..., k): the fitted logit's probability that each place's streamer is taken (0 on
    padding); ``features`` (..., k, F), ``valid`` (..., k)."""
    utility = theta[0] + features @ theta[1:]
    utility = np.where(valid, utility, -np.inf)
    top = np.maximum(utility.max(axis=-1, keepdims=True), 0.0)
    weight = np.exp(utility - top)
    return weight / (np.exp(-top) + weight.sum(axis=-1, keepdims=True))


def fit_watch_model(features: np.ndarray, watch: np.ndarray) -> np.ndarray:
    """Least squares of the watch time of taken streamers on their features (F,): returns
    (1 + F,) an intercept and a coefficient per feature."""
    design = np.column_stack([np.ones(len(features)), features])
    return np.linalg.lstsq(design, np.asarray(watch, np.float64), rcond=None)[0]


def predict_watch(beta: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The watch model's prediction for streamers with ``features`` (..., F), at least 0."""
    return np.maximum(beta[0] + features @ beta[1:], 0.0)
