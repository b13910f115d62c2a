"""A live-streaming platform as SimPy processes: streamers go live, users arrive, watch and hop.

The story, as the processes tell it:

* ``broadcasting`` -- every midnight the streamers plan their day (regular daily broadcasters
  near their habitual hour, irregular ones now and then, a few around the clock); at each
  step the broadcasts planned for it go live, and each runs until its planned end.
* ``audience`` -- at each step users arrive in sessions with a heavy-tailed activity, some
  following the platform's daily rhythm and some around their own habitual time of day;
  they and the viewers hopping on from an ended viewing tune in: a user goes back to a live
  favourite with a personal loyalty, otherwise explores the live streamers by popularity and
  taste (a viewer leaving a streamer leans to streamers like it: hops follow co-watching),
  now and then browsing at random; in closed loop an arriving user is first shown a slate
  of recommendations. Some also open a second streamer at once.
* ``drifting`` -- every midnight the users' tastes drift a little.
* ``watching`` -- viewers who tuned in together for the same length watch until the end
  (bounded by the broadcast; longer on streamers they know); then some hop on to another
  streamer, the others leave.

Design for speed. A process per viewer and per broadcast would mean millions of SimPy events
and Python-level choices at the scale of the Twitch 100k file (3M viewings, 6148 steps).
So each process stands for a *cohort*: the broadcasts that start at the same step, the users
who arrive at the same step, the viewings that start together and last equally long. SimPy
keeps what it is good at -- the processes and their timing (a viewing ends ``steps`` later;
hoppers come back to the audience exactly then) -- and every decision inside a cohort is a
handful of numpy operations over its members: Poisson arrivals drawn as one superposition,
choices among live streamers by sampling a few candidates in proportion to popularity and
weighing them with low-dimensional taste vectors (never a users x streamers matrix), and
favourites kept as (streamer, count) pairs in a block per user (:mod:`livereplay.sim.favourites`).
A step costs in proportion to the rows it starts, whatever the number of users and streamers
(3 ms at the 100k file's scale, 60 ms at the full release's), plus the per-cohort overhead.

Rows go to a sink as they start, a step at a time, in the order of the log: kept in memory
(:func:`simulate`) or written to CSV in batches (:func:`simulate_to_csv`, what ``livereplay
simulate --out`` does), so memory holds the world -- users, streamers, distinct pairs --
and never the log: the full release's scale (124M rows) is written on a modest machine.

Within a step the audience lets everything else due at that step happen first (a zero-length
timeout: SimPy runs events of equal time in the order they were scheduled), so it sees the
streamers that went live and the viewers whose viewing ended at that step.

Randomness comes from independent streams spawned from one seed (population, schedules,
arrivals, choices, slate acceptance, taste drift), so the same seed gives the same log and,
in closed loop, every policy faces the same streamers, schedules and arrivals.

>>> from livereplay.sim.presets import preset
>>> result = simulate(preset("tiny"), seed=1)
>>> log = result.to_log()
>>> log.n_rows == len(result.user) and log.n_steps <= 432
True
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, NamedTuple, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import simpy
from tqdm.auto import tqdm

from livereplay.arrays import positions
from livereplay.data import COLUMNS, STEPS_PER_DAY, Log
from livereplay.schedule import Schedule, schedule_path, write_schedule

from .favourites import Favourites
from .population import Broadcasts, Streamers, Users
from .presets import SimParams


class Slate(Protocol):
    """A recommender shown to arriving users in closed loop (see :mod:`livereplay.sim.closed_loop`)."""

    def recommend(self, users: np.ndarray, live: np.ndarray, t: int) -> np.ndarray:
        """An (len(users) x k) array of streamers among ``live`` to show each user at step t."""

    def attach(self, platform: "Platform") -> None:
        """The platform it recommends on, told once before the run (for what it records of
        the choice model: :meth:`Platform.choice_probabilities`)."""

    def chosen(self, t: int, users: np.ndarray, channels: np.ndarray) -> None:
        """What the users shown a (non-empty) slate at step ``t`` did: the streamer each took
        from it, -1 where ignored."""

    def observe(self, t: int, users: np.ndarray, streamers: np.ndarray, stops: np.ndarray) -> None:
        """The viewings that started at step ``t`` (every step is told, in order)."""


class Viewers(NamedTuple):
    """Users about to tune in: their session and the streamer they just left (-1 if none)."""

    user: np.ndarray
    session: np.ndarray
    leaving: np.ndarray

    def take(self, mask: np.ndarray) -> "Viewers":
        return Viewers(*(a[mask] for a in self))

    @staticmethod
    def concat(parts: list["Viewers"]) -> "Viewers":
        return Viewers(*(np.concatenate(a) for a in zip(*parts)))


class LiveStreamers(NamedTuple):
    """The streamers live at a step (sorted ids) and their cumulative popularity."""

    ids: np.ndarray
    cumulative_popularity: np.ndarray


class OnAir:
    """Which streamers are live: the end and the id of each streamer's current broadcast, and
    the schedule of the broadcasts that have ended (the platform's own record)."""

    def __init__(self, n_streamers: int) -> None:
        self.live_until = np.zeros(n_streamers, np.int64)
        self.stream = np.full(n_streamers, -1, np.int64)
        self.live_since = np.zeros(n_streamers, np.int64)
        self.ended: list[Broadcasts] = []

    def go_live(self, t: int, broadcasts: Broadcasts) -> None:
        """Start the broadcasts planned for step ``t``; one that overlaps the streamer's
        current broadcast extends it (same stream id)."""
        streamer = broadcasts.streamer
        off_air = self.live_until[streamer] <= t
        starting = streamer[off_air]
        was_on = starting[self.stream[starting] >= 0]  # their last broadcast has ended
        self.ended.append(Broadcasts(was_on, self.live_since[was_on], self.live_until[was_on],
                                     self.stream[was_on]))
        self.stream[starting] = broadcasts.stream[off_air]
        self.live_since[starting] = t
        self.live_until[streamer] = np.maximum(self.live_until[streamer], broadcasts.stop)

    def schedule(self, n_steps: int) -> Broadcasts:
        """Every broadcast so far, ended or going on, its stop clipped to ``n_steps``, in
        order of start (ties: by streamer)."""
        on = np.flatnonzero(self.stream >= 0)
        parts = [*self.ended, Broadcasts(on, self.live_since[on], self.live_until[on],
                                         self.stream[on])]
        streamer, start, stop, stream = (np.concatenate([part[i] for part in parts])
                                         for i in range(4))
        order = np.lexsort((streamer, start))
        return Broadcasts(streamer[order].astype(np.int32), start[order].astype(np.int32),
                          np.minimum(stop[order], n_steps).astype(np.int32), stream[order])

    def live(self, t: int, popularity: np.ndarray) -> LiveStreamers:
        ids = np.flatnonzero(self.live_until > t).astype(np.int32)
        return LiveStreamers(ids, np.cumsum(popularity[ids]))


@dataclass(frozen=True)
class LogSummary:
    """The size of a simulated log: rows, the distinct users and streamers in it, sessions."""

    n_rows: int
    n_users: int
    n_streamers: int
    n_sessions: int

    def __str__(self) -> str:
        return (f"{self.n_rows:,} rows, {self.n_users:,} users, {self.n_streamers:,} streamers, "
                f"{self.n_sessions:,} sessions")


@dataclass(frozen=True, eq=False)
class SimulatedLog:
    """A simulated log: the five columns of the data model (users and streamers as integer
    ids, rows in time order), the session of each row and whether its streamer was new to
    the user, and the number of sessions of the run (what slates showed and what was taken
    from them is the closed loop's :class:`~livereplay.sim.feedback.Exposure`)."""

    user: np.ndarray
    stream: np.ndarray
    streamer: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    session: np.ndarray
    new: np.ndarray
    n_sessions: int
    params: SimParams
    seed: int
    schedule: Broadcasts

    def to_log(self) -> Log:
        """The rows as a validated :class:`livereplay.data.Log` with the true schedule, to
        replay in memory."""
        log = Log.from_columns(self.user, self.stream, self.streamer, self.start, self.stop,
                               source=f"<simulated seed={self.seed}>")
        return replace(log, schedule=Schedule.named(
            self.schedule.streamer, self.schedule.start, self.schedule.stop,
            log.streamer_names, log.n_steps))

    def table(self) -> pa.Table:
        return pa.table({name: getattr(self, name) for name in COLUMNS})

    def write_csv(self, path: str | Path) -> None:
        """Write the original headerless layout ``user,stream,streamer,start,stop``, and the
        true schedule beside it (:func:`livereplay.schedule.schedule_path`)."""
        pacsv.write_csv(self.table(), str(path), _CSV_OPTIONS)
        write_broadcasts(path, self.schedule)

    def summary(self) -> LogSummary:
        """Rows, distinct users and streamers, sessions: what ``livereplay simulate`` reports."""
        return LogSummary(len(self.user), len(np.unique(self.user)),
                          len(np.unique(self.streamer)), self.n_sessions)


# Every row column in the order the platform hands them, with its dtype; the first five
# are the log's (COLUMNS).
_DTYPES = {"user": np.int32, "stream": np.int64, "streamer": np.int32, "start": np.int32,
           "stop": np.int32, "session": np.int64, "new": np.bool_}
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False)


class RowSink(Protocol):
    """Where the platform hands the rows that start at each step, once per step, in time
    order. ``details``: whether it keeps the session and new-streamer columns (if not,
    ``new`` is passed as None and not computed)."""

    details: bool

    def append(self, user: np.ndarray, stream: np.ndarray, streamer: np.ndarray,
               start: np.ndarray, stop: np.ndarray, session: np.ndarray,
               new: np.ndarray | None) -> None:
        """The rows that started at one step."""


class _Rows:
    """Rows kept in memory as they come, joined on demand."""

    details = True

    def __init__(self) -> None:
        self.names = tuple(_DTYPES) if self.details else COLUMNS
        self.parts: list[tuple[np.ndarray, ...]] = []

    def append(self, *columns: np.ndarray) -> None:
        self.parts.append(columns[: len(self.names)])

    def columns(self) -> dict[str, np.ndarray]:
        """The columns kept (``names``), joined."""
        return {name: np.concatenate([np.empty(0, _DTYPES[name])]
                                     + [p[i] for p in self.parts]).astype(_DTYPES[name])
                for i, name in enumerate(self.names)}


class _CsvRows(_Rows):
    """Rows written to a headerless CSV file as they come, a batch of at least ``batch_rows``
    rows at a time, so that memory holds one batch however long the log; the bytes are those
    of :meth:`SimulatedLog.write_csv`, since the rows come in file order. Counts the rows and
    marks the users and streamers seen."""

    details = False

    def __init__(self, path: Path, params: SimParams, batch_rows: int) -> None:
        super().__init__()
        self.batch_rows = batch_rows
        self.n_rows = self.n_buffered = 0
        self.users_seen = np.zeros(params.n_users, bool)
        self.streamers_seen = np.zeros(params.n_streamers, bool)
        schema = pa.schema([(name, pa.from_numpy_dtype(_DTYPES[name])) for name in COLUMNS])
        self.writer = pacsv.CSVWriter(str(path), schema, write_options=_CSV_OPTIONS)

    def append(self, *columns: np.ndarray) -> None:
        super().append(*columns)
        self.n_buffered += len(columns[0])
        if self.n_buffered >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        columns = self.columns()
        self.writer.write_table(pa.table(columns))
        self.users_seen[columns["user"]] = True
        self.streamers_seen[columns["streamer"]] = True
        self.n_rows += self.n_buffered
        self.parts, self.n_buffered = [], 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


class Platform:
    """The simulated platform. Build it with parameters, a seed, optionally a slate (closed
    loop) and where the rows go (default: kept in memory), then :meth:`run` it once."""

    def __init__(self, params: SimParams, seed: int = 0, slate: Slate | None = None,
                 rows: RowSink | None = None) -> None:
        self.params = params
        self.seed = seed
        self.slate = slate
        population, schedules, arrivals, choices, acceptance, drift = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6))
        self.rng_schedules, self.rng_arrivals, self.rng_drift = schedules, arrivals, drift
        self.rng_choices, self.rng_acceptance = choices, acceptance
        self.streamers = Streamers(params, population)
        self.users = Users(params, population)
        self.on_air = OnAir(params.n_streamers)
        self.favourites = Favourites(params.n_users)
        self.busy_until = np.zeros(params.n_users, np.int64)
        self.hoppers: list[Viewers] = []
        self.rows = _Rows() if rows is None else rows
        self.n_sessions = 0
        self.env = simpy.Environment()
        if slate is not None:
            slate.attach(self)

    # --- processes ------------------------------------------------------------------------
    def broadcasting(self) -> Iterator[simpy.Event]:
        """Every midnight the streamers plan their day; at each step its broadcasts go live."""
        next_stream = 0
        for day in range(-(-self.params.n_steps // STEPS_PER_DAY)):
            plan = self.streamers.plan_day(day, next_stream, self.rng_schedules)
            next_stream += len(plan.start)
            bounds = np.searchsorted(plan.start, day * STEPS_PER_DAY + np.arange(STEPS_PER_DAY + 1))
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                self.on_air.go_live(int(self.env.now), Broadcasts(*(c[lo:hi] for c in plan)))
                yield self.env.timeout(1)

    def audience(self, progress: tqdm) -> Iterator[simpy.Event]:
        """At each step users arrive, and they and the hoppers tune in."""
        while True:
            yield self.env.timeout(0)  # let this step's broadcasts start and viewings end first
            t = int(self.env.now)
            hoppers = Viewers.concat(self.hoppers + [Viewers(*[np.empty(0, np.int64)] * 3)])
            self.hoppers = []
            arriving = self.arriving_users(t, exclude=hoppers.user)
            sessions = self.n_sessions + np.arange(len(arriving), dtype=np.int64)
            self.n_sessions += len(arriving)
            self.tune_in(t, Viewers.concat([
                Viewers(arriving, sessions, np.full(len(arriving), -1, np.int64)), hoppers]),
                n_arriving=len(arriving))
            progress.update(1)
            yield self.env.timeout(1)

    def drifting(self) -> Iterator[simpy.Event]:
        """Every midnight the users' tastes drift a little."""
        while True:
            yield self.env.timeout(STEPS_PER_DAY)
            self.users.drift(self.rng_drift)

    def watching(self, viewers: Viewers, channel: np.ndarray, steps: int) -> Iterator[simpy.Event]:
        """Viewers who tuned in together for ``steps`` steps; when it ends some hop on."""
        yield self.env.timeout(steps)
        hop = self.rng_choices.random(len(viewers.user)) < self.params.hop_probability
        self.hoppers.append(Viewers(viewers.user[hop], viewers.session[hop], channel[hop]))

    # --- what happens at a step -----------------------------------------------------------
    def arriving_users(self, t: int, exclude: np.ndarray) -> np.ndarray:
        """Users starting a session now: once each, not while already watching or hopping."""
        users = self.users.arrivals(t, self.rng_arrivals)
        users = users[np.sort(np.unique(users, return_index=True)[1])]
        free = (self.busy_until[users] <= t) & ~np.isin(users, exclude)
        return users[free]

    def tune_in(self, t: int, viewers: Viewers, n_arriving: int) -> None:
        """Viewers choose a streamer (the first ``n_arriving`` may be shown a slate), some a
        second one too; their rows are recorded, and their viewings start."""
        live = self.on_air.live(t, self.streamers.popularity)
        if len(live.ids) == 0:
            viewers = viewers.take(np.zeros(len(viewers.user), bool))
        rng = self.rng_choices
        offered = np.arange(len(viewers.user)) < n_arriving
        channel = self.choose(t, viewers.user, viewers.leaving, live, offered)
        viewers, channel = viewers.take(channel >= 0), channel[channel >= 0]
        second = rng.random(len(channel)) < self.params.second_streamer_probability
        second_channel = self.choose(t, viewers.user[second], channel[second], live,
                                     np.zeros(int(second.sum()), bool))
        second[second] = second_channel >= 0
        second_channel = second_channel[second_channel >= 0]
        user = np.concatenate([viewers.user, viewers.user[second]])
        streamer = np.concatenate([channel, second_channel])
        familiarity = self.favourites.counts(user, streamer)
        length = self.users.watch_lengths(familiarity, rng)
        stop = np.minimum(t + length, self.on_air.live_until[streamer])
        new = familiarity == 0 if self.rows.details else None
        self.rows.append(user, self.on_air.stream[streamer], streamer, np.full(len(user), t),
                         stop, np.concatenate([viewers.session, viewers.session[second]]), new)
        self.favourites.add(user, streamer)
        np.maximum.at(self.busy_until, user, stop)
        first = stop[: len(channel)]
        for end in np.unique(first):  # second streamers end without hopping on
            together = first == end
            self.env.process(self.watching(viewers.take(together), channel[together], int(end) - t))
        if self.slate is not None:
            self.slate.observe(t, user, streamer, stop)

    def choose(self, t: int, users: np.ndarray, exclude: np.ndarray, live: LiveStreamers,
               offered: np.ndarray) -> np.ndarray:
        """One live streamer for each user, other than ``exclude``: from the slate if offered
        and accepted, else a live favourite for a loyal user, else by exploring (-1 where
        ``exclude`` is the only live streamer: the viewer leaves)."""
        channel = np.full(len(users), -1, np.int64)
        if self.slate is not None and offered.any():
            channel[offered] = self.accept_from_slate(t, users[offered], live)
        loyal = self.rng_choices.random(len(users)) < self.users.loyalty[users]
        ask = loyal & (channel < 0)
        channel[ask] = self.live_favourite(t, users[ask], exclude[ask])
        rest = channel < 0
        channel[rest] = self.explore(users[rest], exclude[rest], live)
        return np.where(channel == exclude, -1, channel)

    def live_favourite(self, t: int, users: np.ndarray, exclude: np.ndarray) -> np.ndarray:
        """For each user, a live streamer watched before, drawn in proportion to past rows
        (-1 where none is live)."""
        owner, streamer, count = self.favourites.of_users(users)
        ok = (self.on_air.live_until[streamer] > t) & (streamer != exclude[owner])
        owner, streamer = owner[ok], streamer[ok]
        key = np.log(count[ok]) + self.rng_choices.gumbel(size=len(owner))
        order = np.lexsort((-key, owner))
        chosen, first = np.unique(owner[order], return_index=True)
        pick = np.full(len(users), -1, np.int64)
        pick[chosen] = streamer[order][first]
        return pick

    def explore(self, users: np.ndarray, exclude: np.ndarray, live: LiveStreamers) -> np.ndarray:
        """For each user, a live streamer other than ``exclude``: among a few candidates drawn by
        popularity, the best by taste -- the user's, and for a viewer leaving a streamer
        (``exclude``) that streamer's too, at ``hop_similarity`` times the user's weight --
        plus Gumbel noise (a logit choice); or, when browsing, any live streamer."""
        p, rng = self.params, self.rng_choices
        n = len(users)
        total = live.cumulative_popularity[-1] if n else 0.0
        drawn = np.searchsorted(live.cumulative_popularity, rng.random((n, p.candidates)) * total,
                                side="right")
        candidates = live.ids[np.minimum(drawn, len(live.ids) - 1)]
        utility = p.taste * self.taste(users, candidates) + rng.gumbel(size=candidates.shape)
        leaving = exclude >= 0
        if p.hop_similarity and leaving.any():  # hops follow co-watching
            utility[leaving] += p.taste * p.hop_similarity * np.einsum(
                "nd,nkd->nk", self.streamers.factors[exclude[leaving]],
                self.streamers.factors[candidates[leaving]])
        utility[candidates == exclude[:, None]] = -np.inf
        pick = candidates[np.arange(n), np.argmax(utility, axis=1)].astype(np.int64)
        browsed = live.ids[rng.integers(len(live.ids), size=n)] if n else pick
        browse = (rng.random(n) < p.browse_share) & (browsed != exclude)
        return np.where(browse, browsed, pick)

    def taste(self, users: np.ndarray, channels: np.ndarray) -> np.ndarray:
        """Latent taste match of each user (rows) with each of its streamers (n x k)."""
        return np.einsum("nd,nkd->nk", self.users.factors[users], self.streamers.factors[channels])

    def accept_from_slate(self, t: int, users: np.ndarray, live: LiveStreamers) -> np.ndarray:
        """Show each user the slate; the chosen streamer, or -1 where the user ignores it.

        Choice model (multinomial logit with an outside option): the streamer s shown at place
        i of u's slate (0 first) has utility ``accept_taste * taste(u, s) + accept_familiarity
        * log(1 + past rows of u with s) + accept_popularity * log popularity(s)
        - accept_position * log(1 + i)``; ignoring the slate has utility ``accept_outside``;
        the user takes the option of highest utility plus Gumbel noise. The user's own
        affinity -- taste and familiarity -- weighs more than popularity, and the first places
        are looked at more, so the chance to accept grows with how well the slate fits the
        user, best first. An empty slate (no recommendations) is neither counted nor drawn on.
        """
        slate = self.slate
        assert slate is not None
        shown = np.asarray(slate.recommend(users, live.ids, t), np.int64)
        if shown.shape[1] == 0:
            return np.full(len(users), -1, np.int64)
        options = self.choice_utilities(users, shown)
        choice = np.argmax(options + self.rng_acceptance.gumbel(size=options.shape), axis=1)
        chosen = np.where(choice > 0, shown[np.arange(len(users)), choice - 1], -1)
        slate.chosen(t, users, chosen)
        return chosen

    def choice_utilities(self, users: np.ndarray, shown: np.ndarray) -> np.ndarray:
        """(n, 1 + k): the utility of ignoring the slate (column 0) and of each streamer of
        each user's slate ``shown`` (n, k), now, by the choice model of
        :meth:`accept_from_slate`."""
        p = self.params
        familiarity = self.favourites.counts(np.repeat(users, shown.shape[1]), shown.ravel())
        utility = (self._affinity(self.taste(users, shown), familiarity.reshape(shown.shape),
                                  shown)
                   - p.accept_position * np.log1p(np.arange(shown.shape[1])))
        return np.column_stack([np.full(len(users), p.accept_outside), utility])

    def slate_affinity(self, users: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """(n, C): each user's utility, now, of taking each of the sorted ``candidates`` from
        a slate, before the term of its place (:meth:`choice_utilities`); the slate of the
        k highest, best first, is the one each user most likely accepts
        (:class:`livereplay.sim.oracle.Oracle`)."""
        taste = self.users.factors[users] @ self.streamers.factors[candidates].T
        affinity = self._affinity(taste, 0, candidates[None, :])  # as if never watched
        owner, streamer, rows = self.favourites.of_users(users)
        column = positions(candidates, streamer)
        held = column >= 0
        affinity[owner[held], column[held]] += self.params.accept_familiarity * np.log1p(
            rows[held])
        return affinity

    def _affinity(self, taste: np.ndarray, familiarity: np.ndarray | int,
                  streamers: np.ndarray) -> np.ndarray:
        """The choice model's utility of taking ``streamers`` from a slate, before the place:
        taste, familiarity (past rows of the pair) and popularity, by their weights."""
        p = self.params
        return (p.accept_taste * taste + p.accept_familiarity * np.log1p(familiarity)
                + p.accept_popularity * np.log(self.streamers.popularity[streamers]))

    def choice_probabilities(self, users: np.ndarray, shown: np.ndarray) -> np.ndarray:
        """(n, 1 + k): the exact probability that each user, shown the slate ``shown`` (n, k)
        now, ignores it (column 0) or takes each of its streamers (the logit of
        :meth:`choice_utilities`); any slate, shown or not, and nothing is drawn."""
        options = self.choice_utilities(users, shown)
        weight = np.exp(options - options.max(axis=1, keepdims=True))
        return weight / weight.sum(axis=1, keepdims=True)

    # --- running --------------------------------------------------------------------------
    def run(self, *, progress: bool = False) -> None:
        """Simulate ``params.n_steps`` steps, handing the rows to the sink step by step."""
        with tqdm(total=self.params.n_steps, disable=not progress, unit="step",
                  desc="simulating") as bar:
            self.env.process(self.broadcasting())
            self.env.process(self.audience(bar))
            if self.params.taste_drift:
                self.env.process(self.drifting())
            self.env.run(until=self.params.n_steps)


def simulate(params: SimParams, seed: int = 0, *, progress: bool = False,
             slate: Slate | None = None) -> SimulatedLog:
    """Simulate a platform with ``params`` from ``seed``, in memory: same seed, same log."""
    rows = _Rows()
    platform = Platform(params, seed, slate, rows)
    platform.run(progress=progress)
    return SimulatedLog(**rows.columns(), n_sessions=platform.n_sessions, params=params,
                        seed=seed, schedule=platform.on_air.schedule(params.n_steps))


def write_broadcasts(log_path: str | Path, broadcasts: Broadcasts) -> None:
    """Write the schedule of the simulated log ``log_path`` beside it."""
    write_schedule(schedule_path(log_path), streamer=broadcasts.streamer,
                   stream=broadcasts.stream, start=broadcasts.start, stop=broadcasts.stop)


def simulate_to_csv(params: SimParams, path: str | Path, seed: int = 0, *,
                    progress: bool = False, batch_rows: int = 1 << 20) -> LogSummary:
    """Simulate as :func:`simulate` does and write the log to ``path`` as it goes -- the
    bytes ``simulate(params, seed).write_csv(path)`` would write, the schedule beside it too
    -- holding only a batch of about ``batch_rows`` rows, for logs too large to keep in
    memory. The file is written under a temporary name and renamed when complete, so a failed
    run leaves no partial log.
    """
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        rows = _CsvRows(partial, params, batch_rows)
        platform = Platform(params, seed, rows=rows)
        platform.run(progress=progress)
        rows.close()
        write_broadcasts(path, platform.on_air.schedule(params.n_steps))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return LogSummary(rows.n_rows, int(rows.users_seen.sum()), int(rows.streamers_seen.sum()),
                      platform.n_sessions)
