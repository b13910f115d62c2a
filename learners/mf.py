"""Online factor models in TensorFlow, and ``mf``: online matrix factorisation.

:class:`FactorLearner` is what every TensorFlow learner of the project shares. A user is
encoded as a query vector (a subclass says how: a user embedding, the previous streamer, a
recurrent or attentive reading of its recent streamers) and a candidate streamer as an
embedding and a bias; the score is their dot product plus the bias (plus, for some models, a
term per (user, candidate) pair). At every revealed step the model takes a few gradient
steps on the sessions that started at it: each started row is a softmax over the streamers
available at that step (all of them, or ``max_candidates`` of them sampled, the target
always kept), so gradients reach only the active users and the available streamers.
Embedding rows are gathered from NumPy tables, TensorFlow differentiates the loss with
respect to the gathered rows in a compiled step whose shapes are all ``None`` (it is traced
once), and the tables apply Adagrad to those rows only: users x streamers is never formed.

Why a softmax over the available set: it is the conditional choice the ``starts`` protocol
asks about (which live channel, given what is live). Against the seed's squared loss under an
availability mask (``loss="squared"``, kept for comparison) on the embedded sample's
validation days 20-31, the softmax wins on the leak-free candidates (``others``: mrr 0.132 vs
0.119, hr@1 0.108 vs 0.091) and loses on ``log`` (mrr 0.627 vs 0.646), whose candidate set
leaks the target; we choose by the leak-free protocol.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from livereplay.contract import Learner, Step

from .signals import softmax_block
from .tf_common import DenseAdam, EmbeddingTable, tensorflow

LOSSES = ("softmax", "squared")


class FactorLearner(Learner):
    """Base of the online factor models: score(u, s) = <query(u), item_s> + bias_s.

    Parameters
    ----------
    dim
        Width of every embedding (default 32).
    lr
        Adagrad learning rate of the embedding rows (default 0.05); dense weights, where a
        model has them, use Adam with ``dense_lr``.
    updates
        Gradient steps taken on each revealed step (default 2).
    max_candidates
        Streamers of the available set in one step's softmax; larger sets are sampled
        uniformly, the targets always kept (default 512).
    loss
        ``"softmax"`` (cross-entropy over the candidates, default) or ``"squared"`` (the
        seed's squared error against 1 for the watched streamer and 0 for the other
        available ones).
    init_scale
        Standard deviation of the initial embedding rows (default 0.1).
    seed
        Seeds the initial rows (each from its id) and the sampling of candidates.
    """


    def __init__(self, *, dim: int = 32, lr: float = 0.05, updates: int = 2,
                 max_candidates: int = 512, loss: str = "softmax", init_scale: float = 0.1,
                 seed: int = 0) -> None:
        super().__init__(seed=seed)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        self.dim, self.lr, self.updates = dim, lr, updates
        self.max_candidates, self.loss, self.init_scale = max_candidates, loss, init_scale

    # --- what a subclass defines ------------------------------------------------------------
    def _setup(self) -> None:
        """Create the user-side tables (in ``self.tables_``), dense weights and state."""

    def _inputs(self, users: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], list[np.ndarray]]:
        """The user side of a batch: (table name, ids) pairs to gather, and extra arrays."""
        raise NotImplementedError

    def _signature(self) -> tuple[list[Any], list[Any]]:
        """``tf.TensorSpec`` of the gathered rows and of the extra arrays of :meth:`_inputs`."""
        raise NotImplementedError

    def _query(self, rows: tuple, extra: tuple) -> Any:
        """TensorFlow: the (B, dim) query vectors from gathered rows and extras."""
        raise NotImplementedError

    def _pair_inputs(self, users: np.ndarray, candidates: np.ndarray,
                     t: int) -> list[np.ndarray]:
        """Arrays describing each (user, candidate) pair at step ``t``, for :meth:`_pair_logits`."""
        return []

    def _pair_signature(self) -> list[Any]:
        return []

    def _pair_logits(self, query: Any, pair: tuple) -> Any:
        """TensorFlow: a (B, C) term added to the logits (0 by default)."""
        return 0.0

    def _remember(self, step: Step) -> None:
        """Update the model's view of the past after training on ``step``."""

    # --- the shared machinery ---------------------------------------------------------------
    def reset(self) -> None:
        tf = tensorflow()
        self.rng_ = np.random.default_rng(self.seed)
        table = dict(dim=self.dim, scale=self.init_scale, seed=self.seed, lr=self.lr)
        self.tables_: dict[str, EmbeddingTable] = {"items": EmbeddingTable(salt=0, **table)}
        self.bias_ = EmbeddingTable(1, scale=0.0, seed=self.seed, salt=1, lr=self.lr)
        self.dense_: DenseAdam | None = None
        self._setup()
        rows_spec, extra_spec = self._signature()
        specs = [tuple(rows_spec), tuple(extra_spec),
                 tf.TensorSpec([None, self.dim], tf.float32),  # candidate rows
                 tf.TensorSpec([None, 1], tf.float32),  # candidate biases
                 tuple(self._pair_signature())]
        self.logits_ = tf.function(self._logits, input_signature=specs).get_concrete_function()
        self.train_ = tf.function(self._train, input_signature=specs + [
            tf.TensorSpec([None], tf.int32)]).get_concrete_function()

    def _logits(self, rows: tuple, extra: tuple, items: Any, bias: Any, pair: tuple) -> Any:
        tf = tensorflow()
        query = self._query(rows, extra)
        return (tf.matmul(query, items, transpose_b=True) + tf.transpose(bias)
                + self._pair_logits(query, pair))

    def _train(self, rows: tuple, extra: tuple, items: Any, bias: Any, pair: tuple,
               target: Any) -> tuple:
        tf = tensorflow()
        dense = list(self.dense_.variables.values()) if self.dense_ is not None else []
        with tf.GradientTape() as tape:
            tape.watch([rows, items, bias])
            logits = self._logits(rows, extra, items, bias, pair)
            if self.loss == "softmax":
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(target, logits))
            else:
                wanted = tf.one_hot(target, tf.shape(logits)[1])
                loss = tf.reduce_sum(tf.square(logits - wanted)) / tf.cast(tf.shape(logits)[0], tf.float32)
        grads = tape.gradient(loss, [rows, items, bias, dense])
        if dense:
            self.dense_.apply(grads[3])
        return grads[0], grads[1], grads[2]

    def _gather(self, users: np.ndarray, candidates: np.ndarray, t: int) -> tuple[list, tuple]:
        """The ids gathered for ``users``, and the inputs of the compiled functions at step ``t``."""
        ids, extra = self._inputs(users)
        rows = tuple(self.tables_[name].gather(i) for name, i in ids)
        inputs = (rows, tuple(extra), self.tables_["items"].gather(candidates),
                  self.bias_.gather(candidates), tuple(self._pair_inputs(users, candidates, t)))
        return ids, inputs

    def observe(self, step: Step) -> None:
        if len(step.started.user):
            candidates, target = softmax_block(step.available, step.started.streamer,
                                               self.max_candidates, self.rng_)
            for _ in range(self.updates):
                ids, inputs = self._gather(step.started.user, candidates, step.t)
                row_grads, item_grad, bias_grad = self.train_(*inputs, target)
                updates: dict[str, list] = {"items": [(candidates, item_grad.numpy())]}
                for (name, i), grad in zip(ids, row_grads):
                    updates.setdefault(name, []).append((i.reshape(-1), grad.numpy()))
                for name, parts in updates.items():
                    self.tables_[name].apply(np.concatenate([p[0] for p in parts]),
                                             np.concatenate([p[1].reshape(-1, self.dim) for p in parts]))
                self.bias_.apply(candidates, bias_grad.numpy())
        self._remember(step)

    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray:
        _, inputs = self._gather(users, candidates, t)
        return self.logits_(*inputs).numpy()


class MF(FactorLearner):
    """``mf``: online matrix factorisation, score(u, s) = <p_u, q_s> + b_s.

    The seed notebook's ``RecommendationModel`` made sparse and online; hyper-parameters are
    those of :class:`FactorLearner`.
    """

    def _setup(self) -> None:
        self.tables_["users"] = EmbeddingTable(self.dim, scale=self.init_scale, seed=self.seed,
                                               salt=2, lr=self.lr)

    def _inputs(self, users: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], list[np.ndarray]]:
        return [("users", users)], []

    def _signature(self) -> tuple[list[Any], list[Any]]:
        tf = tensorflow()
        return [tf.TensorSpec([None, self.dim], tf.float32)], []

    def _query(self, rows: tuple, extra: tuple) -> Any:
        return rows[0]
