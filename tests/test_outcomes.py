"""A replay's outcomes past memory: spilled to temporary files and read back memory-mapped,
summarised a part at a time, with the same arrays, metrics and objective as when held."""
import mmap

import numpy as np
import pytest

import livereplay.metrics as metrics
import livereplay.outcomes as outcomes_module
from livereplay.checkpoint import Checkpointer
from livereplay.engine import replay
from livereplay.learners.registry import make_learner
from livereplay.metrics import EVENT_METRICS, event_value_rows, summarise
from livereplay.outcomes import Outcomes
from livereplay.protocols import Outcome

WINDOW = (900, 1200)


def random_outcome(rng, n, t):
    ranks = rng.integers(0, 40, n).astype(np.float64)
    ranks[rng.random(n) < 0.1] = np.inf
    return Outcome(ranks, rng.integers(0, 500, n).astype(np.int32),
                   np.full(n, t, np.int32), rng.random(n) < 0.4)


def reference_summary(ranks):
    """The summary as whole-array numpy means (what the part-wise sums must equal)."""
    if len(ranks) == 0:
        return {"n": 0} | {name: float("nan") for name in EVENT_METRICS}
    return {"n": len(ranks)} | {name: float(np.mean(values))
                                for name, values in event_value_rows(ranks)}


@pytest.mark.parametrize("part", [128, 1000, 4096])
@pytest.mark.parametrize("n", [0, 1, 129, 5000, 70001])
def test_the_partwise_summary_is_the_same_float_as_numpys_mean(monkeypatch, part, n):
    monkeypatch.setattr(metrics, "PART", part)
    rng = np.random.default_rng(n + part)
    ranks = random_outcome(rng, n, 0).ranks
    mask = rng.random(n) < 0.3
    assert summarise(ranks) == pytest.approx(reference_summary(ranks), nan_ok=True, rel=0)
    for where in (mask, ~mask, slice(None), slice(n // 3, n)):
        got, expected = summarise(ranks, where), reference_summary(ranks[where])
        assert list(got) == list(expected)
        for name in expected:  # the same float, not a close one
            assert got[name] == expected[name] or (np.isnan(got[name]) and np.isnan(expected[name]))


def test_spilled_outcomes_join_to_the_held_ones_and_checkpoint_whole(tmp_path):
    rng = np.random.default_rng(0)
    steps = [random_outcome(rng, int(rng.integers(0, 60)), t) for t in range(40)]
    held, spilled = Outcomes(spill_events=10**9), Outcomes(spill_events=100)
    for i, outcome in enumerate(steps):
        held.append(outcome)
        spilled.append(None if i % 7 == 0 else outcome)
        if i % 7 == 0:
            spilled.append(outcome)
        if i == 25:  # a checkpoint mid-way holds what was spilled and what is held
            assert spilled.spilled and spilled.held
            saver = Checkpointer(tmp_path, identity="x", every_steps=1, every_minutes=None)
            saver.save(i, {"outcomes": spilled})
            assert sorted(p.name for p in tmp_path.iterdir()) == ["step-25.ckpt"] + [
                f"step-25.ckpt-{k}" for k in range(4)]  # a copy of each field's spill file
            copy = Checkpointer(tmp_path, identity="x", resume=True).load()["outcomes"]
            assert copy.n_events == spilled.n_events
    for outcome in steps[26:]:
        copy.append(outcome)
    expected = held.joined()
    for joined in (spilled.joined(), copy.joined()):
        for got, want in zip(joined, expected):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
    assert isinstance(joined.ranks.base.obj, mmap.mmap)  # read back from the file, mapped
    assert Outcomes().joined() is None


def test_a_replay_whose_outcomes_spill_gives_the_same_result(sample_log, monkeypatch):
    held = replay(sample_log, make_learner("repeat"), protocol="next", window=WINDOW)
    monkeypatch.setattr(outcomes_module, "SPILL_EVENTS", 1000)
    monkeypatch.setattr(metrics, "PART", 512)
    spilled = replay(sample_log, make_learner("repeat"), protocol="next", window=WINDOW)
    assert isinstance(spilled.ranks.base.obj, mmap.mmap)
    assert held.n_events > 5 * 1000
    for field in ("ranks", "users", "steps", "kind"):
        np.testing.assert_array_equal(getattr(spilled, field), getattr(held, field))
    assert spilled.objective == held.objective
    held.bootstrap = spilled.bootstrap = 50
    assert {**spilled.to_dict(), "seconds": 0, "peak_rss_mb": 0, "events_per_second": 0} \
        == {**held.to_dict(), "seconds": 0, "peak_rss_mb": 0, "events_per_second": 0}


def test_a_spilling_replay_resumes_from_its_checkpoint_to_the_same_ranks(
        sample_log, monkeypatch, tmp_path):
    monkeypatch.setattr(outcomes_module, "SPILL_EVENTS", 1000)
    saver = Checkpointer(tmp_path, identity="repeat", every_steps=100, every_minutes=None,
                         keep=1000)
    full = replay(sample_log, make_learner("repeat"), protocol="next", window=WINDOW,
                  checkpoint=saver)
    steps = sorted(int(p.stem.split("-")[1]) for p in saver.folder.glob("step-*.ckpt"))
    for later in steps[2:]:
        (saver.folder / f"step-{later}.ckpt").unlink()
    resumer = Checkpointer(tmp_path, identity="repeat", every_steps=100, every_minutes=None,
                           keep=1000, resume=True)
    resumed = replay(sample_log, make_learner("repeat"), protocol="next", window=WINDOW,
                     checkpoint=resumer)
    np.testing.assert_array_equal(resumed.ranks, full.ranks)
    np.testing.assert_array_equal(resumed.users, full.users)
    assert resumed.metrics() == full.metrics()
