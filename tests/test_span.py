"""Availability ``span`` (broadcast spans): the index against its definition, and its
properties: leak-free by construction, a superset of ``others``, independent of who else is
asked and of row order."""
import re
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livereplay.availability import Spans
from livereplay.data import Log
from livereplay.engine import make_protocol, replay
from livereplay.errors import ReplayError
from livereplay.learners.registry import make_learner
from tests import reference
from tests.conftest import small_logs


def candidates_of(spans: Spans, t: int, users) -> dict[int, set]:
    """Each user's span candidates at t, from the index's union and per-user exclusions."""
    users = np.asarray(sorted(users), np.int32)
    if t >= spans.n_steps:
        return {int(u): set() for u in users}
    streamers, excluded_user, excluded_column = spans.candidates(t, users)
    out = {int(u): set(streamers.tolist()) for u in users}
    for u, column in zip(excluded_user.tolist(), excluded_column.tolist()):
        out[u].discard(int(streamers[column]))
    return out


def others(log: Log, user: int, t: int) -> set:
    """Availability ``others``: A_t without the streamers whose only viewer at t is the user."""
    live = (log.start <= t) & (log.stop > t)
    return {s for s in set(log.streamer[live].tolist())
            if set(log.user[live & (log.streamer == s)].tolist()) != {user}}


@settings(max_examples=40, deadline=None)
@given(log=small_logs())
def test_span_index_is_its_definition_for_every_user_at_every_step(log):
    rows, spans, users = log.frame(), log.spans, range(log.n_users)
    broadcast = rows.groupby(["streamer", "stream"])
    for t in range(log.n_steps):
        expected = {u: reference.span(rows, u, t) for u in users}
        together = candidates_of(spans, t, users)
        assert together == expected
        assert set(spans.candidates(t, np.arange(log.n_users))[0].tolist()) \
            == set().union(*expected.values())  # the union, nothing excluded for everyone
        assert all(candidates_of(spans, t, [u]) == {u: expected[u]} for u in users)
        on = broadcast.start.min().le(t) & broadcast.stop.max().gt(t)
        assert spans.at(t).tolist() == sorted(set(on[on].index.get_level_values("streamer")))


@settings(max_examples=80, deadline=None)
@given(log=small_logs())
def test_span_contains_others_for_every_user_at_every_step(log):
    spans = log.spans
    for t in range(log.n_steps):
        found = candidates_of(spans, t, range(log.n_users))
        assert all(others(log, u, t) <= found[u] for u in range(log.n_users))


@settings(max_examples=80, deadline=None)
@given(log=small_logs(), data=st.data())
def test_a_users_own_rows_never_change_its_candidates(log, data):
    user = data.draw(st.integers(0, log.n_users - 1))
    own = np.flatnonzero(log.user == user)
    shift = lambda low, high: np.array(data.draw(st.lists(st.integers(low, high),
                                                          min_size=len(own), max_size=len(own))))
    start, stop = log.start.copy(), log.stop.copy()
    start[own] = np.maximum(0, start[own] - shift(0, 3))
    stop[own] += shift(0, 6)
    stream, streamer = log.stream.copy(), log.streamer.copy()
    stream[own], streamer[own] = shift(0, 3), shift(0, log.n_streamers - 1)
    altered = replace(log, start=start, stop=stop, stream=stream, streamer=streamer)
    deleted = log.subset(log.user != user)
    steps = range(max(log.n_steps, altered.n_steps))
    for variant in (altered, deleted):
        assert [candidates_of(variant.spans, t, [user]) for t in steps] \
            == [candidates_of(log.spans, t, [user]) for t in steps]


@settings(max_examples=60, deadline=None)
@given(log=small_logs(), data=st.data())
def test_the_index_depends_neither_on_row_order_nor_on_who_else_is_asked(log, data):
    order = np.array(data.draw(st.permutations(range(log.n_rows))))
    shuffled = Spans.build(user=log.user[order], stream=log.stream[order],
                           streamer=log.streamer[order], start=log.start[order],
                           stop=log.stop[order])
    asked = data.draw(st.sets(st.integers(0, log.n_users - 1), min_size=1))
    for t in range(log.n_steps):
        everyone = candidates_of(log.spans, t, range(log.n_users))
        assert candidates_of(shuffled, t, range(log.n_users)) == everyone
        assert candidates_of(log.spans, t, asked) == {u: everyone[u] for u in asked}


def test_the_same_stream_id_on_two_streamers_is_two_broadcasts():
    log = Log.from_columns(["a", "b", "c"], [7, 7, 1], ["x", "y", "z"], [0, 5, 0], [2, 7, 9])
    a, c = log.user_names.to_pylist().index("a"), log.user_names.to_pylist().index("c")
    z = log.streamer_names.to_pylist().index("z")
    assert log.spans.at(3).tolist() == [z]  # x ends at 2, y begins at 5: no span covers 3
    assert candidates_of(log.spans, 3, [a]) == {a: {z}}
    assert candidates_of(log.spans, 3, [c]) == {c: set()}  # c alone watches z


def test_span_ranks_more_targets_than_others_and_misses_only_what_others_misses(sample_log):
    window = (4000, 4300)
    free = replay(sample_log, make_learner("pop"), window=window, availability="others").ranks
    span = replay(sample_log, make_learner("pop"), window=window, availability="span").ranks
    assert np.all(np.isfinite(span)[np.isfinite(free)])
    assert np.isfinite(span).sum() > 1.3 * np.isfinite(free).sum()


def test_next_says_which_candidates_it_ranked(sample_log):
    window = (4000, 4020)
    span = replay(sample_log, make_learner("pop"), protocol="next", availability="span",
                  window=window)
    default = replay(sample_log, make_learner("pop"), protocol="next", window=window)
    assert span.to_dict()["availability"] == "span" and default.to_dict()["availability"] == "log"
    assert span.n_events == default.n_events
    assert np.isinf(span.ranks).sum() > np.isinf(default.ranks).sum()


@settings(max_examples=80, deadline=None)
@given(log=small_logs())
def test_span_adds_to_log_only_channels_in_a_gap_between_other_viewers(log):
    """``span`` is within ``log`` (A_t) except for a channel that nobody watches at t while one
    of its broadcasts is seen on before and after t by other users: a leak-free definition
    cannot be within A_t, which counts the evaluated user's own row."""
    rows = log.frame().assign(stream=log.stream)
    for t in range(log.n_steps):
        live = set(rows[(rows.start <= t) & (rows.stop > t)].streamer)
        for user, found in candidates_of(log.spans, t, range(log.n_users)).items():
            for streamer in found - live:
                mine = rows[(rows.streamer == streamer) & (rows.user != user)]
                before = set(mine[mine.start <= t].stream)
                after = set(mine[mine.stop > t + 1].stream) | set(mine[mine.start > t].stream)
                assert before & after, (t, user, streamer)


@settings(max_examples=60, deadline=None)
@given(log=small_logs())
def test_from_the_rows_begun_by_t_span_is_others(log):
    """What ``span`` adds to ``others`` at t is only broadcasts in a gap between viewers,
    bridged by another user's row that starts after t."""
    for t in range(log.n_steps):
        begun = candidates_of(log.subset(log.start <= t).spans, t, range(log.n_users))
        assert begun == {u: others(log, u, t) for u in range(log.n_users)}


def test_span_reads_other_users_later_rows_to_bridge_gaps(sample_log):
    """So a cut log shows fewer candidates just before the cut (see tests/test_lookahead.py)."""
    cut = sample_log.cut(700)
    users = range(cut.n_users)
    shrunk = 0
    for t in range(670, 700):
        full = candidates_of(sample_log.spans, t, users)
        clipped = candidates_of(cut.spans, t, users)
        assert all(clipped[u] <= full[u] for u in users)
        shrunk += sum(clipped[u] != full[u] for u in users)
    assert shrunk > 0


@pytest.mark.parametrize("protocol,availability,message", [
    ("next", "others", "availability 'others' applies to the starts protocol only"),
    ("holdout", "span", "availability 'span' applies to the starts and next protocols only"),
    ("starts", "spans", "unknown availability 'spans'; choose from log, others, span"),
])
def test_an_availability_a_protocol_does_not_take_is_an_error(protocol, availability, message):
    with pytest.raises(ReplayError, match=re.escape(message)):
        make_protocol(protocol, availability=availability)
