"""The online factor model that every TensorFlow learner of the project shares.

In :class:`FactorLearner`, a user is encoded as a query vector (a subclass says how: a user
embedding, the previous streamer, a recurrent or attentive reading of its recent streamers)
and a candidate streamer as an embedding and a bias; the score is their dot product plus the
bias (plus, for some models, a term per (user, candidate) pair). Each session that starts is
a softmax over the streamers available at its step (all of them, or ``max_candidates`` of
them sampled, the target always kept), so gradients reach only the active users and the
available streamers. A step whose sessions start more distinct streamers than
``max_candidates`` (17k starts on 3.6k streamers a step in the full release) trains a
sampled softmax instead: each session's target against ``max_candidates`` available
streamers drawn uniformly for the step, so its cost stays sessions x ``max_candidates``.

Training is batched: the sessions of each revealed step are queued with everything the model
reads about them as it was at that step (the softmax block, the user's inputs, the pair
features), and once the queue holds ``batch_sessions`` sessions, or its oldest is
``batch_steps`` steps before the next step to score, one compiled TensorFlow call takes
``updates`` gradient steps on all of them; each session keeps the softmax over its own step's
block (a mask over the union of the blocks). The call receives the embedding rows the batch
touches (a :class:`TrainBatch`), differentiates the loss, applies Adagrad to those rows and
Adam to the dense weights in the graph, and returns the rows; its shapes are all ``None``
(it is traced once) and users x streamers is never formed. A large batch's call runs on a
thread of its own, overlapping with the replay's work on the next step, and the learner
waits for it before it reads its tables again (to score, or to take the next batch's rows):
results are those of a call made in line. Scoring a step is one compiled call for all its
users. A step is scored with what the batches trained before it taught, which never
includes it or a later step. On the embedded sample (about 8 session starts a step)
batching saves most of the calls that training at every step would make and, batches being
small, learns as well (see ``batch_sessions``); a 100k-user log (about 500 starts a step)
fills a batch at every step anyway.

Why a softmax over the available set: it is the conditional choice the ``starts`` protocol
asks about (which live streamer, given what is live). The seed's squared loss under an
availability mask (``loss="squared"``) is kept for comparison. The choice is made on the
leak-free candidates (``others``), where the softmax ranks better on the embedded sample's
validation days 20-31; under ``log``, whose candidate set leaks the target, the squared
loss ranks better, which says more about the leak than about the users.
"""
from __future__ import annotations

import abc
import functools
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from livereplay.arrays import distinct, positions
from livereplay.contract import Learner, Step

from .signals import sampled_block, softmax_block
from .tf_common import DenseAdam, EmbeddingTable, adagrad, compile_function, tensorflow

LOSSES = ("softmax", "squared")
# a batch this large (every step of a 100k-user log) trains on a thread of its own while the
# replay goes on; a smaller one (the embedded sample's, 16 sessions) trains in line, as handing
# it to the thread costs more than the overlap saves
BACKGROUND_SESSIONS = 128


def _trainer() -> ThreadPoolExecutor:
    """The thread that runs training calls while the replay goes on: one per process (a
    forked child gets its own), and a learner waits for its call before it reads its tables
    again, so calls stay one at a time and in order and results do not depend on timing."""
    return _trainer_of(os.getpid())


@functools.cache
def _trainer_of(process: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="livereplay-training")


@dataclass(frozen=True)
class Sessions:
    """The sessions that started at one step, queued for training with what the model read
    about them at that step: its softmax block, each target's column in it, the ids of each
    user-side input and the sparse pair inputs (rows: session, column, value); for a
    sampled softmax, the columns of the negatives the sessions share (else None: each
    session's softmax is the whole block)."""

    step: int
    candidates: np.ndarray
    target: np.ndarray
    ids: list[np.ndarray]
    pairs: np.ndarray | None
    negatives: np.ndarray | None = None


class TrainBatch(NamedTuple):
    """What a compiled training call takes (:meth:`FactorLearner._train_step`): arrays as
    :meth:`FactorLearner._train` builds it, tensors inside the call. Rows are local to the
    batch (among those it takes from each table), columns too (of the union of its blocks).

    rows         -- each table's rows taken (in the order of ``tables_``), with their Adagrad
                    accumulators as the last column
    candidates   -- the block's streamers, as rows among the items table's taken ones
    inputs       -- each user-side input's ids, as rows among its table's taken ones (-1:
                    padding)
    softmax      -- what each session's softmax runs over: a (steps, C) mask of each queued
                    step's block, or, sampled, the (K,) columns of the negatives it shares
    session_step -- each session's row of the mask
    target       -- each session's target column
    pairs        -- the pair inputs (rows: session, column, values) against the block
                    (sampled: against the negatives, column = which negative); None for a
                    model without a pair term
    target_pairs -- sampled, with a pair term: each session's pair inputs against its own
                    target; else None
    """

    rows: tuple[Any, ...]
    candidates: Any
    inputs: tuple[Any, ...]
    softmax: Any
    session_step: Any
    target: Any
    pairs: Any | None
    target_pairs: Any | None


class ScoreBatch(NamedTuple):
    """What a compiled scoring call takes (:meth:`FactorLearner._score_step`).

    rows      -- each user-side input's gathered rows (zero rows for padding)
    valid     -- each input's validity mask (0 for padding)
    streamers -- the candidates' rows with their biases as the last column
    pairs     -- the pair inputs; None for a model without a pair term
    """

    rows: tuple[Any, ...]
    valid: tuple[Any, ...]
    streamers: Any
    pairs: Any | None


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
        Gradient steps taken on each training batch (default 2; at this learning rate one
        step ranks worse on the embedded sample's validation days 20-31).
    batch_sessions
        Train once this many sessions are queued (default 16: about two steps of the
        embedded sample, one step of a 100k-user log; 1 trains at every step with sessions).
        On the embedded sample's validation days 20-31 (``starts``, ``next`` and the
        hold-out validation split), batches of 8 or 16 rank as well as training at every
        step; larger ones learn too late and rank worse, under ``next`` most, and the
        sequence models more than ``mf``.
    batch_steps
        ... or once the oldest queued session is this many steps before the next step to
        score (default 4), so that a quiet spell does not leave sessions unlearnt for long.
    max_candidates
        Streamers of the available set in one step's softmax; larger sets are sampled
        uniformly, the targets always kept (default 256). A step whose targets alone are
        more trains each session against its target and this many sampled streamers.
        The embedded sample never has more than 72 streamers live at once, so there the
        block is the whole available set; on a large simulated log (hundreds of streamers
        live and of targets a step), 256 costs much less than 512 and ranks about as well,
        while 128 starts to rank worse.
    loss
        ``"softmax"`` (cross-entropy over the candidates, default) or ``"squared"`` (the
        seed's squared error against 1 for the watched streamer and 0 for the other
        available ones).
    init_scale
        Standard deviation of the initial embedding rows (default 0.1).
    seed
        Seeds the initial rows (each from its id) and the sampling of candidates.
    """

    relative_cost = 10.0  # mf, fpmc: a compiled call or two a step

    def __init__(self, *, dim: int = 32, lr: float = 0.05, updates: int = 2,
                 batch_sessions: int = 16, batch_steps: int = 4, max_candidates: int = 256,
                 loss: str = "softmax", init_scale: float = 0.1, seed: int = 0) -> None:
        super().__init__(seed=seed)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if batch_sessions < 1 or batch_steps < 1:
            raise ValueError("batch_sessions and batch_steps must be at least 1")
        self.dim, self.lr, self.updates = dim, lr, updates
        self.batch_sessions, self.batch_steps = batch_sessions, batch_steps
        self.max_candidates, self.loss, self.init_scale = max_candidates, loss, init_scale

    # --- what a subclass defines ------------------------------------------------------------
    def _setup(self) -> None:
        """Create the user-side tables (in ``self.tables_``), dense weights and state."""

    @abc.abstractmethod
    def _input_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """(table name, shape of one user's ids) of each user-side input of :meth:`_inputs`."""

    @abc.abstractmethod
    def _inputs(self, users: np.ndarray) -> list[np.ndarray]:
        """The ids each user-side input gathers for ``users`` (-1 = padding), as of now."""

    @abc.abstractmethod
    def _query(self, rows: list[Any], valid: list[Any]) -> Any:
        """TensorFlow: the (B, dim) query vectors from the gathered rows of each input (zero
        rows for padding) and their validity masks."""

    def _pairs(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray | None:
        """Sparse pair inputs at step ``t``, (2 + values, nnz) int32: row in users, column in
        candidates and the model's values (such as buckets), for the pairs with a term of their
        own; or None if the model has no pair term."""
        return None

    def _pair_terms(self, query: Any, pairs: Any) -> tuple[Any, Any]:
        """TensorFlow: the pair term of the logits, as what every pair of a user gets, (B,),
        and what each listed pair gets on top of it, (nnz,)."""
        raise NotImplementedError

    def _remember(self, step: Step) -> None:
        """Update the model's view of the past after queueing the sessions of ``step``."""

    # --- the compiled functions -------------------------------------------------------------
    def reset(self) -> None:
        tensorflow()  # loaded and configured (threads, determinism) before any table
        self.rng_ = np.random.default_rng(self.seed)
        table = dict(scale=self.init_scale, seed=self.seed)
        self.tables_: dict[str, EmbeddingTable] = {
            "items": EmbeddingTable(self.dim, salt=0, **table),
            "bias": EmbeddingTable(1, scale=0.0, seed=self.seed, salt=1)}
        self.dense_: DenseAdam | None = None
        self._setup()
        self.queue_: list[Sessions] = []
        self.queued_ = 0
        self.training_: Future | None = None
        self._compile()

    def _compile(self) -> None:
        """Forget the compiled calls: each is traced when first asked for (:meth:`_function`)."""
        self.compiled_: dict[str, Any] = {}

    def _function(self, kind: str) -> Any:
        """The compiled ``"train"``, ``"sampled"`` (train a sampled softmax) or ``"score"``
        call, traced once, when first asked for (a replay of the embedded sample never
        samples, so it never traces that one)."""
        if kind not in self.compiled_:
            tf = tensorflow()
            shapes = self._input_shapes()
            pair_spec = tf.TensorSpec([None, None], tf.int32) if self._has_pairs() else None
            if kind == "score":
                step, signature = self._score_step, ScoreBatch(
                    rows=tuple(tf.TensorSpec([None, *shape, self.dim], tf.float32)
                               for _, shape in shapes),
                    valid=tuple(tf.TensorSpec([None, *shape], tf.float32) for _, shape in shapes),
                    streamers=tf.TensorSpec([None, self.dim + 1], tf.float32), pairs=pair_spec)
            else:
                sampled = kind == "sampled"
                step, signature = functools.partial(self._train_step, sampled), TrainBatch(
                    rows=tuple(tf.TensorSpec([None, table.dim + 1], tf.float32)
                               for table in self.tables_.values()),
                    candidates=tf.TensorSpec([None], tf.int32),
                    inputs=tuple(tf.TensorSpec([None, *shape], tf.int32) for _, shape in shapes),
                    softmax=(tf.TensorSpec([None], tf.int32) if sampled
                             else tf.TensorSpec([None, None], tf.float32)),
                    session_step=tf.TensorSpec([None], tf.int32),
                    target=tf.TensorSpec([None], tf.int32),
                    pairs=pair_spec, target_pairs=pair_spec if sampled else None)
            self.compiled_[kind] = compile_function(step, signature)
        return self.compiled_[kind]

    def __getstate__(self) -> dict[str, Any]:
        """For checkpoints: everything but the compiled calls, once the training call in
        flight is done (tables, weights and optimiser slots are arrays; see
        :class:`DenseAdam`)."""
        if getattr(self, "training_", None) is not None:
            self._settle()
        return {name: value for name, value in self.__dict__.items() if name != "compiled_"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "tables_" in state:  # reset() had run: the calls are compiled again when needed
            self._compile()

    def _has_pairs(self) -> bool:
        return type(self)._pairs is not FactorLearner._pairs

    def _logits(self, query: Any, streamers: Any, pairs: Any | None,
                paired: bool = False) -> Any:
        """TensorFlow: the (B, C) logits of queries against streamers (rows with their bias
        in the last column), the pair terms' common part as one more column of the product;
        if ``paired``, the (B,) logits of each query against its own row of ``streamers``
        (a pair's column is then ignored)."""
        tf = tensorflow()
        users = [query, tf.ones_like(query[:, :1])]
        if pairs is not None:
            common, extra = self._pair_terms(query, pairs)
            users.append(common[:, None])
            streamers = tf.concat([streamers, tf.ones_like(streamers[:, :1])], axis=1)
        if paired:
            logits = tf.reduce_sum(tf.concat(users, axis=1) * streamers, axis=1)
        else:
            logits = tf.matmul(tf.concat(users, axis=1), streamers, transpose_b=True)
        if pairs is not None:
            where = pairs[:1] if paired else pairs[:2]
            logits = tf.tensor_scatter_nd_add(logits, tf.transpose(where), extra)
        return logits

    def _score_step(self, batch: ScoreBatch) -> Any:
        """The compiled scoring call: the logits of the batch's users against its streamers."""
        return self._logits(self._query(list(batch.rows), list(batch.valid)), batch.streamers,
                            batch.pairs)

    def _train_step(self, sampled: bool, batch: TrainBatch) -> list[Any]:
        """The compiled training call: ``updates`` gradient steps on a batch; returns each
        table's rows taken, trained, with their Adagrad accumulators as the last column. If
        ``sampled``, one step's sessions each train their target against the shared
        negatives (own target masked)."""
        tf = tensorflow()
        names = list(self.tables_)
        rows, sq_grad = [r[:, :-1] for r in batch.rows], [r[:, -1] for r in batch.rows]
        table_of = [names.index(name) for name, _ in self._input_shapes()]
        items, bias = names.index("items"), names.index("bias")
        valid = [tf.cast(ids >= 0, tf.float32) for ids in batch.inputs]
        dense = list(self.dense_.variables.values()) if self.dense_ is not None else []
        for _ in range(self.updates):
            with tf.GradientTape() as tape:
                tape.watch(rows)
                gathered = [tf.gather(rows[table], tf.maximum(ids, 0)) * mask[..., None]
                            for table, ids, mask in zip(table_of, batch.inputs, valid)]
                streamers = tf.concat([tf.gather(rows[items], batch.candidates), rows[bias]],
                                      axis=1)
                query = self._query(gathered, valid)
                if sampled:
                    logits, keep = self._sampled_logits(query, streamers, batch)
                    loss = self._loss(logits, tf.zeros_like(batch.target), keep)
                else:
                    logits = self._logits(query, streamers, batch.pairs)
                    loss = self._loss(logits, batch.target, batch.softmax, batch.session_step)
            grads = tape.gradient(loss, [rows, dense])
            for i, grad in enumerate(grads[0]):
                rows[i], sq_grad[i] = adagrad(rows[i], sq_grad[i], grad, self.lr)
            if dense:
                self.dense_.apply(grads[1])
        return [tf.concat([r, a[:, None]], axis=1) for r, a in zip(rows, sq_grad)]

    def _sampled_logits(self, query: Any, streamers: Any, batch: TrainBatch) -> tuple[Any, Any]:
        """TensorFlow: a sampled softmax's (B, 1 + K) logits, each session's target in
        column 0 and the K negatives (``batch.softmax``) after it, and the mask of the
        columns that count (a session's own target among the negatives does not)."""
        tf = tensorflow()
        negatives, target = batch.softmax, batch.target
        logits = tf.concat(
            [self._logits(query, tf.gather(streamers, target), batch.target_pairs,
                          paired=True)[:, None],
             self._logits(query, tf.gather(streamers, negatives), batch.pairs)],
            axis=1)
        own = tf.cast(tf.equal(target[:, None], negatives[None, :]), tf.float32)
        return logits, tf.concat([tf.ones_like(own[:, :1]), 1.0 - own], axis=1)

    def _loss(self, logits: Any, target: Any, keep: Any, row_of: Any | None = None) -> Any:
        """TensorFlow: the mean loss of the sessions' logits over the columns ``keep`` allows
        (``keep`` has a row per session, or per step if ``row_of`` gives each session's)."""
        tf = tensorflow()
        kept = (lambda: keep) if row_of is None else (lambda: tf.gather(keep, row_of))
        if self.loss == "softmax":
            masked = lambda: logits + (kept() - 1.0) * 1e9  # noqa: E731
            logits = masked() if row_of is None else tf.cond(  # one step's block needs no mask
                tf.shape(keep)[0] > 1, masked, lambda: logits)
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(target, logits))
        wanted = tf.one_hot(target, tf.shape(logits)[1])
        return (tf.reduce_sum(kept() * tf.square(logits - wanted))
                / tf.cast(tf.shape(logits)[0], tf.float32))

    # --- batching ---------------------------------------------------------------------------
    def observe(self, step: Step) -> None:
        users, streamers, negatives = step.started.user, step.started.streamer, None
        if len(users):
            if len(distinct(streamers)) > self.max_candidates:  # a sampled step trains alone
                candidates, target, negatives = sampled_block(step.available, streamers,
                                                              self.max_candidates, self.rng_)
                if self.queue_:
                    self._train()
            else:
                candidates, target = softmax_block(step.available, streamers,
                                                   self.max_candidates, self.rng_)
            self.queue_.append(Sessions(step.t, candidates, target, self._inputs(users),
                                        self._pairs(users, candidates, step.t), negatives))
            self.queued_ += len(users)
        self._remember(step)
        self._train_if_due(step.t + 1, full=self.queued_ >= self.batch_sessions
                           or negatives is not None)

    def _train_if_due(self, t: int, full: bool = False) -> None:
        """Train on the queue if it is ``full`` or if its oldest session is ``batch_steps``
        steps before step ``t``, the next one scored: so a step is always scored with every
        session started ``batch_steps`` or more steps before it learnt (in the hold-out
        protocol too, whose targets lie after the last observed step)."""
        if self.queue_ and (full or t - self.queue_[0].step >= self.batch_steps):
            self._train()

    def _train(self) -> None:
        """One compiled call on every queued session, then an empty queue. Each session's
        softmax runs over the union of the queued blocks, masked to its own step's block,
        or (a queue of one sampled step) over its target and the step's negatives."""
        self._settle()
        queue, self.queue_, self.queued_ = self.queue_, [], 0
        candidates = distinct(np.concatenate([s.candidates for s in queue]))
        columns = [positions(candidates, s.candidates) for s in queue]
        sizes = [len(s.target) for s in queue]
        session_step = np.repeat(np.arange(len(queue)), sizes)
        target = np.concatenate([c[s.target] for s, c in zip(queue, columns)])
        inputs = [np.concatenate(ids) for ids in zip(*(s.ids for s in queue))]
        # the rows each table takes: the block's streamers (items, bias) and the inputs' ids
        # (a table no id of which is wanted takes row 0, which then gets no gradient)
        wanted = {name: [candidates] if name in ("items", "bias") else [] for name in self.tables_}
        for (name, _), ids in zip(self._input_shapes(), inputs):
            wanted[name].append(ids[ids >= 0])
        taken = {name: distinct(np.concatenate(ids)) if sum(map(len, ids)) else np.zeros(1, np.int64)
                 for name, ids in wanted.items()}
        local = [np.where(ids >= 0, positions(taken[name], ids), -1).astype(np.int32)
                 for (name, _), ids in zip(self._input_shapes(), inputs)]
        pairs = target_pairs = None
        if queue[0].pairs is not None:  # rows and columns moved to the batch's
            first = np.cumsum([0] + sizes[:-1])
            pairs = np.concatenate([np.stack([s.pairs[0] + offset, column[s.pairs[1]],
                                              *s.pairs[2:]])
                                    for s, column, offset in zip(queue, columns, first)],
                                   axis=1).astype(np.int32)
        negatives = queue[0].negatives
        if negatives is None:
            kind, softmax = "train", np.zeros((len(queue), len(candidates)), np.float32)
            for step, column in enumerate(columns):
                softmax[step, column] = 1.0
        else:
            kind, softmax = "sampled", negatives
            if pairs is not None:  # the negatives' (column: which negative), the targets'
                negative = np.full(len(candidates), -1)
                negative[negatives] = np.arange(len(negatives))
                row, col = pairs[:2]
                which = negative[col]
                pairs, target_pairs = (np.stack([row, which, *pairs[2:]])[:, which >= 0],
                                       pairs[:, col == target[row]])
        function, batch = self._function(kind), TrainBatch(
            rows=tuple(self.tables_[name].take(ids) for name, ids in taken.items()),
            candidates=positions(taken["items"], candidates).astype(np.int32),
            inputs=tuple(local), softmax=softmax, session_step=session_step.astype(np.int32),
            target=target.astype(np.int32), pairs=pairs, target_pairs=target_pairs)

        def train() -> None:
            for (name, ids), trained in zip(taken.items(), function(batch)):
                self.tables_[name].put(ids, trained.numpy())
        if len(target) >= BACKGROUND_SESSIONS:
            self.training_ = _trainer().submit(train)
        else:
            train()

    def _settle(self) -> None:
        """Wait for the training call in flight, if any: its rows are back in the tables."""
        if self.training_ is not None:
            training, self.training_ = self.training_, None
            training.result()

    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray:
        self._train_if_due(t)
        self._settle()
        ids = self._inputs(users)
        batch = ScoreBatch(
            rows=tuple(self.tables_[name].gather(i)
                       for (name, _), i in zip(self._input_shapes(), ids)),
            valid=tuple((i >= 0).astype(np.float32) for i in ids),
            streamers=np.hstack([self.tables_["items"].gather(candidates),
                                 self.tables_["bias"].gather(candidates)]),
            pairs=self._pairs(users, candidates, t))
        return self._function("score")(batch).numpy()
