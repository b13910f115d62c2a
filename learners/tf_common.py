"""What the TensorFlow learners share: a quiet TensorFlow import, id-seeded growable embedding
tables with sparse updates, and an Adam optimiser for dense weights.

TensorFlow is imported by :func:`tensorflow` only, so naming a baseline never loads it. Its
start-up logging is silenced, its threads are limited (``LIVEREPLAY_TF_THREADS``, default 2)
and its kernels are made deterministic, so a seed gives the same results on every CPU run.

Embedding tables live in NumPy: a step gathers the rows it needs, TensorFlow computes the
loss and the gradients with respect to those gathered rows, and the table applies them to
those rows only (Adagrad). A row is initialised from its id and the seed alone, so nothing
depends on how many ids exist later, and the table grows as ids are learnt of.
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np

from livereplay.arrays import distinct

_TF: ModuleType | None = None


def tensorflow() -> ModuleType:
    """TensorFlow, imported once with its logging silenced, few threads and deterministic ops."""
    global _TF
    if _TF is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # also silences its start-up notice
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        threads = int(os.environ.get("LIVEREPLAY_TF_THREADS", "2"))
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # the runtime was already started by the caller: keep its settings
            pass
        tf.config.experimental.enable_op_determinism()
        _TF = tf
    return _TF


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A fixed 64-bit mixing function (wrapping arithmetic): a counter-based random source."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hashed_normal(seed: int, salt: int, ids: np.ndarray, dim: int) -> np.ndarray:
    """Standard normal draws of shape (len(ids), dim) that depend only on (seed, salt, id):
    row i is the same whichever other ids exist (Box-Muller on hashed counters)."""
    ids = np.asarray(ids, np.uint64)[:, None]
    column = np.arange(dim, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        key = _splitmix64(np.uint64(seed & 0xFFFFFFFF) << np.uint64(32) | np.uint64(salt & 0xFFFFFFFF))
        base = _splitmix64(key ^ (ids * np.uint64(2 * dim) + np.uint64(1)))
        u1 = _splitmix64(base ^ (2 * column))
        u2 = _splitmix64(base ^ (2 * column + np.uint64(1)))
    u1 = ((u1 >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
    u2 = (u2 >> np.uint64(11)).astype(np.float64) / 2.0**53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


class EmbeddingTable:
    """A growable table of rows, each initialised from its id, updated sparsely by Adagrad.

    Parameters
    ----------
    dim
        Width of a row.
    scale
        Standard deviation of the initial rows (0 gives zero rows, e.g. for biases).
    seed, salt
        The initial row of id i is ``scale * hashed_normal(seed, salt, [i], dim)``; the salt
        tells the tables of one learner apart.
    lr
        Adagrad learning rate.
    """

    def __init__(self, dim: int, *, scale: float, seed: int, salt: int, lr: float) -> None:
        self.dim, self.scale, self.seed, self.salt, self.lr = dim, scale, seed, salt, lr
        self.rows = np.zeros((0, dim), np.float32)
        self.sq_grad = np.zeros(0, np.float32)  # Adagrad accumulator, one per row
        self.size = 0

    def ensure(self, size: int) -> None:
        """Learn of every id below ``size``: new rows get their id-seeded initial values."""
        if size <= self.size:
            return
        if size > len(self.rows):
            capacity = max(size, 2 * len(self.rows), 64)
            rows = np.zeros((capacity, self.dim), np.float32)
            rows[: self.size] = self.rows[: self.size]
            sq_grad = np.zeros(capacity, np.float32)
            sq_grad[: self.size] = self.sq_grad[: self.size]
            self.rows, self.sq_grad = rows, sq_grad
        if self.scale:
            new = np.arange(self.size, size)
            self.rows[self.size: size] = self.scale * hashed_normal(self.seed, self.salt, new, self.dim)
        self.size = size

    def gather(self, ids: np.ndarray) -> np.ndarray:
        """Rows of ``ids`` (any shape; negative ids, used as padding, give zero rows)."""
        ids = np.asarray(ids)
        if ids.size:
            self.ensure(int(ids.max()) + 1)
        out = np.zeros(ids.shape + (self.dim,), np.float32)
        valid = ids >= 0
        out[valid] = self.rows[ids[valid]]
        return out

    def apply(self, ids: np.ndarray, grads: np.ndarray) -> None:
        """One Adagrad step on the rows of ``ids`` (duplicates summed, padding ignored)."""
        ids = np.asarray(ids).reshape(-1)
        grads = np.asarray(grads, np.float32).reshape(len(ids), self.dim)
        keep = ids >= 0
        unique, inverse = distinct(ids[keep], inverse=True)
        summed = np.zeros((len(unique), self.dim), np.float32)
        np.add.at(summed, inverse, grads[keep])
        self.sq_grad[unique] += (summed * summed).mean(axis=1)
        self.rows[unique] -= self.lr * summed / (np.sqrt(self.sq_grad[unique])[:, None] + 1e-6)


class DenseAdam:
    """Adam for a list of dense ``tf.Variable`` (the weights of an encoder), run inside a
    compiled step. Built from NumPy initial values, so the seed alone fixes them."""

    def __init__(self, initial: dict[str, np.ndarray], lr: float, beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-7) -> None:
        tf = tensorflow()
        self.variables = {name: tf.Variable(value.astype(np.float32), name=name)
                          for name, value in initial.items()}
        self._m = [tf.Variable(tf.zeros_like(v)) for v in self.variables.values()]
        self._v = [tf.Variable(tf.zeros_like(v)) for v in self.variables.values()]
        self._t = tf.Variable(0.0)
        self.lr, self.beta1, self.beta2, self.epsilon = lr, beta1, beta2, epsilon

    def __getitem__(self, name: str) -> Any:
        return self.variables[name]

    def apply(self, grads: list[Any]) -> None:
        """One Adam step (call inside a ``tf.function``; grads aligned with ``variables``)."""
        tf = tensorflow()
        self._t.assign_add(1.0)
        correction = tf.sqrt(1.0 - self.beta2 ** self._t) / (1.0 - self.beta1 ** self._t)
        for var, m, v, g in zip(self.variables.values(), self._m, self._v, grads):
            g = tf.zeros_like(var) if g is None else tf.convert_to_tensor(g)  # dense from slices
            m.assign(self.beta1 * m + (1.0 - self.beta1) * g)
            v.assign(self.beta2 * v + (1.0 - self.beta2) * g * g)
            var.assign_sub(self.lr * correction * m / (tf.sqrt(v) + self.epsilon))


def glorot(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """A Glorot-uniform weight matrix drawn from ``rng``."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out))
