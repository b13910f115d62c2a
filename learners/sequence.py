"""Sequence learners in TensorFlow: ``lstm`` and ``liverec``, read a user's recent streamers.

Both keep each user's last ``length`` started streamers (:class:`RecentStreamers`), embed
them with the streamer table they also score with, and encode the window into the user's
query; they are trained online like every :class:`livereplay.learners.mf.FactorLearner`: at each step,
each session that starts is a softmax over the available streamers, given the window as it
was before the step.

- :class:`LSTM` is the seed notebook's sketch: embeddings and stacked LSTMs; the last
  hidden state, projected, is the query.
- :class:`LiveRec` follows Rappaz et al. (RecSys 2021): causal self-attention over the window
  (with position embeddings), candidates restricted to the available set, and for every
  (user, candidate) pair an embedding of the time since the user last watched the candidate
  (never / watching now / log2-spaced buckets of steps), added to the candidate's embedding:
  the paper's two ideas, availability and repeat consumption.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from livereplay.contract import Step

from .mf import FactorLearner
from .signals import LiveSignals, RecentStreamers
from .tf_common import DenseAdam, glorot, tensorflow


class _WindowLearner(FactorLearner):
    """A factor learner whose query is computed from the user's last ``length`` streamers."""

    def __init__(self, *, length: int = 16, dense_lr: float = 1e-3, **hyper: Any) -> None:
        super().__init__(**hyper)
        self.length, self.dense_lr = length, dense_lr

    def _weights(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Initial dense weights of the encoder."""
        raise NotImplementedError

    def _setup(self) -> None:
        self.recent_ = RecentStreamers(self.length)
        self.dense_ = DenseAdam(self._weights(np.random.default_rng(self.seed)), self.dense_lr)

    def _inputs(self, users: np.ndarray) -> tuple[list[tuple[str, np.ndarray]], list[np.ndarray]]:
        window, _ = self.recent_.of(users)
        return [("items", window)], [(window >= 0).astype(np.float32)]

    def _signature(self) -> tuple[list[Any], list[Any]]:
        tf = tensorflow()
        return ([tf.TensorSpec([None, self.length, self.dim], tf.float32)],
                [tf.TensorSpec([None, self.length], tf.float32)])

    def _remember(self, step: Step) -> None:
        self.recent_.push(step.started.user, step.started.streamer, step.t)


class LSTM(_WindowLearner):
    """``lstm``: stacked LSTMs over the embeddings of the user's recent streamers.

    Parameters
    ----------
    length
        Streamers in a user's window (default 16).
    layers
        Stacked LSTM layers, each ``dim`` wide (default 2).
    dense_lr
        Adam learning rate of the LSTM weights (default 1e-3).
    The others are those of :class:`livereplay.learners.mf.FactorLearner`.
    """

    def __init__(self, *, layers: int = 2, **hyper: Any) -> None:
        super().__init__(**hyper)
        self.layers = layers

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

    def _query(self, rows: tuple, extra: tuple) -> Any:
        tf = tensorflow()
        w = self.dense_
        sequence, mask = rows[0], extra[0]
        batch = tf.shape(sequence)[0]
        inputs = [sequence[:, k] for k in range(self.length)]
        for layer in range(self.layers):
            h = c = tf.zeros([batch, self.dim])
            outputs = []
            for k, x in enumerate(inputs):
                gates = tf.matmul(x, w[f"kernel{layer}"]) + tf.matmul(h, w[f"recurrent{layer}"]) + w[f"bias{layer}"]
                i, f, g, o = tf.split(gates, 4, axis=1)
                c_new = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
                h_new = tf.sigmoid(o) * tf.tanh(c_new)
                m = mask[:, k:k + 1]  # padding leaves the state unchanged
                c, h = m * c_new + (1 - m) * c, m * h_new + (1 - m) * h
                outputs.append(h)
            inputs = outputs
        return tf.matmul(inputs[-1], w["out"]) + w["out_bias"]


class LiveRec(_WindowLearner):
    """``liverec``: self-attention over the user's recent streamers, scored against the
    available streamers, each with an embedding of the time since the user last watched it.

    score(u, s) = <h_u, q_s + r_gap(u, s)> + b_s + w_gap(u, s), where h_u is the attention
    output at the window's last position and gap(u, s) is 0 if u never watched s, 1 if it
    is watching s now, else 2 + floor(log2(steps since u last started s)), capped.

    Parameters
    ----------
    length
        Streamers in a user's window (default 16).
    blocks
        Self-attention blocks (default 1).
    gap_buckets
        Buckets of the time since last watch (default 16: up to 2^13 steps apart).
    dense_lr
        Adam learning rate of the attention weights and gap embeddings (default 1e-3).
    The others are those of :class:`livereplay.learners.mf.FactorLearner`.
    """

    def __init__(self, *, blocks: int = 1, gap_buckets: int = 16, **hyper: Any) -> None:
        super().__init__(**hyper)
        self.blocks, self.gap_buckets = blocks, gap_buckets

    def _setup(self) -> None:
        super()._setup()
        self.signals_ = LiveSignals()

    def _weights(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        d = self.dim
        weights = {"position": 0.1 * rng.standard_normal((self.length, d)),
                   "gap": np.zeros((self.gap_buckets, d)), "gap_bias": np.zeros(self.gap_buckets)}
        for block in range(self.blocks):
            for name in ("query", "key", "value", "ffn1", "ffn2"):
                weights[f"{name}{block}"] = glorot(rng, d, d)
            weights[f"ffn_bias{block}"] = np.zeros(d)
        return weights

    def _pair_inputs(self, users: np.ndarray, candidates: np.ndarray,
                     t: int) -> list[np.ndarray]:
        raw = self.signals_.features(users, candidates, t)
        gap = np.maximum(raw["gap"], 1.0)
        bucket = np.minimum(2 + np.floor(np.log2(gap)), self.gap_buckets - 1)
        bucket = np.where(raw["count"] > 0, bucket, 0)
        bucket = np.where(raw["now"] > 0, 1, bucket)
        return [bucket.astype(np.int32)]

    def _pair_signature(self) -> list[Any]:
        tf = tensorflow()
        return [tf.TensorSpec([None, None], tf.int32)]

    def _pair_logits(self, query: Any, pair: tuple) -> Any:
        tf = tensorflow()
        by_bucket = tf.matmul(query, self.dense_["gap"], transpose_b=True)  # (B, buckets)
        return (tf.gather(by_bucket, pair[0], batch_dims=1)
                + tf.gather(self.dense_["gap_bias"], pair[0]))

    def _query(self, rows: tuple, extra: tuple) -> Any:
        tf = tensorflow()
        w = self.dense_
        mask = extra[0]
        x = rows[0] + w["position"][None] * mask[:, :, None]
        causal = tf.linalg.band_part(tf.ones([self.length, self.length]), -1, 0)
        allowed = causal[None] * mask[:, None, :]  # (B, query position, key position)
        for block in range(self.blocks):
            normed = _layer_norm(x)
            q = tf.matmul(normed, w[f"query{block}"])
            k = tf.matmul(normed, w[f"key{block}"])
            v = tf.matmul(normed, w[f"value{block}"])
            attention = tf.matmul(q, k, transpose_b=True) / float(np.sqrt(self.dim))
            attention = tf.nn.softmax(attention - 1e9 * (1.0 - allowed), axis=-1)
            x = x + tf.matmul(attention, v)
            hidden = tf.nn.relu(tf.matmul(_layer_norm(x), w[f"ffn1{block}"]) + w[f"ffn_bias{block}"])
            x = x + tf.matmul(hidden, w[f"ffn2{block}"])
        return _layer_norm(x[:, -1])

    def _remember(self, step: Step) -> None:
        super()._remember(step)
        self.signals_.apply(step)


def _layer_norm(x: Any) -> Any:
    tf = tensorflow()
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + 1e-6)
