"""``livereplay ope``: a target policy's acceptance and watch time estimated from another
policy's logged feedback (``docs/ope.md``).

The target Q is a learner with an exploration policy (:mod:`livereplay.sim.explore`). It is
replayed over the log of the logging run in time order, exactly as in the closed loop (the
rows that start at each step revealed by a :class:`~livereplay.reveal.Revealer`, scoring
with what was revealed through the step before), and at each logged slate it scores the
record's user against the record's live streamers: from those scores come Q's probability of
the logged slate, its marginal probability of each logged streamer at its place, and
``draws`` slates drawn from Q for the reward model. The estimators are
:mod:`livereplay.ope`'s.

The reward model's features of a streamer shown to a user at step t are what the log
reveals before t: log(1 + the user's past rows with the streamer), whether there are none,
log(1 + the streamer's past rows), and log(1 + its place).

>>> import tempfile
>>> from livereplay.sim.presets import preset
>>> folder = tempfile.mkdtemp()
>>> _ = log_feedback(preset("tiny", n_steps=144), "pop", folder, seed=0, explore="epsilon:0.3")
>>> report = evaluate(folder, "pop", explore="epsilon:0.3", resamples=100)
>>> report.estimates["ips"]["acceptance"].value == report.logged["acceptance"].value
True
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow.csv as pacsv

from livereplay.arrays import distinct, positions
from livereplay.contract import known
from livereplay.data import COLUMNS
from livereplay.errors import ReplayError
from livereplay.learners.registry import make_learner
from livereplay.ope import (ESTIMATORS, LOG, REWARDS, Estimate, FeedbackError, LoggedSlates,
                            RewardPredictions, TargetProbabilities, choice_model_probabilities,
                            effective_share, estimate, fit_choice_model, fit_watch_model,
                            mean_estimate, predict_watch, read_feedback)
from livereplay.ranking import scores_in_chunks
from livereplay.reveal import Revealer
from livereplay.sim.closed_loop import ClosedLoopReport, run_closed_loop
from livereplay.sim.explore import DRAWS, parse_exploration
from livereplay.sim.feedback import SlateRecords, write_feedback
from livereplay.sim.presets import SimParams

from .closed_loop import make_policy

#: Slates drawn from the target at each record for the reward model's expectation.
TARGET_DRAWS = 16


@dataclass(frozen=True)
class TargetReplay:
    """The target replayed over a feedback folder's log: its probabilities at each record;
    ``draws`` (N, M, k) slates drawn from it (streamer ids, -1 padded); and, for the reward
    model, the user's past rows with each streamer and the streamer's past rows at the
    record's step, of the logged slates ((N, k) each) and of the drawn ones ((N, M, k))."""

    probabilities: TargetProbabilities
    draws: np.ndarray
    logged_counts: tuple[np.ndarray, np.ndarray]
    draw_counts: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class OpeReport:
    """A target's estimates from a logging policy's records, beside the logging policy's own
    observed values (each with its 95% interval)."""

    policy: str
    explore: str
    n_records: int
    logging: dict[str, Any]
    logged: dict[str, Estimate]
    estimates: dict[str, dict[str, Estimate]]
    replay: TargetReplay
    effective_share: float

    def rows(self) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        """Header and rows of the table: the logging policy's observed values, then each
        estimator's, as ``value [low, high]``."""
        def cell(e: Estimate) -> str:
            return f"{e.value:.4f} [{e.low:.4f}, {e.high:.4f}]"

        logging = f"{self.logging.get('policy', '?')} {self.logging.get('explore', '')}".strip()
        header = ("estimate", "acceptance", "watch per slate")
        rows = [(f"logged ({logging})", *(cell(self.logged[r]) for r in REWARDS))]
        rows += [(f"{name} ({self.policy} {self.explore})",
                  *(cell(values[r]) for r in REWARDS)) for name, values in self.estimates.items()]
        return header, rows

    def to_dict(self) -> dict[str, Any]:
        def as_dict(e: Estimate) -> dict[str, float]:
            return {"value": e.value, "low": e.low, "high": e.high}

        return {"policy": self.policy, "explore": self.explore, "records": self.n_records,
                "logging": self.logging, "effective_share": self.effective_share,
                "logged": {r: as_dict(e) for r, e in self.logged.items()},
                "estimates": {name: {r: as_dict(e) for r, e in values.items()}
                              for name, values in self.estimates.items()}}


def log_feedback(params: SimParams, policy: str, folder: str | Path, *, seed: int = 0,
                 explore: str | None = None, draws: int = DRAWS,
                 probe: list[np.ndarray] | None = None,
                 progress: bool = False) -> tuple[SlateRecords, ClosedLoopReport]:
    """Run ``policy`` (a learner name, with ``explore``) in closed loop and write its feedback
    folder (:func:`livereplay.sim.feedback.write_feedback`).

    Parameters
    ----------
    params
        The simulated world.
    policy
        The logging learner's name (or ``oracle``: :func:`~livereplay.app.closed_loop.make_policy`).
    folder
        Where the feedback folder goes (created if missing).
    seed
        Seed of the world, the learner and the policy's draws.
    explore
        ``greedy`` (default), ``epsilon:E`` or ``softmax:TAU``.
    draws
        Prefixes drawn for softmax position propensities past the second place.
    probe
        Per record, (M, k) slates to evaluate with the choice model without showing them
        (:class:`livereplay.sim.feedback.SlateRecords`).
    progress
        Show a progress bar.

    Returns
    -------
    tuple
        The records (with the probe's acceptance, if given) and the closed-loop report.
    """
    exploration = parse_exploration(explore, draws=draws)
    records = SlateRecords(probe)
    report, simulated = run_closed_loop(params, make_policy(policy, seed)[0], seed,
                                        name=policy, progress=progress,
                                        exploration=exploration, records=records)
    write_feedback(folder, simulated, records, {
        "policy": policy, "explore": str(exploration), "seed": seed, "draws": draws,
        "params": params.as_dict(), "n_steps": params.n_steps})
    return records, report


def read_log_rows(path: Path) -> dict[str, np.ndarray]:
    """The rows of a simulated log as written (ids as the simulator numbers them), in order."""
    if not path.is_file():
        raise FeedbackError(f"{path.parent}: no {LOG} (the log the target is replayed on)")
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=list(COLUMNS)))
    return {name: table[name].to_numpy() for name in COLUMNS}


def replay_target(logged: LoggedSlates, rows: dict[str, np.ndarray], policy: str, *,
                  explore: str | None = None, seed: int = 0, draws: int = DRAWS,
                  target_draws: int = TARGET_DRAWS) -> TargetReplay:
    """Replay the learner ``policy`` (seeded with ``seed``) over ``rows`` in time order and,
    at each step with records, compute the target's probabilities of the logged slates and
    draw ``target_draws`` slates from it per record (see the module)."""
    exploration = parse_exploration(explore, draws=draws)
    learner = make_learner(policy, seed=seed)
    learner.reset()
    rng = np.random.default_rng(seed)
    revealer = Revealer()
    n, k = logged.slate.shape
    slate_probability, by_place = np.zeros(n), np.zeros((n, k))
    drawn = np.full((n, target_draws, k), -1, np.int64)
    start = rows["start"]
    n_steps = int(max(start.max(initial=-1), logged.step.max(initial=-1))) + 1
    bounds = np.searchsorted(logged.step, np.arange(n_steps + 1))
    first_row = np.searchsorted(start, np.arange(n_steps + 1))
    counts = [np.zeros((n, k), np.int64) for _ in range(2)]
    draw_counts = [np.zeros((n, target_draws, k), np.int64) for _ in range(2)]
    for t in range(n_steps):
        records = np.arange(bounds[t], bounds[t + 1])
        if len(records):
            candidates = logged.live(int(records[0]))  # every record of a step has the same
            width = int(logged.valid[records[0]].sum())
            users, user_row = distinct(logged.user[records], inverse=True)
            for lo, hi, scores in scores_in_chunks(learner, users, candidates, t):
                inside = (user_row >= lo) & (user_row < hi)
                chosen = records[inside]
                own = np.broadcast_to(np.asarray(scores, np.float64),
                                      (hi - lo, len(candidates)))[user_row[inside] - lo]
                columns = positions(candidates, logged.slate[chosen, :width].ravel()
                                    ).reshape(len(chosen), width)
                slate_probability[chosen] = exploration.slate_probability(own, columns)
                by_place[chosen, :width] = exploration.position_probability(own, columns, rng)
                sampled = exploration.sample(np.repeat(own, target_draws, axis=0), width, rng)
                drawn[chosen, :, :width] = candidates[sampled].reshape(len(chosen),
                                                                       target_draws, width)
            for found, streamers in zip((counts, draw_counts),
                                        (logged.slate[records], drawn[records])):
                familiarity, popularity = past_rows(revealer, logged.user[records], streamers)
                found[0][records], found[1][records] = familiarity, popularity
        starting = slice(first_row[t], first_row[t + 1])
        learner.observe(revealer.reveal(t, rows["user"][starting], rows["streamer"][starting],
                                        rows["stop"][starting]))
    return TargetReplay(TargetProbabilities(slate_probability, by_place), drawn,
                        (counts[0], counts[1]), (draw_counts[0], draw_counts[1]))


def past_rows(revealer: Revealer, users: np.ndarray,
              streamers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows revealed so far of each user (n,) with each of its streamers (n, ...; -1 is
    padding, counted 0) and of each streamer: the features' counts."""
    history = revealer.history
    shape = streamers.shape
    flat = streamers.reshape(len(users), -1)
    owner = np.repeat(users, flat.shape[1])
    shown = flat.ravel()
    real = shown >= 0
    familiarity = np.zeros(len(shown), np.int64)
    familiarity[real] = history.pair_counts(owner[real], shown[real])[0]
    popularity = np.zeros(len(shown), np.int64)
    popularity[real] = known(history.streamer_rows(), shown[real])
    return familiarity.reshape(shape), popularity.reshape(shape)


def features(familiarity: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """(..., k, 4) the reward model's features of streamers with these past rows, at their
    places (the last axis): log(1 + rows with the user), no such rows, log(1 + the streamer's
    rows), log(1 + place)."""
    place = np.broadcast_to(np.log1p(np.arange(familiarity.shape[-1])), familiarity.shape)
    return np.stack([np.log1p(familiarity), familiarity == 0, np.log1p(popularity), place],
                    axis=-1).astype(np.float64)


def reward_predictions(logged: LoggedSlates, replay: TargetReplay) -> RewardPredictions:
    """Fit the reward model on the records (the choice logit, and the watch time of taken
    streamers) and predict each reward of the logged slates, place by place, and of the
    target's, averaged over its drawn slates."""
    logged_x = features(*replay.logged_counts)
    drawn_x = features(*replay.draw_counts)
    taken_place = logged.taken_position
    theta = fit_choice_model(logged_x, logged.valid, taken_place)
    taken = taken_place >= 0
    beta = fit_watch_model(logged_x[np.flatnonzero(taken), taken_place[taken]],
                           logged.watch[taken])
    logged_p = choice_model_probabilities(theta, logged_x, logged.valid)
    drawn_p = choice_model_probabilities(theta, drawn_x, replay.draws >= 0)
    return RewardPredictions(
        target={"acceptance": drawn_p.sum(axis=2).mean(axis=1),
                "watch": (drawn_p * predict_watch(beta, drawn_x)).sum(axis=2).mean(axis=1)},
        logged={"acceptance": logged_p, "watch": logged_p * predict_watch(beta, logged_x)})


def evaluate(folder: str | Path, policy: str, *, explore: str | None = None,
             estimators: Sequence[str] = ESTIMATORS, seed: int = 0, draws: int = DRAWS,
             switch_threshold: float = 10.0, resamples: int = 1000) -> OpeReport:
    """Estimate the target ``policy`` (with ``explore``) from the feedback folder ``folder``.

    Parameters
    ----------
    folder
        A feedback folder (``livereplay simulate --feedback``).
    policy
        The target learner's name (built-in, entry point or ``module:Class``).
    explore
        The target's policy on the learner's scores: ``greedy`` (default), ``epsilon:E``,
        ``softmax:TAU``.
    estimators
        Names among :data:`livereplay.ope.ESTIMATORS`.
    seed
        Seed of the learner, of the target's draws and of the bootstrap.
    draws
        Prefixes drawn for softmax position propensities past the second place.
    switch_threshold
        The largest weight switch-dr keeps a place's correction for.
    resamples
        Bootstrap resamples of users behind each interval.

    Returns
    -------
    OpeReport
        The estimates and the logging policy's observed values.
    """
    folder = Path(folder)
    logged = read_feedback(folder)
    if not len(logged.step):
        raise FeedbackError(f"{folder}: no records (the logging policy showed no slate)")
    if switch_threshold <= 0:
        raise ReplayError(f"--switch-threshold must be positive, not {switch_threshold}")
    replayed = replay_target(logged, read_log_rows(folder / LOG), policy, explore=explore,
                             seed=seed, draws=draws)
    predictions = reward_predictions(logged, replayed)
    estimates = estimate(logged, replayed.probabilities, predictions, estimators=estimators,
                         switch_threshold=switch_threshold, resamples=resamples, seed=seed)
    logged_values = {name: mean_estimate(value, logged.user, resamples, seed)
                     for name, value in logged.rewards().items()}
    return OpeReport(policy=policy, explore=str(parse_exploration(explore)),
                     n_records=len(logged.step), logging=logged.metadata, logged=logged_values,
                     estimates=estimates, replay=replayed,
                     effective_share=effective_share(logged, replayed.probabilities))


def write_json(report: OpeReport, path: str | Path) -> None:
    Path(path).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
