"""An independent, deliberately naive implementation of docs/protocols.md's protocols and the
`pop` and `repeat` baselines, written from the definitions with pandas filters per step and
Python loops per event. Slow, obviously correct; the engine must agree with it exactly."""
from __future__ import annotations

import math

import pandas as pd


def _scores(revealed: pd.DataFrame, user: int, learner: str, n_rows_in_log: int) -> dict:
    pop = revealed.streamer.value_counts().to_dict()
    if learner == "pop":
        return pop
    own = revealed[revealed.user == user].streamer.value_counts().to_dict()
    return {s: own.get(s, 0) * (n_rows_in_log + 1) + pop.get(s, 0)
            for s in set(pop) | set(own)}


def _rank(scores: dict, candidates: set, targets: set) -> float:
    live_targets = targets & candidates
    if not live_targets:
        return math.inf
    best = max(scores.get(s, 0) for s in live_targets)
    return float(sum(1 for c in candidates - targets if scores.get(c, 0) >= best))


def span(rows: pd.DataFrame, user: int, t: int) -> set:
    """Availability ``span``: streamers with a broadcast (streamer, stream) whose rows of users
    other than ``user`` begin at or before t and go on after t."""
    others = rows[rows.user != user].groupby(["streamer", "stream"])
    seen = others.start.min().le(t) & others.stop.max().gt(t)
    return set(seen[seen].index.get_level_values("streamer"))


def broadcasts_on(rows: pd.DataFrame, t: int) -> pd.DataFrame:
    """The rows of the broadcasts whose rows of all users begin at or before t and go on after
    t: a user's span is inside everyone's, so :func:`span` needs only these (it is faster)."""
    broadcast = rows.groupby(["streamer", "stream"])
    return rows[broadcast.start.transform("min").le(t) & broadcast.stop.transform("max").gt(t)]


def starts(rows: pd.DataFrame, learner: str, window: tuple[int, int],
           availability: str = "log") -> list[tuple[int, float, bool]]:
    """(step, rank, repeat) of every session start in the window, in log order."""
    out = []
    for t in range(max(window[0], 1), window[1]):
        live = rows[(rows.start <= t) & (rows.stop > t)]
        revealed = rows[rows.start <= t - 1]
        on = broadcasts_on(rows, t)
        for row in rows[rows.start == t].itertuples():
            candidates = set(live.streamer)
            if availability == "others":
                viewers = live.groupby("streamer").user.agg(set)
                candidates = {s for s in candidates if viewers[s] != {row.user}}
            elif availability == "span":
                candidates = span(on, row.user, t)
            scores = _scores(revealed, row.user, learner, len(rows))
            repeat = bool(((revealed.user == row.user) & (revealed.streamer == row.streamer)).any())
            out.append((t, _rank(scores, candidates, {row.streamer}), repeat))
    return out


def next_step(rows: pd.DataFrame, learner: str, window: tuple[int, int],
              availability: str = "log") -> list[tuple[int, float, bool]]:
    """(step, rank, continuing) of every (step, user watching at step+1), by step then user;
    candidates A_t (``log``) or the user's ``span`` at t."""
    out = []
    n_steps = int(rows.stop.max())
    for t in range(window[0], min(window[1], n_steps - 1)):
        now = rows[(rows.start <= t) & (rows.stop > t)]
        after = rows[(rows.start <= t + 1) & (rows.stop > t + 1)]
        revealed = rows[rows.start <= t]
        on = broadcasts_on(rows, t)
        for user in sorted(set(after.user)):
            targets = set(after[after.user == user].streamer)
            scores = _scores(revealed, user, learner, len(rows))
            continuing = bool(targets & set(now[now.user == user].streamer))
            candidates = span(on, user, t) if availability == "span" else set(now.streamer)
            out.append((t, _rank(scores, candidates, targets), continuing))
    return out


def holdout(rows: pd.DataFrame, learner: str, period: str) -> dict[int, tuple[int, float, bool]]:
    """user -> (target start, rank, repeat) of the hold-out protocol, from its definition."""
    n_steps = int(rows.stop.max())
    a, b = {"test": (n_steps - 250, n_steps), "validation": (n_steps - 500, n_steps - 250)}[period]
    kept = rows[rows.stop < b].sort_values("start", kind="stable")
    training = rows[rows.stop < a]
    out = {}
    for user, group in kept.groupby("user"):
        last = group.tail(17)
        target = last.iloc[-1]
        if len(last) < 2 or not a <= target.start < b:
            continue
        live = rows[(rows.start <= target.start) & (rows.stop > target.start)]
        scores = _scores(training, user, learner, len(rows))
        rank = _rank(scores, set(live.streamer), {target.streamer})
        out[user] = (int(target.start), rank, bool((last.iloc[:-1].streamer == target.streamer).any()))
    return out
