"""The TensorFlow learners and the blends: they learn planted structure, a seed fixes their
results (in every process, whatever the hash seed), they learn of ids that appear late, and
they cannot look ahead."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from livereplay.arrays import positions
from livereplay.learners import factor
from livereplay.learners.registry import BUILTIN, available_learners, make_learner
from livereplay.data import Log
from livereplay.engine import replay
from livereplay.reveal import Revealer

SMALL = {
    "mf": dict(dim=8),
    "fpmc": dict(dim=8),
    "lstm": dict(dim=8, length=4, layers=1, dense_lr=0.01),
    "liverec": dict(dim=8, length=4, dense_lr=0.01),
    "blend": dict(model_params=dict(dim=8, length=4, dense_lr=0.01)),
}


def planted_log(seed: int = 0, n_users: int = 60, n_streamers: int = 40, steps: int = 400,
                late: bool = False) -> Log:
    """Users with two favourite streamers each (chosen 85% of the time), sessions of 1-3
    steps, streamers live only while watched. With ``late``, a third of the users and
    streamers first appear in the second half."""
    rng = np.random.default_rng(seed)
    favourites = rng.integers(0, n_streamers, (n_users, 2))
    rows = []
    for t in range(steps):
        users = np.flatnonzero(rng.random(n_users) < 0.08)
        for u in users:
            s = favourites[u, rng.integers(2)] if rng.random() < 0.85 else rng.integers(n_streamers)
            if late and t < steps // 2 and (u >= 2 * n_users // 3 or s >= 2 * n_streamers // 3):
                continue
            rows.append((f"u{u}", 0, f"s{s}", t, t + int(rng.integers(1, 4))))
    return Log.from_columns(*(list(c) for c in zip(*rows)))


@pytest.fixture(scope="module")
def log() -> Log:
    return planted_log()


def run(name: str, log: Log, seed: int = 0, max_candidates: int | None = None, **kw):
    """A replay among the live streamers (A_t), which the planted logs' figures are about."""
    params = {**SMALL.get(name, {}), **({} if max_candidates is None else
                                        dict(max_candidates=max_candidates))}
    return replay(log, make_learner(name, seed=seed, **params), **{"availability": "log", **kw})


@pytest.mark.parametrize("name", list(SMALL))
def test_learns_planted_favourites(name: str, log: Log) -> None:
    window = (200, log.n_steps)
    learnt = run(name, log, window=window).metrics()["all"]["mrr"]
    chance = run("random", log, window=window).metrics()["all"]["mrr"]
    assert learnt > chance + 0.15, (learnt, chance)


def test_mf_learns_co_watching() -> None:
    """Two groups of users, each watching its own 8 streamers; half of the users join late.
    On their first sessions of a streamer (``new`` events), mf ranks their group's streamers
    above the other group's: better than popularity, which cannot tell the groups apart."""
    rng = np.random.default_rng(1)
    rows = []
    for t in range(600):
        for u in np.flatnonzero(rng.random(80) < 0.06):
            if u < 40 or t >= 300:
                rows.append((u, 0, (u % 2) * 8 + rng.integers(8), t, t + 1))
    log = Log.from_columns(*(list(c) for c in zip(*rows)))
    learnt = run("mf", log, window=(300, 600)).metrics()["new"]
    popular = run("pop", log, window=(300, 600)).metrics()["new"]
    assert learnt["n"] > 100 and learnt["mrr"] > popular["mrr"] + 0.1, (learnt, popular)


@pytest.mark.parametrize("name", ["mf", "liverec"])
def test_sampled_softmax_over_every_channel_is_the_softmax(name: str, monkeypatch) -> None:
    """A step trained as a sampled softmax whose negatives are every available channel (own
    target masked) teaches exactly what the softmax over the whole block teaches."""
    rng = np.random.default_rng(0)
    revealer = Revealer()
    full, sampled = (make_learner(name, seed=0, batch_sessions=1, **SMALL[name])
                     for _ in range(2))
    full.reset(), sampled.reset()
    users, streamers = np.arange(50), np.arange(20)

    def scores(learner) -> np.ndarray:
        return learner.score(users, streamers, 31)

    for t in range(31):
        step = revealer.reveal(t, rng.choice(50, 12, replace=False), rng.integers(0, 20, 12),
                               t + rng.integers(1, 4, 12))
        if t == 30:  # the sampled one samples this step, its negatives: all available
            before = scores(full)
            sampled.max_candidates = 0
            monkeypatch.setattr(factor, "sampled_block", lambda available, targets, size, rng: (
                available, positions(available, targets), np.arange(len(available))))
        full.observe(step), sampled.observe(step)
    assert "sampled" in sampled.compiled_ and "sampled" not in full.compiled_
    assert np.abs(scores(full) - before).max() > 1e-3
    np.testing.assert_allclose(scores(sampled), scores(full), atol=1e-5)


@pytest.mark.parametrize("name", ["mf", "liverec"])
def test_steps_with_more_targets_than_candidates_learn(name: str, log: Log) -> None:
    """With a softmax block of 2 channels, every step with more distinct targets trains a
    sampled softmax: the learner still learns the planted favourites, seed for seed."""
    window = (200, log.n_steps)
    learnt = run(name, log, window=window, max_candidates=2)
    again = run(name, log, window=window, max_candidates=2)
    chance = run("random", log, window=window).metrics()["all"]["mrr"]
    assert learnt.metrics()["all"]["mrr"] > chance + 0.15, (learnt.metrics(), chance)
    np.testing.assert_array_equal(learnt.ranks, again.ranks)


def test_liverec_count_buckets_learn_through_both_softmaxes(log: Log) -> None:
    """liverec with an embedding of how often the user watched each candidate: a fourth row
    of pair inputs, carried through batching and the sampled softmax; it learns, seed for
    seed, and ranks otherwise than without it."""
    window = (200, log.n_steps)
    for max_candidates in (None, 2):  # 2: every step with more targets trains sampled
        learnt, again, without = (replay(log, make_learner(
            "liverec", **SMALL["liverec"], count_buckets=buckets,
            **({} if max_candidates is None else dict(max_candidates=max_candidates))),
            window=window, availability="log") for buckets in (4, 4, 0))
        chance = run("random", log, window=window).metrics()["all"]["mrr"]
        assert learnt.metrics()["all"]["mrr"] > chance + 0.15
        np.testing.assert_array_equal(learnt.ranks, again.ranks)
        assert not np.array_equal(learnt.ranks, without.ranks)


@pytest.mark.parametrize("name", ["mf", "liverec", "blend"])
def test_same_seed_same_ranks(name: str, log: Log) -> None:
    first = run(name, log, seed=3, window=(300, 400))
    second = run(name, log, seed=3, window=(300, 400))
    np.testing.assert_array_equal(first.ranks, second.ranks)


def test_large_batches_train_in_the_background_with_the_results_of_training_in_line(
        log: Log, monkeypatch) -> None:
    """A batch of at least ``BACKGROUND_SESSIONS`` sessions trains on a thread of its own; the
    learner waits for it before it reads its tables, so the ranks, and a checkpoint taken
    while a call is in flight, are those of training in line."""
    large = dict(batch_sessions=factor.BACKGROUND_SESSIONS, batch_steps=100)
    submitted = []
    trainer = factor._trainer()
    monkeypatch.setattr(factor, "_trainer", lambda: submitted.append(1) or trainer)
    background = replay(log, make_learner("liverec", **SMALL["liverec"], **large),
                        window=(300, 400))
    assert len(submitted) >= 2
    monkeypatch.setattr(factor, "BACKGROUND_SESSIONS", 10**9)
    in_line = replay(log, make_learner("liverec", **SMALL["liverec"], **large),
                     window=(300, 400))
    np.testing.assert_array_equal(background.ranks, in_line.ranks)

    monkeypatch.undo()
    learner, revealer, rng = make_learner("liverec", **SMALL["liverec"], **large), Revealer(), \
        np.random.default_rng(0)
    learner.reset()
    for t in range(8):  # 8 x 40 sessions: the last step sends a batch to the thread
        learner.observe(revealer.reveal(t, rng.choice(60, 40, replace=False),
                                        rng.integers(0, 20, 40), np.full(40, t + 1)))
    assert learner.training_ is not None
    restored = pickle.loads(pickle.dumps(learner))
    assert learner.training_ is None and restored.training_ is None
    users, streamers = np.arange(60), np.arange(20)
    np.testing.assert_array_equal(restored.score(users, streamers, 8),
                                  learner.score(users, streamers, 8))


@pytest.mark.parametrize("name", list(SMALL))
def test_late_ids_and_no_look_ahead(name: str) -> None:
    """Ids first seen late are learnt of; cutting the log at step c changes nothing before c."""
    log = planted_log(seed=2, late=True, steps=300)
    cut = 240
    whole = run(name, log, window=(150, cut))
    clipped = run(name, log.cut(cut), window=(150, cut))
    np.testing.assert_array_equal(whole.ranks, clipped.ranks)
    assert np.isfinite(whole.ranks).mean() > 0.9


# Runs each learner on a window of the embedded sample long enough for float drift to show
# (several hundred steps, thousands of training sessions) and prints a digest of its ranks.
DIGESTS = """
import hashlib, json, sys
from livereplay.data import default_data_path, read_csv
from livereplay.engine import replay
from livereplay.reveal import Revealer
from livereplay.learners.registry import make_learner
log = read_csv(default_data_path())
digests = {}
for name in sys.argv[1:]:
    result = replay(log, make_learner(name, seed=5), window=(2000, 2600), availability="log")
    digests[name] = [result.n_events, hashlib.sha256(result.ranks.tobytes()).hexdigest(),
                     result.metrics()]
print(json.dumps(digests))
"""


def older_cpu() -> dict[str, str]:
    """Environment that makes this machine look like an x86-64-v2 CPU to NumPy and OpenBLAS
    (no AVX kernels); TensorFlow's oneDNN is capped by livereplay itself."""
    from numpy._core._multiarray_umath import __cpu_features__ as features
    newer = [name for name, on in features.items()
             if on and name.startswith(("AVX", "X86_V3", "X86_V4", "FMA"))]
    return {"NPY_DISABLE_CPU_FEATURES": " ".join(newer), "OPENBLAS_CORETYPE": "Nehalem"}


def test_same_seed_same_ranks_in_every_process() -> None:
    """Two processes with different hash seeds, numbers of TensorFlow threads and SIMD
    kernels (the second as on an older CPU) give byte-identical ranks for every built-in
    learner (default hyper-parameters)."""
    runs = [subprocess.Popen([sys.executable, "-c", DIGESTS, *BUILTIN], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONHASHSEED": str(hash_seed),
                                  "LIVEREPLAY_TF_THREADS": str(threads), **cpu})
            for hash_seed, threads, cpu in ((1, 1, {}), (2, 3, older_cpu()))]
    outputs = []
    for run_ in runs:
        out, err = run_.communicate(timeout=600)
        assert run_.returncode == 0, err
        outputs.append(json.loads(out))
    assert outputs[0] == outputs[1]
    assert all(n > 3000 for n, _, _ in outputs[0].values())


def test_blend_scores_its_training_rows_ahead_with_the_same_ranks(log: Log, monkeypatch) -> None:
    """Scoring, the blend's model also scores the users watching at the last step, whose
    training rows it then takes from that call: fewer model calls, the same ranks as
    scoring them when the step is revealed."""
    from livereplay.learners.blend import RepeatBlend

    def counted(ahead: bool) -> tuple[np.ndarray, int]:
        calls = []
        learner = make_learner("blend", **SMALL["blend"])
        learner.reset()
        score = learner.model_.score
        learner.model_.score = lambda *args: calls.append(1) or score(*args)
        if not ahead:
            monkeypatch.setattr(RepeatBlend, "score", lambda self, users, candidates, t:
                                self._logits(*self._inputs(users, candidates, t)))
        monkeypatch.setattr(learner, "reset", lambda: None)
        return replay(log, learner, window=(300, 400), availability="log").ranks, len(calls)

    ahead, ahead_calls = counted(True)
    in_step, in_step_calls = counted(False)
    np.testing.assert_array_equal(ahead, in_step)
    # steps before the window are only observed; in it, the training rows of the (about 100)
    # scored steps came from their scoring call
    assert in_step_calls - ahead_calls >= 90


def test_next_protocol_runs(log: Log) -> None:
    result = run("blend", log, protocol="next", window=(300, 399))
    assert result.metrics()["continuing"]["hr@1"] > 0.9


def test_registry_lists_them() -> None:
    assert set(SMALL) <= set(available_learners())


def test_tensorflow_only_when_needed() -> None:
    code = ("import sys; from livereplay.learners.registry import make_learner; make_learner('repeat');"
            "assert 'tensorflow' not in sys.modules; make_learner('mf').reset();"
            "assert 'tensorflow' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # start-up logging silenced


def test_liverec_normalises_with_exactly_rounded_square_roots_and_divisions() -> None:
    """liverec's layer norm and attention softmax, compiled as its training graph is, use
    no approximate reciprocal (rsqrt, reciprocal, softmax kernels), whose last bits differ
    between CPU makers: each equals its formula with IEEE square root and division."""
    from livereplay.learners.sequence import _layer_norm, _softmax
    from livereplay.learners.tf_common import tensorflow

    tf = tensorflow()
    x = np.random.default_rng(0).standard_normal((4000, 24, 32)).astype(np.float32)
    mean, variance = (m.numpy() for m in tf.nn.moments(tf.constant(x), axes=[-1], keepdims=True))
    expected = (x - mean) / np.sqrt(variance + np.float32(1e-6))
    np.testing.assert_array_equal(tf.function(_layer_norm)(x).numpy(), expected)
    logits = x[:, 0, :24]
    e = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))
    np.testing.assert_array_equal(tf.function(_softmax)(logits).numpy(),
                                  e.numpy() / tf.reduce_sum(e, axis=-1, keepdims=True).numpy())
