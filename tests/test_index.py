"""The availability index, the pair table and the rank function against brute force."""
import dataclasses
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from livereplay.availability import LiveIndex, Spans
from livereplay.history import PairTable
from livereplay.metrics import summarise
from livereplay.ranking import rank_events
from tests.conftest import small_logs


@settings(max_examples=80, deadline=None)
@given(log=small_logs())
def test_availability_is_exactly_the_streamers_covering_each_step(log):
    index = log.live
    for t in range(log.n_steps):
        live = (log.start <= t) & (log.stop > t)
        expected = sorted(set(log.streamer[live].tolist()))
        assert index.at(t).tolist() == expected
        viewers = [len(set(log.user[live & (log.streamer == s)].tolist())) for s in expected]
        assert index.viewers_at(t).tolist() == viewers


def test_availability_of_the_real_sample(sample_log):
    sizes = sample_log.live.sizes()
    assert len(sizes) == sample_log.n_steps
    t = 5000
    live = (sample_log.start <= t) & (sample_log.stop > t)
    assert sizes[t] == len(set(sample_log.streamer[live].tolist()))


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)),
                                 max_size=25), min_size=1, max_size=30))
def test_pair_table_counts_like_a_dictionary(batches):
    table = PairTable()
    counts, last = Counter(), {}
    for step, batch in enumerate(batches):
        if batch:
            users, streamers = map(np.array, zip(*batch))
            table.add(users, streamers, step)
        for pair in batch:
            counts[pair] += 1
            last[pair] = step
    assert len(table) == len(counts)
    users = np.arange(31)
    owner, streamer, count, last_start = table.of_users(users)
    listed = {(int(users[o]), int(s)): (int(c), int(l))
              for o, s, c, l in zip(owner, streamer, count, last_start)}
    assert listed == {pair: (counts[pair], last[pair]) for pair in counts}
    probe_u, probe_s = np.array([0, 5, 30]), np.array([0, 7, 30])
    got_count, got_last = table.get(probe_u, probe_s)
    for u, s, c, l in zip(probe_u, probe_s, got_count, got_last):
        assert (c, l) == (counts[(u, s)], last.get((u, s), -1))


def test_pair_table_lists_a_block_of_users_from_large_runs_and_restricts_it_to_candidates():
    """Runs of over 65,536 pairs find their users' pairs through a per-user index: the same
    pairs as a dictionary, merged across runs, and only the candidates asked for."""
    rng = np.random.default_rng(0)
    table, counts, last = PairTable(), Counter(), {}
    for step in range(12):  # 12 steps of 30k rows: runs of several sizes, merged
        users, streamers = rng.integers(0, 3000, 30_000), rng.integers(0, 400, 30_000)
        table.add(users, streamers, step)
        for pair in zip(users.tolist(), streamers.tolist()):
            counts[pair] += 1
            last[pair] = step
    users = np.array([2999, 0, 1500, 3500, 7])  # unordered, one never seen
    candidates = np.sort(rng.choice(400, 50, replace=False))
    for streamers in (None, candidates):
        owner, streamer, count, last_start = table.of_users(users, streamers)
        listed = {(int(users[o]), int(s)): (int(c), int(l))
                  for o, s, c, l in zip(owner, streamer, count, last_start)}
        expected = {(u, s): (c, last[(u, s)]) for (u, s), c in counts.items()
                    if u in users and (streamers is None or s in streamers)}
        assert listed == expected and len(listed) == len(owner)
    assert max(len(run) for run in table._runs) > 65_536


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_rank_events_counts_other_candidates_scoring_at_least_the_best_target(data):
    n_candidates = data.draw(st.integers(1, 8))
    n_events = data.draw(st.integers(1, 5))
    shared = data.draw(st.booleans())
    values = st.integers(0, 4).map(float)  # few values: many ties
    scores = np.array(data.draw(st.lists(st.lists(values, min_size=n_candidates,
                                                  max_size=n_candidates),
                                         min_size=1 if shared else n_events,
                                         max_size=1 if shared else n_events)))
    targets = [set(data.draw(st.lists(st.integers(0, n_candidates - 1), max_size=3)))
               for _ in range(n_events)]
    excluded = [set(data.draw(st.lists(st.integers(0, n_candidates - 1), max_size=3))) - t
                for t in targets]
    pairs = lambda sets: (np.array([e for e, s in enumerate(sets) for _ in s], dtype=np.int64),
                          np.array([c for s in sets for c in sorted(s)], dtype=np.int64))
    ranks = rank_events(scores, np.arange(n_events), pairs(targets),
                        pairs([t | x for t, x in zip(targets, excluded)]))
    for e in range(n_events):
        row = scores[0 if shared else e]
        if not targets[e]:
            assert np.isinf(ranks[e])
            continue
        best = max(row[c] for c in targets[e])
        counted = set(range(n_candidates)) - targets[e] - excluded[e]
        assert ranks[e] == sum(row[c] >= best for c in counted)


def test_metrics_follow_their_definitions():
    ranks = np.array([0, 1, 4, 9, 10, np.inf])
    m = summarise(ranks)
    assert m["n"] == 6
    assert m["hr@1"] == 1 / 6 and m["hr@5"] == 3 / 6 and m["hr@10"] == 4 / 6
    assert np.isclose(m["ndcg@5"], (1 + 1 / np.log2(3) + 1 / np.log2(6)) / 6)
    assert np.isclose(m["mrr"], (1 + 1 / 2 + 1 / 5 + 1 / 10 + 1 / 11) / 6)


def same_index(a, b) -> None:
    for field in dataclasses.fields(a):
        np.testing.assert_array_equal(getattr(a, field.name), getattr(b, field.name))


@settings(max_examples=60, deadline=None)
@given(log=small_logs(), window=st.integers(1, 6), rows_at_once=st.integers(1, 8))
def test_indexes_built_piecewise_equal_the_whole_build(log, window, rows_at_once):
    """Windows of steps and chunks of rows (carried across boundaries) change nothing."""
    columns = dict(user=log.user, streamer=log.streamer, start=log.start, stop=log.stop)
    same_index(LiveIndex.build(**columns, window=window), LiveIndex.build(**columns,
                                                                                window=10**6))
    same_index(Spans.build(**columns, stream=log.stream, window=window,
                           rows_at_once=rows_at_once),
               Spans.build(**columns, stream=log.stream, window=10**6, rows_at_once=10**6))


def test_indexes_of_the_sample_built_piecewise_equal_the_whole_build(sample_log):
    columns = dict(user=sample_log.user, streamer=sample_log.streamer, start=sample_log.start,
                   stop=sample_log.stop)
    same_index(LiveIndex.build(**columns, window=7), sample_log.live)
    same_index(Spans.build(**columns, stream=sample_log.stream, window=7, rows_at_once=999),
               Spans.build(**columns, stream=sample_log.stream, window=10**6,
                           rows_at_once=10**6))
