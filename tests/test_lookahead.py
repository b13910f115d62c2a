"""No look-ahead, proven: what a learner can reach, and what it scores, before step c is the
same whether the log is cut at c or not."""
import hashlib

import numpy as np
import pytest

from livereplay.contract import Learner
from livereplay.learners.registry import BUILTIN, make_learner
from livereplay.engine import replay, sample_users
from livereplay.contract import Step

CUT = 1000  # windows of 600 steps, as long as the cross-process determinism test's
WINDOWS = {"starts": (400, CUT), "next": (400, CUT - 1)}


def reachable_arrays(root, seen=None):
    """Every numpy array reachable from ``root`` through attributes, containers and .base."""
    seen = set() if seen is None else seen
    if id(root) in seen or isinstance(root, (int, float, str, bytes, type(None), type)):
        return
    seen.add(id(root))
    if isinstance(root, np.ndarray):
        yield root
        if root.base is not None:
            yield from reachable_arrays(root.base, seen)
        return
    if isinstance(root, dict):
        children = list(root.values())
    elif isinstance(root, (list, tuple)):
        children = list(root)
    elif hasattr(root, "__dict__"):
        children = list(vars(root).values())
    else:
        return
    for child in children:
        yield from reachable_arrays(child, seen)


class Nosy(Learner):
    """Fingerprints everything reachable from each step it is shown, and every request."""

    def reset(self) -> None:
        self.fingerprints_ = []
        self.step_ = None

    def observe(self, step: Step) -> None:
        self.step_ = step
        digest = hashlib.sha256(str(step.t).encode())
        for array in reachable_arrays(step):
            digest.update(np.ascontiguousarray(array).tobytes())
        self.fingerprints_.append(digest.hexdigest())
        started, history_rows = step.started, step.history.rows()
        assert (started.start == step.t).all()
        assert history_rows[2].max(initial=0) <= step.t
        assert history_rows[3].max(initial=-1) <= step.t
        assert step.watching.user.max(initial=0) < step.n_users

    def score(self, users, candidates, t):
        self.fingerprints_.append(hashlib.sha256(users.tobytes() + candidates.tobytes()).hexdigest())
        return np.asarray(candidates, float)[None, :] % 7


def run(log, learner, protocol, availability):
    return replay(log, learner, protocol=protocol, availability=availability,
                  window=WINDOWS[protocol])


def cut_at(log, availability):
    """The log cut at CUT. With ``span`` it keeps the whole log's span index: a broadcast is
    on at t when other users' rows show it begun and going on, possibly through a row that
    starts after t (a gap between viewers), even after the cut. Those candidates are the
    platform's knowledge of what is live, by definition of ``span``; with the same
    candidates, nothing else the learner reaches or scores may depend on the future."""
    cut = log.cut(CUT)
    if availability == "span":
        cut.__dict__["spans"] = log.spans  # what Log.spans would build, from the whole log
    return cut


CASES = [("starts", "log"), ("starts", "others"), ("starts", "span"), ("next", "log"),
         ("next", "span")]


@pytest.mark.parametrize("protocol,availability", CASES)
def test_nosy_learner_sees_the_same_past_whether_the_future_exists_or_not(
        sample_log, protocol, availability):
    full, cut = Nosy(), Nosy()
    a = run(sample_log, full, protocol, availability)
    b = run(cut_at(sample_log, availability), cut, protocol, availability)
    assert len(full.fingerprints_) > 300
    assert full.fingerprints_ == cut.fingerprints_
    assert np.array_equal(a.ranks, b.ranks)


@pytest.mark.parametrize("name", sorted(BUILTIN))
@pytest.mark.parametrize("protocol,availability", CASES)
def test_every_builtin_learner_gives_identical_results_on_a_cut_log(
        sample_log, name, protocol, availability):
    a = run(sample_log, make_learner(name, seed=3), protocol, availability)
    b = run(cut_at(sample_log, availability), make_learner(name, seed=3), protocol, availability)
    assert a.n_events > 100
    assert np.array_equal(a.ranks, b.ranks) and np.array_equal(a.kind, b.kind)
    assert a.metrics() == b.metrics()


def test_a_cut_really_removes_the_future(sample_log):
    cut = sample_log.cut(CUT)
    assert cut.n_steps == CUT and cut.start.max() < CUT
    assert cut.n_rows < sample_log.n_rows and cut.n_users < sample_log.n_users
    np.testing.assert_array_equal(cut.user, sample_log.user[: cut.n_rows])


def test_history_reveals_stops_only_once_they_happen(sample_log):
    """A row going on at step t shows stop = -1 in the history, whatever its real stop."""
    class Recorder(Learner):
        def reset(self):
            self.snapshots_ = {}

        def observe(self, step):
            if step.t in (500, 501):
                self.snapshots_[step.t] = [a.copy() for a in step.history.rows()]

        def score(self, users, candidates, t):
            return np.zeros((1, len(candidates)))

    recorder = Recorder()
    replay(sample_log, recorder, window=(400, 502))
    _, _, start, stop = recorder.snapshots_[500]
    going_on = (sample_log.stop[: len(start)] > 500)
    assert going_on.any()
    assert (stop[going_on] == -1).all()
    np.testing.assert_array_equal(stop[~going_on], sample_log.stop[: len(start)][~going_on])


def test_the_users_sample_of_a_user_does_not_depend_on_later_users():
    np.testing.assert_array_equal(sample_users(5000, 0.3, seed=4)[:1200],
                                  sample_users(1200, 0.3, seed=4))
