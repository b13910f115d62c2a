"""``fpmc``: an online transition learner in the spirit of FPMC (Rendle et al., 2010).

A user's query is its long-term taste plus what its recent sessions lead to:
query(u) = p_u + mean over u's last ``previous`` started streamers l of t_l, scored against
the streamer's embedding and bias like every :class:`livereplay.learners.factor.FactorLearner`. The
transition rows ``t_l`` (previous streamer -> next streamer) are shared by all users, so a
user new to a streamer still gets the transitions others made from it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from livereplay.contract import Step

from .factor import FactorLearner
from .signals import RecentStreamers
from .tf_common import EmbeddingTable, tensorflow


class FPMC(FactorLearner):
    """Online FPMC: user taste + transitions from the user's last started streamers.

    Trained like every factor model; the defaults it shares with them are explained in
    :class:`~livereplay.learners.factor.FactorLearner`'s parameters.

    Parameters
    ----------
    previous
        How many of the user's last started streamers the transition term averages over
        (1: the previous streamer, as in FPMC).
    dim
        Width of the user, transition and streamer embeddings.
    lr
        Adagrad learning rate of the embedding rows.
    updates
        Gradient steps taken on each training batch.
    batch_sessions
        Train once this many sessions are queued.
    batch_steps
        ... or once the oldest queued session is this many steps before the next step to
        score, so that a quiet spell does not leave sessions unlearnt for long.
    max_candidates
        Streamers of the available set in one step's softmax, sampled beyond that.
    loss
        ``"softmax"`` over the available streamers, or the seed's ``"squared"`` error.
    init_scale
        Standard deviation of the initial embedding rows.
    seed
        Seeds the initial rows (each from its id) and the sampling of candidates.
    """

    def __init__(self, *, previous: int = 1, dim: int = 32, lr: float = 0.05, updates: int = 2,
                 batch_sessions: int = 16, batch_steps: int = 4, max_candidates: int = 256,
                 loss: str = "softmax", init_scale: float = 0.1, seed: int = 0) -> None:
        super().__init__(dim=dim, lr=lr, updates=updates, batch_sessions=batch_sessions,
                         batch_steps=batch_steps, max_candidates=max_candidates, loss=loss,
                         init_scale=init_scale, seed=seed)
        self.previous = previous

    def _setup(self) -> None:
        for salt, name in ((2, "users"), (3, "transitions")):
            self.tables_[name] = EmbeddingTable(self.dim, scale=self.init_scale, seed=self.seed,
                                                salt=salt)
        self.recent_ = RecentStreamers(self.previous)

    def _input_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [("users", ()), ("transitions", (self.previous,))]

    def _inputs(self, users: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(users, np.int32), self.recent_.of(users)[0]]

    def _query(self, rows: list[Any], valid: list[Any]) -> Any:
        tf = tensorflow()
        users, transitions = rows  # padding rows are zero
        return users + tf.reduce_sum(transitions, axis=1) / tf.maximum(
            tf.reduce_sum(valid[1], axis=1, keepdims=True), 1.0)

    def _remember(self, step: Step) -> None:
        self.recent_.push(step.started.user, step.started.streamer, step.t)
