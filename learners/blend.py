"""Repeat-aware blends: the live signals a platform has, combined with a learned model.

In live streaming most sessions go back to streamers the user already watches, so what
the user is watching right now, how recently and how often it watched each live streamer,
and how popular each streamer is are strong signals; a learned model adds what they cannot
say (which streamer the user has never watched it will pick). :class:`RepeatBlend` scores a
(user, streamer) pair by a weighted sum of such features and of the model's score, and learns
the weights online, like the models: at each step, a softmax over the available streamers
for every session that started (a conditional logit), from the features as they were
before the step, so that training sees exactly what scoring saw.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from livereplay.arrays import distinct, pair_keys, positions, split_pair_keys
from livereplay.contract import Learner, Step

from .signals import LiveSignals, softmax_block

PERSONAL_FEATURES = ("now", "count", "seen", "gap", "most", "latest")
CHANNEL_FEATURES = ("rows", "viewers")
LIVE_AGE_FEATURES = ("live", "live_steps")
# the blend's liverec: no count embedding (the blend has count features of its own), and a
# shorter window, lower rates and larger batches than liverec's own defaults, which do no
# better in the blend for twice the training calls
MODEL_DEFAULTS = {"liverec": {"count_buckets": 0, "length": 16, "lr": 0.1, "dense_lr": 1e-3,
                              "batch_sessions": 16}}


class LiveFeatures(NamedTuple):
    """The blend's live features of a block of users x candidates. The personal ones are
    sparse: a pair the user never watched has them all 0, so only the watched pairs are
    listed (``row``, ``col``, ``personal``, one column per :data:`PERSONAL_FEATURES`); the
    streamer-level ones are per candidate (``channel``, one column per
    :data:`CHANNEL_FEATURES`, then :data:`LIVE_AGE_FEATURES` if asked); ``active`` says
    whether each user is watching something now."""

    row: np.ndarray
    col: np.ndarray
    personal: np.ndarray
    channel: np.ndarray
    active: np.ndarray


def live_features(signals: LiveSignals, users: np.ndarray, candidates: np.ndarray, t: int,
                  live_age: bool) -> LiveFeatures:
    """The blend's live features of ``users`` x ``candidates`` at step ``t`` (see
    :class:`RepeatBlend` for their definitions)."""
    pairs = signals.pair_signals(users, candidates, t)
    most = np.zeros(len(users))
    np.maximum.at(most, pairs.row, pairs.count)
    latest = np.full(len(users), np.inf)
    np.minimum.at(latest, pairs.row, pairs.gap)
    personal = np.column_stack([pairs.now, np.log1p(pairs.count), np.ones(len(pairs.row)),
                                np.log1p(np.maximum(pairs.gap, 0)), pairs.count == most[pairs.row],
                                pairs.gap == latest[pairs.row]]).astype(np.float64)
    raw = signals.channel_signals(candidates, t)
    channel = [np.log1p(raw["rows"]), np.log1p(raw["viewers"])]
    if live_age:
        channel += [(raw["live_steps"] > 0).astype(float), np.log1p(raw["live_steps"])]
    return LiveFeatures(pairs.row, pairs.col, personal.reshape(-1, len(PERSONAL_FEATURES)),
                        np.column_stack(channel), signals.active(users))


def training_rows(step: Step) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each user watches at ``step.t`` (the blend's targets): (user, streamer, leaky),
    where ``leaky`` marks sessions starting at t on a streamer nobody else watches at t.

    Such a streamer is live at t only because of this very session: under availability
    ``log`` it is the leak of ``docs/protocols.md`` § Candidate sets, and a streamer-level
    feature (popularity, viewers now) would learn to spot streamers that just appeared rather
    than what users like.
    """
    watching = step.watching
    keys = distinct(pair_keys(watching.user, watching.streamer))
    users, streamers = split_pair_keys(keys)
    started = np.isin(keys, pair_keys(step.started.user, step.started.streamer))
    viewers = np.bincount(streamers, minlength=step.n_streamers)
    return users, streamers, started & (viewers[streamers] == 1)


class ModelScores(NamedTuple):
    """The model's scores of ``users`` (sorted) x ``candidates`` at step ``t``."""

    t: int
    users: np.ndarray
    candidates: np.ndarray
    scores: np.ndarray

    def of(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray | None:
        """The block of ``users`` x ``candidates`` if it was scored at ``t``, else None."""
        if t != self.t:
            return None
        rows, cols = positions(self.users, users), positions(self.candidates, candidates)
        if (rows < 0).any() or (cols < 0).any():
            return None
        return self.scores[np.ix_(rows, cols)]


class RepeatBlend(Learner):
    """Live repeat signals and a learned model's score, weighted by an online conditional logit.

    Features of a (user, streamer) pair, as of the last revealed step: the user watches it
    now; log(1 + the user's rows of it); whether the user has watched it; log(1 + steps
    since the user last started it); whether it is, among the candidates, the user's most
    watched and its most recently started; log(1 + its rows so far); log(1 + its viewers
    now); optionally whether it is live at the last revealed step and log(1 + steps it has
    been live); and the model's score. Users watching something now and idle users (who are
    starting a session) have weights of their own.

    The defaults were chosen on the embedded sample's validation days 20-31, with seeds 0-2
    (see ``docs/tuning.md``), and the costs checked on a large simulated log; the test days
    32-42 were used only to report.

    Parameters
    ----------
    model
        Registry name of the learned model whose score is blended in (default
        ``"liverec"``, which does better in the blend than ``"mf"`` under every protocol),
        or ``None`` for live signals alone.
    model_params
        Hyper-parameters of that model, over the blend's defaults for it and the model's
        own. For ``liverec`` the blend's defaults are ``count_buckets=0, length=16, lr=0.1,
        dense_lr=1e-3, batch_sessions=16``: the blend has count features of its own, with
        which the count embedding does no better, and ``liverec``'s own window and rates
        do no better in the blend for twice the training calls.
    live_age
        Use whether a candidate was live at the last step and for how long (default False).
        A real platform knows this, but under ``starts`` with availability ``log`` a streamer
        that was not live at the last step is in A_t mostly because someone starts it at t
        (the leak of ``docs/protocols.md`` § Candidate sets), so this feature measures the
        leak more than the user.
    leak_free
        Hide the streamer-level features from the training softmax of sessions that start
        on a streamer nobody else watches (see :func:`training_rows`; default True): those
        sessions teach only the weights of the personal features and of the model.
    lr
        Adagrad learning rate of the blend's weights (default 0.1).
    max_rows
        Training rows of a step (what each user watches), a uniform sample beyond that
        (default 64). The blend has a dozen weights, which tens of rows a step over
        thousands of steps estimate well; each row costs a score of the model over the
        step's block. The embedded sample has more than 64 rows in 39 of its 6148 steps, a
        100k-user log about 1,500 in every step.
    max_candidates
        Candidates of a step's softmax, sampled beyond that (default 128; the embedded
        sample never has more than 72 streamers live at once, so there the softmax covers
        the whole available set). On a large simulated log, 64 rows and 128 candidates a
        step rank better than 256 and 512, in less time.
    seed
        Seeds the model and the sampling of rows and candidates.
    """

    relative_cost = 50.0  # its default model's, and the features and scores of its own rows

    def __init__(self, *, model: str | None = "liverec", model_params: dict[str, Any] | None = None,
                 live_age: bool = False, leak_free: bool = True, lr: float = 0.1,
                 max_rows: int = 64, max_candidates: int = 128, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.model, self.model_params, self.live_age = model, model_params, live_age
        self.leak_free = leak_free
        self.lr, self.max_rows, self.max_candidates = lr, max_rows, max_candidates

    def reset(self) -> None:
        from .registry import make_learner  # the registry lists this module: import late

        params = {**MODEL_DEFAULTS.get(self.model, {}), **(self.model_params or {})}
        self.model_ = (make_learner(self.model, seed=self.seed, **params)
                       if self.model is not None else None)
        if self.model_ is not None:
            self.model_.reset()
        # a model that keeps live signals of its own (liverec) shares them: one update a step
        model_signals = getattr(self.model_, "signals_", None)
        self.owns_signals_ = not isinstance(model_signals, LiveSignals)
        self.signals_ = LiveSignals() if self.owns_signals_ else model_signals
        n_channel = len(CHANNEL_FEATURES) + (len(LIVE_AGE_FEATURES) if self.live_age else 0)
        self.n_features_ = len(PERSONAL_FEATURES) + (self.model_ is not None) + n_channel
        # weights of every feature for users watching something now, then for idle users
        # (who are starting a session: repeat signals weigh differently for them)
        self.weights_ = np.zeros(2 * self.n_features_)
        self.sq_grad_ = np.zeros(2 * self.n_features_)
        self.rng_ = np.random.default_rng(self.seed)
        self.scored_: ModelScores | None = None

    def _inputs(self, users: np.ndarray, candidates: np.ndarray, t: int,
                ahead: bool = False) -> tuple[LiveFeatures, np.ndarray | None]:
        """The live features and the model's scores of ``users`` x ``candidates`` at ``t``.

        With ``ahead`` (scoring), the model also scores, in the same call, the users watching
        something at the last step, when there are at most ``max_rows`` of them: they are
        most of the step's training rows, which the model must score as it is now, before
        the step is revealed. On a small log this saves a model call a step; on a large one
        (more viewers than training rows) nothing is scored ahead."""
        features = live_features(self.signals_, users, candidates, t, self.live_age)
        if self.model_ is None:
            return features, None
        scored = self.scored_.of(users, candidates, t) if self.scored_ is not None else None
        if scored is not None:
            return features, scored
        block = np.asarray(users)
        if ahead:
            watching = distinct(self.signals_.watching >> 32)
            if len(watching) <= self.max_rows:
                block = np.union1d(block, watching)
        model = np.asarray(self.model_.score(block, candidates, t), np.float64)
        if len(block) == len(users):
            return features, model
        self.scored_ = ModelScores(t, block, np.asarray(candidates), model)
        return features, model[positions(block, users)]

    def _logits(self, features: LiveFeatures, model: np.ndarray | None,
                channel_seen: np.ndarray | bool = True) -> np.ndarray:
        """The weighted sum of the features, each user with the weights of its group; the
        streamer-level features count only for users where ``channel_seen``."""
        personal = len(PERSONAL_FEATURES)
        weights = np.where(features.active[:, None], self.weights_[: self.n_features_],
                           self.weights_[self.n_features_:])  # (B, features)
        channel = weights[:, personal + (model is not None):] * np.reshape(channel_seen, (-1, 1))
        logits = np.einsum("uk,ck->uc", channel, features.channel)  # (no threaded BLAS)
        if model is not None:
            logits += weights[:, personal, None] * model
        logits[features.row, features.col] += (
            features.personal * weights[features.row, :personal]).sum(axis=1)
        return logits

    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray:
        return self._logits(*self._inputs(users, candidates, t, ahead=True))

    def observe(self, step: Step) -> None:
        users, targets, leaky = training_rows(step)
        if len(users) > self.max_rows:
            keep = np.sort(self.rng_.choice(len(users), self.max_rows, replace=False))
            users, targets, leaky = users[keep], targets[keep], leaky[keep]
        if len(users):
            candidates, target = softmax_block(step.available, targets, self.max_candidates,
                                               self.rng_)
            features, model = self._inputs(users, candidates, step.t)
            channel_seen = ~(leaky & self.leak_free)
            logits = self._logits(features, model, channel_seen)
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(users)), target] -= 1.0  # d(cross-entropy)/d(logit)
            self._step(self._gradient(features, model, channel_seen, p / len(users)))
        if self.model_ is not None:
            self.model_.observe(step)
            self.scored_ = None
        if self.owns_signals_:
            self.signals_.apply(step)

    def _gradient(self, features: LiveFeatures, model: np.ndarray | None,
                  channel_seen: np.ndarray, dlogits: np.ndarray) -> np.ndarray:
        """d(loss)/d(weights) given d(loss)/d(logits), in the layout of ``weights_``."""
        personal = len(PERSONAL_FEATURES)
        idle = (~features.active).astype(np.int64)  # 0: watching now, 1: idle
        grad = np.zeros((2, self.n_features_))
        pair_grad = dlogits[features.row, features.col][:, None] * features.personal
        for group in (0, 1):
            grad[group, :personal] = pair_grad[idle[features.row] == group].sum(axis=0)
            rows = (idle == group)
            if model is not None:
                grad[group, personal] = (dlogits[rows] * model[rows]).sum()
            grad[group, personal + (model is not None):] = (
                dlogits[rows & channel_seen].sum(axis=0) @ features.channel)
        return grad.reshape(-1)

    def _step(self, grad: np.ndarray) -> None:
        """One Adagrad step on the weights."""
        self.sq_grad_ += grad * grad
        self.weights_ -= self.lr * grad / (np.sqrt(self.sq_grad_) + 1e-8)
