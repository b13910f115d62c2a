"""What the TensorFlow learners share: a quiet, deterministic TensorFlow import, id-seeded
growable embedding tables, and the optimisers applied inside compiled training steps.

TensorFlow is imported by :func:`tensorflow` only, so naming a baseline never loads it. Its
start-up logging is silenced and its kernels are made deterministic. Every kernel runs on
one thread: a kernel given several threads may split its sums into parts by their number, so
its results, and every rank after them, would depend on how many threads the process got (a
run with 4 gives other ranks than a run with 2), which is not part of the seed. Operations
also run one at a time by default: ``LIVEREPLAY_TF_THREADS`` (default 1) lets independent
operations run side by side, which is meant to give the same results but, on a loaded
machine, can change the last digits of a run. (A batch's query is computed whole: computed
in halves on two threads, it gains only where several inter-op threads are given, and costs
time with one, the default.)

Embedding tables live in NumPy, where they can grow as ids are learnt of. A training batch
takes the rows (and Adagrad accumulators) of the ids it touches, one compiled TensorFlow call
takes its gradient steps on those rows (:func:`adagrad`) and on the dense weights
(:class:`DenseAdam`), and the batch puts the rows back: users x streamers is never formed.
A row is initialised from its id and the seed alone, so nothing depends on how many ids exist
later.
"""
from __future__ import annotations

import os
import sys
import warnings
from types import ModuleType
from typing import Any, Callable

import numpy as np

_TF: ModuleType | None = None


def tensorflow() -> ModuleType:
    """TensorFlow, imported once with its logging silenced, one thread per kernel and
    deterministic ops."""
    global _TF
    if _TF is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # also silences its start-up notice
        # TensorFlow's matrix products go through oneDNN, which picks its kernels from the
        # CPU's instruction set (AVX-512 kernels round differently): capped at AVX, which every
        # CPU running TensorFlow's x86-64 wheel has, the same seed gives the same bytes on each
        os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX")
        # TensorFlow's import loads Keras's optimizers when Keras is installed (for its
        # SavedModel registry, which livereplay never uses): much of its time. Marked
        # missing for the import only, so that Keras still imports whole when asked for.
        skipped = "keras.src.optimizers" not in sys.modules
        if skipped:
            sys.modules["keras.src.optimizers"] = None  # type: ignore[assignment]
        try:
            import tensorflow as tf
        finally:
            if skipped:
                del sys.modules["keras.src.optimizers"]

        tf.get_logger().setLevel("ERROR")
        # one thread per kernel and one op at a time: results that do not depend on timing
        # (more inter-op threads are faster but can change the last digits under load)
        threads = int(os.environ.get("LIVEREPLAY_TF_THREADS", "1"))
        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # the runtime was already started by the caller: keep its settings
            if tf.config.threading.get_intra_op_parallelism_threads() != 1:
                warnings.warn("TensorFlow was started before livereplay could give each "
                              "kernel one thread: results may depend on the number of "
                              "threads", stacklevel=2)
        tf.config.experimental.enable_op_determinism()
        _TF = tf
    return _TF


def compile_function(function: Callable[[Any], Any], signature: Any) -> Callable[[Any], Any]:
    """``function``, which takes one structure of tensors (a NamedTuple whose fields are
    tensors, tuples of them, or None), traced once as a TensorFlow graph for ``signature``,
    that structure of ``TensorSpec`` s (``None`` dimensions, so no shape retraces it);
    returned as a callable taking that structure of arrays.

    The graph's inputs are the structure's tensors in order (a None field is none), and the
    callable enters it through the concrete function's flat entry point, each array
    converted to its spec's dtype: TensorFlow's public call first binds and checks the
    arguments in Python, which costs more than running the graph itself for the small calls
    a replay makes (thousands of them, each graph a fraction of a millisecond). Where a
    TensorFlow release lacks that entry point, the public call is used."""
    tf = tensorflow()
    leaves = tf.nest.flatten(signature)
    present = [i for i, spec in enumerate(leaves) if spec is not None]
    specs = [leaves[i] for i in present]

    def flat(*tensors: Any) -> Any:
        filled: list[Any] = [None] * len(leaves)
        for i, tensor in zip(present, tensors):
            filled[i] = tensor
        return function(tf.nest.pack_sequence_as(signature, filled))

    def arrays(structure: Any) -> list[Any]:
        given = tf.nest.flatten(structure)
        return [given[i] for i in present]

    concrete = tf.function(flat, input_signature=specs, autograph=False).get_concrete_function()
    if not hasattr(concrete, "_call_flat"):
        return lambda structure: concrete(*arrays(structure))
    dtypes = [spec.dtype for spec in specs]

    def call(structure: Any) -> Any:
        return concrete._call_flat([tf.constant(array, dtype) for array, dtype
                                    in zip(arrays(structure), dtypes)], concrete.captured_inputs)
    return call


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
    """A growable table of rows, each initialised from its id, with one Adagrad accumulator
    per row (the update itself runs in the compiled training step, :func:`adagrad`).

    Parameters
    ----------
    dim
        Width of a row.
    scale
        Standard deviation of the initial rows (0 gives zero rows, e.g. for biases).
    seed, salt
        The initial row of id i is ``scale * hashed_normal(seed, salt, [i], dim)``; the salt
        tells the tables of one learner apart.
    """

    def __init__(self, dim: int, *, scale: float, seed: int, salt: int) -> None:
        self.dim, self.scale, self.seed, self.salt = dim, scale, seed, salt
        self.rows = np.zeros((0, dim), np.float32)
        self.sq_grad = np.zeros(0, np.float32)
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
        if ids.size and ids.min() >= 0:
            return self.rows[ids]
        out = np.zeros(ids.shape + (self.dim,), np.float32)
        valid = ids >= 0
        out[valid] = self.rows[ids[valid]]
        return out

    def take(self, ids: np.ndarray) -> np.ndarray:
        """Rows of distinct non-negative ``ids``, each with its accumulator as a last column,
        to train on."""
        if len(ids):
            self.ensure(int(ids.max()) + 1)
        return np.hstack([self.rows[ids], self.sq_grad[ids, None]])

    def put(self, ids: np.ndarray, trained: np.ndarray) -> None:
        """Store the trained rows and accumulators of the ``ids`` given to :meth:`take`."""
        self.rows[ids] = trained[:, :-1]
        self.sq_grad[ids] = trained[:, -1]


def adagrad(rows: Any, sq_grad: Any, grad: Any, lr: float) -> tuple[Any, Any]:
    """One Adagrad step on gathered rows (TensorFlow): the accumulator of a row grows by the
    mean square of its gradient (gradients of repeated ids already summed)."""
    tf = tensorflow()
    grad = tf.convert_to_tensor(grad)  # dense from slices
    sq_grad = sq_grad + tf.reduce_mean(grad * grad, axis=1)
    return rows - lr * grad / (tf.sqrt(sq_grad)[:, None] + 1e-6), sq_grad


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

    def __getstate__(self) -> dict[str, Any]:
        """For checkpoints: the weights, both moments and the step count as arrays."""
        return {"values": {name: v.numpy() for name, v in self.variables.items()},
                "m": [m.numpy() for m in self._m], "v": [v.numpy() for v in self._v],
                "t": float(self._t.numpy()),
                "hyper": (self.lr, self.beta1, self.beta2, self.epsilon)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        tf = tensorflow()
        self.variables = {name: tf.Variable(value, name=name)
                          for name, value in state["values"].items()}
        self._m = [tf.Variable(m) for m in state["m"]]
        self._v = [tf.Variable(v) for v in state["v"]]
        self._t = tf.Variable(state["t"])
        self.lr, self.beta1, self.beta2, self.epsilon = state["hyper"]

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
