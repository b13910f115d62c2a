"""``mf``: online matrix factorisation, trained like every
:class:`~livereplay.learners.factor.FactorLearner` (a softmax over the streamers available at
each session's step, in batches).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .factor import FactorLearner
from .tf_common import EmbeddingTable


class MF(FactorLearner):
    """``mf``: online matrix factorisation, score(u, s) = <p_u, q_s> + b_s.

    The seed notebook's ``RecommendationModel`` made sparse and online. Its parameters are
    :class:`FactorLearner`'s, whose entries explain their defaults.

    Parameters
    ----------
    dim
        Width of the user and streamer embeddings.
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

    def _setup(self) -> None:
        self.tables_["users"] = EmbeddingTable(self.dim, scale=self.init_scale, seed=self.seed,
                                               salt=2)

    def _input_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [("users", ())]

    def _inputs(self, users: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(users, np.int32)]

    def _query(self, rows: list[Any], valid: list[Any]) -> Any:
        return rows[0]
