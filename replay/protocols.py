"""What is predicted at each step, and how it is ranked (``docs/protocols.md``).

A protocol plans what the learner replays (:meth:`Protocol.plan`) and ranks events at three
moments of the replay loop: before step t is revealed (``starts``), after it (``next``), or
after the replay ends (``holdout``, in :mod:`livereplay.holdout`). Every rank goes through
:mod:`livereplay.ranking`, which states the tie rule.

``starts``: every row starting at step t >= 1 is an event; its streamer is ranked among the
candidates using what was revealed through t-1. Candidates are A_t (``log``), A_t minus
the streamers whose only viewers at t are the evaluated user (``others``, leak-free), or
the streamers with a broadcast that rows of other users show on at t (``span``, leak-free,
:class:`livereplay.availability.Spans`), or the streamers on air at t by the log's schedule
(``schedule``, leak-free and complete, :mod:`livereplay.schedule`). Splits: ``repeat`` (the
user has an earlier row with that streamer) and ``new``.

``next``: after step t is revealed, every user watching something at t+1 is an event; the
best-scored of the streamers it watches at t+1 that are candidates (A_t, or with ``span``
the user's span candidates at t, or with ``schedule`` the streamers on air at t+1) is ranked
against the other candidates (scored for step t+1). Splits: ``continuing`` (it watches at t+1 a streamer it also watches at t)
and ``fresh``.

Per-user candidates (``others``, ``span``) are one array scored for every user of the step
and (user, column) pairs excluded for a user: an excluded target is not a target, and an
excluded column is not counted against the user's events.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np

from .arrays import distinct, expand_ranges, pair_keys, parts, positions
from .availability import LiveIndex
from .contract import History, Learner
from .data import Log
from .errors import ReplayError
from .plugins import find, load, names
from .ranking import rank_by_chunks


class Outcome(NamedTuple):
    """Ranked events: each one's rank, user, step and split (True = the protocol's first)."""

    ranks: np.ndarray
    users: np.ndarray
    steps: np.ndarray
    kind: np.ndarray


class Plan(NamedTuple):
    """What a replay does: evaluate steps ``a <= t < b``; the learner replays ``log`` for steps
    ``0 .. until-1``."""

    a: int
    b: int
    log: Log
    until: int


@dataclass
class Moment:
    """The engine's view of step t for a protocol (never shown to learners)."""

    t: int
    log: Log
    index: LiveIndex
    history: History
    learner: Learner
    watching: np.ndarray  # log rows covering t
    starting: np.ndarray  # log rows starting at t, evaluated users only
    watching_next: np.ndarray  # log rows covering t+1, evaluated users only
    score_budget: int


@dataclass
class Ending:
    """What a protocol may use once the replay has ended."""

    log: Log
    index: LiveIndex
    learner: Learner
    evaluated: np.ndarray  # boolean mask of evaluated users
    score_budget: int


class Protocol:
    """Base of the protocols: by default the whole log is replayed over the window and
    nothing is ranked; a protocol overrides the moments at which it ranks events.

    A protocol is named on the command line by its registered name, an entry point of the
    group ``livereplay.protocols``, or ``module:Class`` (:func:`make_protocol`). The options it
    takes are declared by the class: ``availabilities`` (candidate sets, ``--availability``)
    and ``periods`` (``--period``), each with its default first; :func:`make_protocol` passes
    the chosen one to the constructor as ``availability=`` or ``period=``. Each instance
    records its own in ``availability`` and ``period`` (results report both).
    """

    name: ClassVar[str] = ""
    splits: ClassVar[tuple[str, str]] = ("", "")
    availabilities: ClassVar[tuple[str, ...]] = ()
    periods: ClassVar[tuple[str, ...]] = ()
    availability: str | None = None
    period: str | None = None

    def plan(self, log: Log, window: tuple[int, int] | None) -> Plan:
        T = log.n_steps
        a, b = window if window is not None else (0, T)
        if not 0 <= a < b <= T:
            raise ReplayError(f"window [{a}, {b}) is not inside the log's steps [0, {T})")
        return Plan(a, b, log, b)

    def before_reveal(self, moment: Moment) -> Outcome | None:
        """Events of step t ranked with what was revealed through t-1."""
        return None

    def after_reveal(self, moment: Moment) -> Outcome | None:
        """Events ranked once step t is revealed."""
        return None

    def after_replay(self, ending: Ending) -> Outcome | None:
        """Events ranked once the replay has ended."""
        return None

    def objective(self, outcome: Outcome, n_evaluated_users: int, plan: Plan) -> float | None:
        """A protocol's own summary figure, if it has one."""
        return None


def _pairs_by_user(event_users: np.ndarray, owners: np.ndarray,
                   values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(event, value) for every value owned by the event's user."""
    order = np.argsort(owners, kind="stable")
    owners, values = owners[order], values[order]
    events, pos = expand_ranges(np.searchsorted(owners, event_users, "left"),
                                np.searchsorted(owners, event_users, "right"))
    return events, values[pos]


Pairs = tuple[np.ndarray, np.ndarray]


class Candidates(NamedTuple):
    """The candidates at a step: ``streamers`` (sorted) are scored for every user, and
    ``streamers[excluded_column]`` is not a candidate for ``excluded_user`` (pairwise)."""

    streamers: np.ndarray
    excluded_user: np.ndarray
    excluded_column: np.ndarray

    def ranked(self, event_users: np.ndarray, target_event: np.ndarray,
               target_streamer: np.ndarray) -> tuple[Pairs, Pairs]:
        """(targets, uncounted) as :func:`livereplay.ranking.rank_events` takes them, for
        events of users ``event_users`` with targets (event, streamer): the targets that are
        candidates for their event's user, and what is not counted against each event, its
        targets and the columns excluded for its user."""
        excluded_event, excluded_column = _pairs_by_user(event_users, self.excluded_user,
                                                         self.excluded_column)
        n = len(self.streamers)
        column = positions(self.streamers, target_streamer)
        excluded = distinct(excluded_event * n + excluded_column)
        live = (column >= 0) & (positions(excluded, target_event * n + column) < 0)
        targets = (target_event[live], column[live])
        return targets, (np.concatenate([targets[0], excluded_event]),
                         np.concatenate([targets[1], excluded_column]))


AVAILABILITIES = ("log", "others", "span", "schedule")
_NONE = np.empty(0, np.int64)


def candidates_at(availability: str, moment: Moment, users: np.ndarray,
                  ranked_step: int | None = None) -> Candidates:
    """The candidates at step ``moment.t`` for ``users`` (sorted distinct ids): A_t
    (``log``); A_t without, for each user, the streamers it alone watches at t (``others``);
    the union of the users' broadcast-span candidates (``span``); the streamers on air by the
    schedule at the step whose events are ranked (``schedule``; ``ranked_step``, default t)."""
    t, log = moment.t, moment.log
    if availability == "schedule":
        return Candidates(log.schedule.at(t if ranked_step is None else ranked_step),
                          _NONE, _NONE)
    if availability == "span":
        return Candidates(*log.spans.candidates(t, users))
    streamers = moment.index.at(t)
    if availability == "log":
        return Candidates(streamers, _NONE, _NONE)
    watched = positions(streamers, log.streamer[moment.watching])
    sole = moment.index.viewers_at(t)[watched] == 1
    return Candidates(streamers, log.user[moment.watching][sole], watched[sole])


def _checked(availability: str, allowed: tuple[str, ...]) -> str:
    if availability not in allowed:
        raise ReplayError(f"unknown availability {availability!r}; choose from "
                          f"{', '.join(allowed)}")
    return availability


class Starts(Protocol):
    """Session starts: each row starting at t, its streamer ranked before t is revealed.

    ``availability`` is ``span`` (leak-free, the default), ``others`` (leak-free), ``log``
    (A_t, the paper's, which leaks the target) or ``schedule`` (the streamers on air, where
    the log has a schedule)."""

    name = "starts"
    splits = ("repeat", "new")
    availabilities = ("span", "others", "log", "schedule")

    def __init__(self, availability: str = "span") -> None:
        self.availability = _checked(availability, self.availabilities)

    def before_reveal(self, moment: Moment) -> Outcome | None:
        t, log, rows = moment.t, moment.log, moment.starting
        if t < 1 or len(rows) == 0:
            return None
        event_users, event_streamers = log.user[rows], log.streamer[rows]
        users, event_user = distinct(event_users, inverse=True)
        candidates = candidates_at(self.availability, moment, users)
        targets, uncounted = candidates.ranked(event_users, np.arange(len(rows)), event_streamers)
        repeat = log.seen_before[rows]  # as the history's pair counts would say
        ranks = rank_by_chunks(moment.learner, t, users, candidates.streamers, event_user,
                               targets, uncounted, moment.score_budget)
        return Outcome(ranks, event_users, np.full(len(rows), t, np.int32), repeat)


class Next(Protocol):
    """The next step: what each user watching at t+1 watches, ranked once t is revealed.

    Candidates are the streamers live at the revealed step (``log``, A_t, the default: it
    leaks nothing here), the user's span candidates (``span``) or the streamers on air at the
    next step by the log's schedule (``schedule``)."""

    name = "next"
    splits = ("continuing", "fresh")
    availabilities = ("log", "span", "schedule")

    def __init__(self, availability: str = "log") -> None:
        self.availability = _checked(availability, self.availabilities)

    def after_reveal(self, moment: Moment) -> Outcome | None:
        log, rows = moment.log, moment.watching_next
        if len(rows) == 0:
            return None
        users, event_of_row = distinct(log.user[rows], inverse=True)
        candidates = candidates_at(self.availability, moment, users, ranked_step=moment.t + 1)
        targets, uncounted = candidates.ranked(users, event_of_row, log.streamer[rows])
        now = moment.watching
        kept_watching = np.isin(pair_keys(log.user[rows], log.streamer[rows]),
                                pair_keys(log.user[now], log.streamer[now]))
        continuing = np.bincount(event_of_row, weights=kept_watching, minlength=len(users)) > 0
        events = np.arange(len(users))
        ranks = rank_by_chunks(moment.learner, moment.t + 1, users, candidates.streamers, events,
                               targets, uncounted, moment.score_budget)
        return Outcome(ranks, users, np.full(len(users), moment.t, np.int32), continuing)

    def objective(self, outcome: Outcome, n_evaluated_users: int, plan: Plan) -> float | None:
        """The seed's objective: (1/N)(1/T) sum of rewards (hr@1) over N evaluated users and
        the T steps of the window that have a next step."""
        steps = min(plan.b, plan.log.n_steps - 1) - plan.a
        hits = sum(int(np.count_nonzero(part == 0)) for part in parts(outcome.ranks))
        return float(hits) / (n_evaluated_users * steps)


ENTRY_POINT_GROUP = "livereplay.protocols"

#: name -> import path of every built-in protocol
BUILTIN: dict[str, str] = {"starts": "livereplay.protocols:Starts",
                           "next": "livereplay.protocols:Next",
                           "holdout": "livereplay.holdout:Holdout"}


def protocol_class(spec: str) -> type[Protocol]:
    """The protocol class named by ``spec``: a built-in name, an entry point of the group
    ``livereplay.protocols``, or ``module:Class``."""
    cls = find(spec, BUILTIN, group=ENTRY_POINT_GROUP, kind="protocol")
    if not (isinstance(cls, type) and issubclass(cls, Protocol)):
        raise ReplayError(f"protocol {spec!r} is not a subclass of livereplay.protocols.Protocol")
    return cls


def available_protocols() -> dict[str, str]:
    """Name -> the first line of its docstring, for every protocol that can be named."""
    return {name: (load(path).__doc__ or "").strip().split("\n")[0]
            for name, path in names(BUILTIN, group=ENTRY_POINT_GROUP).items()}


def make_protocol(spec: str, *, availability: str | None = None,
                  period: str | None = None) -> Protocol:
    """The protocol ``spec`` names, with its options: ``availability`` among the candidate
    sets its class takes (default: its first), ``period`` among its periods (likewise). An
    option the protocol does not take is an error rather than silently ignored.

    >>> make_protocol("starts").availability, make_protocol("next").availability
    ('span', 'log')
    >>> make_protocol("holdout", period="validation").period
    'validation'
    """
    cls = protocol_class(spec)
    if availability is not None and availability not in cls.availabilities:
        takers = [name for name in BUILTIN if availability in protocol_class(name).availabilities]
        if not takers:
            raise ReplayError(f"unknown availability {availability!r}; choose from "
                              f"{', '.join(AVAILABILITIES)}")
        raise ReplayError(f"availability {availability!r} applies to the {' and '.join(takers)} "
                          f"protocol{'s' if len(takers) > 1 else ''} only")
    if period is not None and period not in cls.periods:
        if cls.periods:
            raise ReplayError(f"unknown period {period!r}; choose from {', '.join(cls.periods)}")
        raise ReplayError(f"period {period!r} applies to the holdout protocol only")
    options = {}
    if cls.availabilities:
        options["availability"] = availability or cls.availabilities[0]
    if cls.periods:
        options["period"] = period or cls.periods[0]
    return cls(**options)
