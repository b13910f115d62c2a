"""Sequence learners in TensorFlow: ``lstm`` and ``liverec``, read a user's recent streamers.

Both keep each user's last ``length`` started streamers (:class:`RecentStreamers`), embed
them with the streamer table they also score with, and encode the window into the user's
query; they are trained online like every :class:`livereplay.learners.factor.FactorLearner`: each
session that starts is a softmax over the streamers available at its step, given the window
as it was before the step (queued with the session, so a batch trained later sees it too).

- :class:`LSTM` is the seed notebook's sketch: embeddings and stacked LSTMs; the last
  hidden state, projected, is the query.
- :class:`LiveRec` follows Rappaz et al. (RecSys 2021): causal self-attention over the window
  (with position embeddings), candidates restricted to the available set, and for every
  (user, candidate) pair an embedding of the time since the user last watched the candidate
  (never / watching now / log2-spaced buckets of steps), added to the candidate's embedding:
  the paper's two ideas, availability and repeat consumption.
"""
from __future__ import annotations

import abc
from typing import Any

import numpy as np

from livereplay.contract import Step

from .factor import FactorLearner
from .signals import LiveSignals, RecentStreamers
from .tf_common import DenseAdam, glorot, tensorflow


class _WindowLearner(FactorLearner):
    """A factor learner whose query is computed from the user's last ``length`` streamers by
    an encoder with dense weights trained by Adam at rate ``dense_lr`` (a subclass stores
    both parameters).

    Its softmax block keeps 512 streamers by default (``max_candidates``), twice the other
    models': the encoder, not the block, is what a step costs, so a larger block costs
    little and a smaller one ranks worse. Both window models take one gradient step a batch
    at about twice the other models' embedding rate (``updates=1``, ``lr`` 0.1 or more): on
    the embedded sample's validation days 20-31 that ranks as well as two steps at the
    other models' rate or better, at a lower cost (see each model's parameters)."""

    relative_cost = 40.0  # an encoder over each user's window

    @abc.abstractmethod
    def _weights(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Initial dense weights of the encoder."""

    def _setup(self) -> None:
        self.recent_ = RecentStreamers(self.length)
        self.dense_ = DenseAdam(self._weights(np.random.default_rng(self.seed)), self.dense_lr)

    def _input_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [("items", (self.length,))]

    def _inputs(self, users: np.ndarray) -> list[np.ndarray]:
        return [self.recent_.of(users)[0]]

    def _remember(self, step: Step) -> None:
        self.recent_.push(step.started.user, step.started.streamer, step.t)


class LSTM(_WindowLearner):
    """``lstm``: an LSTM (or several stacked) over the embeddings of the user's recent streamers.

    The defaults it shares with the other factor models are explained in
    :class:`~livereplay.learners.factor.FactorLearner`'s parameters. ``layers``, ``updates``,
    ``lr``, ``dense_lr`` and ``batch_sessions`` were chosen on the embedded sample's
    validation days 20-31, by the mean over seeds 0-2 (see ``docs/tuning.md``), and checked
    on a large simulated log; the test days 32-42 were used only to report.

    Parameters
    ----------
    length
        Streamers in a user's window (default 16).
    layers
        Stacked LSTM layers, each ``dim`` wide (default 1). One layer ranks better than two
        under every protocol, on the validation days and on a large simulated log, at a
        lower cost.
    dim
        Width of the streamer embeddings and of the LSTM's state.
    updates
        Gradient steps on each batch (default 1). One step at twice the other models' rates
        ranks better than two steps at theirs, on the validation days and on a large
        simulated log, at a lower cost.
    lr
        Adagrad learning rate of the embedding rows (default 0.1, twice the other models',
        to go with one gradient step a batch).
    dense_lr
        Adam learning rate of the LSTM weights and of the output projection (default 2e-3).
    batch_sessions
        Train once this many sessions are queued (default 16). With one layer, 16 ranks as
        well as 8 on the validation days, in half as many training calls.
    batch_steps
        ... or once the oldest queued session is this many steps before the next step to
        score, so that a quiet spell does not leave sessions unlearnt for long.
    max_candidates
        Streamers in a step's softmax block (default 512: the encoder, not the block, is
        what a step costs this model).
    loss
        ``"softmax"`` over the available streamers, or the seed's ``"squared"`` error.
    init_scale
        Standard deviation of the initial embedding rows.
    seed
        Seeds the initial rows (each from its id), the LSTM's initial weights and the
        sampling of candidates.
    """

    def __init__(self, *, length: int = 16, layers: int = 1, dim: int = 32, lr: float = 0.1,
                 dense_lr: float = 2e-3, updates: int = 1, batch_sessions: int = 16,
                 batch_steps: int = 4, max_candidates: int = 512, loss: str = "softmax",
                 init_scale: float = 0.1, seed: int = 0) -> None:
        super().__init__(dim=dim, lr=lr, updates=updates, batch_sessions=batch_sessions,
                         batch_steps=batch_steps, max_candidates=max_candidates, loss=loss,
                         init_scale=init_scale, seed=seed)
        self.length, self.layers, self.dense_lr = length, layers, dense_lr

    def _weights(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        d = self.dim
        weights = {}
        for layer in range(self.layers):
            weights[f"kernel{layer}"] = glorot(rng, d, 4 * d)
            weights[f"recurrent{layer}"] = glorot(rng, d, 4 * d)
            weights[f"bias{layer}"] = np.r_[np.zeros(d), np.ones(d), np.zeros(2 * d)]  # forget gate 1
        weights["out"] = glorot(rng, d, d)
        weights["out_bias"] = np.zeros(d)
        return weights

    def _query(self, rows: list[Any], valid: list[Any]) -> Any:
        tf = tensorflow()
        w, d, length = self.dense_, self.dim, self.length
        sequence, mask = rows[0], valid[0]
        batch = tf.shape(sequence)[0]
        size = tf.cast(tf.reduce_sum(mask, axis=1), tf.int32)
        # windows are padded on the left; the fused LSTM has no mask, so each user's streamers
        # are moved to the front and its state is read at its last one (the same state as
        # running over the padded window with the state frozen on padding)
        front = (tf.range(length)[None, :] + length - size[:, None]) % length
        x = tf.transpose(tf.gather(sequence, front, batch_dims=1), [1, 0, 2])
        zeros, no_peephole = tf.zeros([batch, d]), tf.zeros([d])
        icfo = np.r_[0:d, 2 * d:3 * d, d:2 * d, 3 * d:4 * d]  # our gates are i, f, g, o
        for layer in range(self.layers):
            x = tf.raw_ops.BlockLSTM(  # not V2: TensorFlow differentiates V2 with V1's layout
                seq_len_max=tf.constant(length, tf.int64), x=x, cs_prev=zeros, h_prev=zeros,
                w=tf.gather(tf.concat([w[f"kernel{layer}"], w[f"recurrent{layer}"]], axis=0),
                            icfo, axis=1),
                wci=no_peephole, wcf=no_peephole, wco=no_peephole,
                b=tf.gather(w[f"bias{layer}"], icfo), forget_bias=0.0, cell_clip=-1.0,
                use_peephole=False).h
        last = tf.gather(tf.transpose(x, [1, 0, 2]), tf.maximum(size - 1, 0), batch_dims=1)
        last = last * tf.cast(size > 0, tf.float32)[:, None]  # no history: a zero state
        return tf.matmul(last, w["out"]) + w["out_bias"]


class LiveRec(_WindowLearner):
    """``liverec``: self-attention over the user's recent streamers, scored against the
    available streamers, each with an embedding of the time since the user last watched it.

    score(u, s) = <h_u, q_s + r_gap(u, s)> + b_s + w_gap(u, s), where h_u is the attention
    output at the window's last position and gap(u, s) is 0 if u never watched s, 1 if it
    is watching s now, else 2 + floor(log2(steps since u last started s)), capped. With
    ``count_buckets``, <h_u, r_count(u, s)> + w_count(u, s) is added the same way, count(u, s)
    being 0 if u never watched s, else 1 + floor(log2(u's rows of s)), capped.

    The defaults it shares with the other factor models are explained in
    :class:`~livereplay.learners.factor.FactorLearner`'s parameters. ``length``, ``lr``,
    ``dense_lr`` and ``batch_sessions`` are a tune's pick on the embedded sample's validation
    days 20-31, by the mean over seeds 0-2 (see ``docs/tuning.md``), and ``count_buckets``
    and ``updates`` were chosen there too; the test days 32-42 were used only to report.
    ``blend`` runs its model with other values (see
    :class:`~livereplay.learners.blend.RepeatBlend`).

    Parameters
    ----------
    length
        Streamers in a user's window (default 24).
    blocks
        Self-attention blocks (default 1).
    gap_buckets
        Buckets of the time since last watch (default 16: up to 2^13 steps apart).
    count_buckets
        Buckets of how often the user watched the candidate (default 8: up to 2^6 rows; 0:
        none). The count term puts the target first more often under every protocol, on
        the validation days and on a large simulated log, for a little more time.
    updates
        Gradient steps on each batch (default 1). One step at about twice the other
        models' embedding rate ranks about as well as two at theirs, in less time: on a large log
        a training call is compute, not overhead, so each gradient step costs its share.
    lr
        Adagrad learning rate of the embedding rows (default 0.11, about twice the other
        models', to go with one gradient step a batch).
    dense_lr
        Adam learning rate of the encoder's weights: position and attention weights and the
        pair embeddings (default 8.2e-4). Doubling it as well as ``lr`` ranks worse under
        ``next``.
    batch_sessions
        Train once this many sessions are queued (default 8).
    batch_steps
        ... or once the oldest queued session is this many steps before the next step to
        score, so that a quiet spell does not leave sessions unlearnt for long.
    max_candidates
        Streamers in a step's softmax block (default 512: the encoder, not the block, is
        what a step costs this model).
    dim
        Width of the streamer embeddings, of the attention blocks and of the pair
        embeddings.
    loss
        ``"softmax"`` over the available streamers, or the seed's ``"squared"`` error.
    init_scale
        Standard deviation of the initial embedding rows.
    seed
        Seeds the initial rows (each from its id), the encoder's initial weights and the
        sampling of candidates.
    """

    def __init__(self, *, length: int = 24, blocks: int = 1, gap_buckets: int = 16,
                 count_buckets: int = 8, dim: int = 32, lr: float = 0.11,
                 dense_lr: float = 8.2e-4, updates: int = 1, batch_sessions: int = 8,
                 batch_steps: int = 4, max_candidates: int = 512, loss: str = "softmax",
                 init_scale: float = 0.1, seed: int = 0) -> None:
        super().__init__(dim=dim, lr=lr, updates=updates, batch_sessions=batch_sessions,
                         batch_steps=batch_steps, max_candidates=max_candidates, loss=loss,
                         init_scale=init_scale, seed=seed)
        self.length, self.dense_lr = length, dense_lr
        self.blocks, self.gap_buckets, self.count_buckets = blocks, gap_buckets, count_buckets

    def _setup(self) -> None:
        super()._setup()
        self.signals_ = LiveSignals()

    def _weights(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        d = self.dim
        weights = {"position": 0.1 * rng.standard_normal((self.length, d))}
        for name, buckets in self._buckets().items():
            weights.update({name: np.zeros((buckets, d)), f"{name}_bias": np.zeros(buckets)})
        for block in range(self.blocks):
            for name in ("query", "key", "value", "ffn1", "ffn2"):
                weights[f"{name}{block}"] = glorot(rng, d, d)
            weights[f"ffn_bias{block}"] = np.zeros(d)
        return weights

    def _buckets(self) -> dict[str, int]:
        """The pair embeddings in use and their numbers of buckets, in the order of the
        pair inputs' value rows."""
        return {"gap": self.gap_buckets, **({"count": self.count_buckets}
                                             if self.count_buckets else {})}

    def _pairs(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray:
        """The gap bucket (and count bucket) of every pair the user has watched (all
        others: bucket 0)."""
        pairs = self.signals_.pair_signals(users, candidates, t)
        bucket = np.minimum(2 + np.floor(np.log2(np.maximum(pairs.gap, 1.0))), self.gap_buckets - 1)
        rows = [pairs.row, pairs.col, np.where(pairs.now, 1, bucket)]
        if self.count_buckets:
            rows.append(np.minimum(1 + np.floor(np.log2(pairs.count)), self.count_buckets - 1))
        return np.stack(rows).astype(np.int32)

    def _pair_terms(self, query: Any, pairs: Any) -> tuple[Any, Any]:
        tf = tensorflow()
        row, common, extra = pairs[0], 0.0, 0.0
        for value_row, name in enumerate(self._buckets(), start=2):
            bucket = pairs[value_row]
            by_bucket = (tf.matmul(query, self.dense_[name], transpose_b=True)
                         + self.dense_[f"{name}_bias"][None, :])  # (B, buckets)
            common += by_bucket[:, 0]
            extra += (tf.gather_nd(by_bucket, tf.stack([row, bucket], axis=1))
                      - tf.gather(by_bucket[:, 0], row))
        return common, extra

    def _query(self, rows: list[Any], valid: list[Any]) -> Any:
        tf = tensorflow()
        w = self.dense_
        mask = valid[0]
        x = rows[0] + w["position"][None] * mask[:, :, None]
        causal = tf.linalg.band_part(tf.ones([self.length, self.length]), -1, 0)
        allowed = causal[None] * mask[:, None, :]  # (B, query position, key position)
        for block in range(self.blocks):
            normed = _layer_norm(x)
            if block == self.blocks - 1:  # only the last position is read: compute it alone
                x, queries, allowed = x[:, -1:], normed[:, -1:], allowed[:, -1:]
            else:
                queries = normed
            q = _dense(queries, w[f"query{block}"])
            k = _dense(normed, w[f"key{block}"])
            v = _dense(normed, w[f"value{block}"])
            attention = tf.matmul(q, k, transpose_b=True) / float(np.sqrt(self.dim))
            attention = _softmax(attention - 1e9 * (1.0 - allowed))
            x = x + tf.matmul(attention, v)
            hidden = tf.nn.relu(_dense(_layer_norm(x), w[f"ffn1{block}"]) + w[f"ffn_bias{block}"])
            x = x + _dense(hidden, w[f"ffn2{block}"])
        return _layer_norm(x[:, -1])

    def _remember(self, step: Step) -> None:
        super()._remember(step)
        self.signals_.apply(step)


def _dense(x: Any, weight: Any) -> Any:
    """``x @ weight`` over the last axis of a (B, L, D) tensor, as one 2-D product (whose
    gradient is one product too, not a batch of them summed)."""
    return tensorflow().tensordot(x, weight, axes=1)


# TensorFlow's rsqrt, reciprocal and softmax kernels start from the CPU's approximate
# reciprocal instructions (RSQRTPS, RCPPS), whose last bits differ between CPU makers; online
# training would carry those bits into every later rank. Square roots and divisions are
# rounded exactly on every CPU, so these two are written with them. The layer norm divides
# with divide_no_nan (its divisor is never 0) because the graph optimiser turns a plain
# division by a square root back into a product with rsqrt.


def _layer_norm(x: Any) -> Any:
    tf = tensorflow()
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return tf.math.divide_no_nan(x - mean, tf.sqrt(variance + 1e-6))


def _softmax(x: Any) -> Any:
    """Softmax over the last axis."""
    tf = tensorflow()
    e = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))
    return e / tf.reduce_sum(e, axis=-1, keepdims=True)
