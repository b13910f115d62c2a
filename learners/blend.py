"""Repeat-aware blends: the live signals a platform has, combined with a learned model.

In live streaming most sessions go back to channels the user already watches, so what
the user is watching right now, how recently and how often it watched each live channel,
and how popular each channel is are strong signals; a learned model adds what they cannot
say (which channel the user has never watched it will pick). :class:`RepeatBlend` scores a
(user, channel) pair by a weighted sum of such features and of the model's score, and learns
the weights online, like the models: at each step, a softmax over the available channels
for every session that started (a conditional logit), from the features as they were
before the step, so that training sees exactly what scoring saw.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from livereplay.arrays import distinct, pair_keys, split_pair_keys
from livereplay.contract import Learner, Step

from .signals import LiveSignals, softmax_block

PERSONAL_FEATURES = ("now", "count", "seen", "gap", "most", "latest")
CHANNEL_FEATURES = ("rows", "viewers")
LIVE_AGE_FEATURES = ("live", "live_steps")


def live_features(signals: LiveSignals, users: np.ndarray, candidates: np.ndarray, t: int,
                  live_age: bool) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """The blend's live features of every (user, candidate): the personal ones, (B, C), in
    the order of :data:`PERSONAL_FEATURES`; the channel ones, (1, C), in the order of
    :data:`CHANNEL_FEATURES` (+ :data:`LIVE_AGE_FEATURES` if ``live_age``); and whether each
    user is watching something now, (B, 1)."""
    raw = signals.features(users, candidates, t)
    seen = (raw["count"] > 0).astype(float)
    gap = np.where(seen > 0, raw["gap"], np.inf)
    most = seen * (raw["count"] == raw["count"].max(axis=1, keepdims=True, initial=0))
    latest = seen * (gap == gap.min(axis=1, keepdims=True, initial=np.inf))
    personal = [raw["now"], np.log1p(raw["count"]), seen,
                seen * np.log1p(np.maximum(raw["gap"], 0)), most, latest]
    channel = [np.log1p(raw["rows"]), np.log1p(raw["viewers"])]
    if live_age:
        channel += [(raw["live_steps"] > 0).astype(float), np.log1p(raw["live_steps"])]
    return personal, channel, raw["active"]


def training_rows(step: Step) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each user watches at ``step.t`` (the blend's targets): (user, streamer, leaky),
    where ``leaky`` marks sessions starting at t on a channel nobody else watches at t.

    Such a channel is live at t only because of this very session: under availability
    ``log`` it is the leak of ``docs/design.md`` § Availability, and a channel-level feature (popularity,
    viewers now) would learn to spot channels that just appeared rather than what users like.
    """
    watching = step.watching
    keys = distinct(pair_keys(watching.user, watching.streamer))
    users, streamers = split_pair_keys(keys)
    started = np.isin(keys, pair_keys(step.started.user, step.started.streamer))
    viewers = np.bincount(streamers, minlength=step.n_streamers)
    return users, streamers, started & (viewers[streamers] == 1)


class RepeatBlend(Learner):
    """Live repeat signals and a learned model's score, weighted by an online conditional logit.

    Features of a (user, channel) pair, as of the last revealed step: the user watches it now;
    log(1 + the user's rows of it); whether the user has watched it; log(1 + steps since the
    user last started it); log(1 + its rows so far); log(1 + its viewers now); optionally
    whether it is live now and log(1 + steps it has been live); and the model's score.

    Parameters
    ----------
    model
        Registry name of the learned model whose score is blended in (default ``"liverec"``,
        chosen on the validation window: it beat ``"mf"`` on every protocol there), or
        ``None`` for live signals alone.
    model_params
        Hyper-parameters of that model (default: its own defaults).
    live_age
        Use whether a candidate was live at the last step and for how long (default False).
        A real platform knows this, but under ``starts`` with availability ``log`` a channel
        that was not live at the last step is in A_t mostly because someone starts it at t
        (the leak of ``docs/design.md`` § Availability), so this feature measures the leak more than the user.
    leak_free
        Hide the channel features from the training softmax of sessions that start on a
        channel nobody else watches (see :func:`training_rows`; default True): those
        sessions teach only the weights of the personal features and of the model.
    lr
        Adagrad learning rate of the blend's weights (default 0.1).
    max_candidates
        Candidates of a step's softmax, sampled beyond that (default 512).
    seed
        Seeds the model and the sampling of candidates.
    """

    def __init__(self, *, model: str | None = "liverec", model_params: dict[str, Any] | None = None,
                 live_age: bool = False, leak_free: bool = True, lr: float = 0.1, max_candidates: int = 512,
                 seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.model, self.model_params, self.live_age = model, model_params, live_age
        self.leak_free = leak_free
        self.lr, self.max_candidates = lr, max_candidates

    def reset(self) -> None:
        from .registry import make_learner  # the registry lists this module: import late

        self.model_ = (make_learner(self.model, seed=self.seed, **(self.model_params or {}))
                       if self.model is not None else None)
        if self.model_ is not None:
            self.model_.reset()
        self.signals_ = LiveSignals()
        n_channel = len(CHANNEL_FEATURES) + (len(LIVE_AGE_FEATURES) if self.live_age else 0)
        n_personal = len(PERSONAL_FEATURES) + (self.model_ is not None)
        self.channel_ = np.tile(np.r_[np.zeros(n_personal, bool), np.ones(n_channel, bool)], 2)
        n = len(self.channel_)
        self.weights_ = np.zeros(n)
        self.sq_grad_ = np.zeros(n)
        self.rng_ = np.random.default_rng(self.seed)

    def _features(self, users: np.ndarray, candidates: np.ndarray, t: int) -> list[np.ndarray]:
        """Personal features, the model's score, channel features (``self.channel_`` marks
        these), all twice: once for users watching something now, once for idle users (who
        are starting a session: repeat signals weigh differently for them)."""
        personal, channel, active = live_features(self.signals_, users, candidates, t, self.live_age)
        if self.model_ is not None:
            personal.append(np.asarray(self.model_.score(users, candidates, t), np.float64))
        features = personal + channel
        return [f * active for f in features] + [f * (1.0 - active) for f in features]

    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray:
        scores = np.zeros((len(users), len(candidates)))
        for weight, feature in zip(self.weights_, self._features(users, candidates, t)):
            scores += weight * feature
        return scores

    def observe(self, step: Step) -> None:
        users, targets, leaky = training_rows(step)
        if len(users):
            candidates, target = softmax_block(step.available, targets, self.max_candidates,
                                               self.rng_)
            hide = (leaky & self.leak_free)[:, None]
            features = [np.where(hide, 0.0, f) if channel else np.broadcast_to(f, hide.shape[:1] + f.shape[1:])
                        for f, channel in zip(self._features(users, candidates, step.t), self.channel_)]
            logits = sum(w * f for w, f in zip(self.weights_, features))
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(users)), target] -= 1.0  # d(cross-entropy)/d(logit)
            grad = np.array([(p * f).sum() for f in features]) / len(users)
            self.sq_grad_ += grad * grad
            self.weights_ -= self.lr * grad / (np.sqrt(self.sq_grad_) + 1e-8)
        if self.model_ is not None:
            self.model_.observe(step)
        self.signals_.apply(step)
