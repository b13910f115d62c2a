"""Importing timestamped watch logs: any log of (user, streamer, start, stop or duration) and
KuaiLive, into a log file and the schedule beside it.

A watch event becomes a log row ``user, stream, streamer, start, stop`` in steps of
``step_minutes``: step 0 begins at ``origin`` (by default midnight UTC of the first event's
day, so that days of ``--days`` are calendar days), ``start`` is the step the event begins
in, and ``stop`` the first step after it ends (at least ``start + 1``: a row covers every
step the user watched in, however briefly). The broadcast (``stream``) is a column of the
file where it has one; otherwise a streamer's events that overlap or touch in time form one
broadcast, named ``STREAMER:K`` (its K-th). A schedule file (the platform's record of when
each broadcast was on air) becomes the log's schedule (:mod:`livereplay.schedule`) in the
same steps: from the step its broadcast begins in to the first step after it ends, within
the log's steps (a broadcast on air only before step 0 or after the last row is left out;
one that began before step 0 starts at 0, one that ends after the last row stops there).

KuaiLive (Kuaishou, 2025) is the generic import with its own column names
(:data:`KUAILIVE`): ``click.csv`` is the watch log (``timestamp`` plus ``watch_live_time``,
milliseconds; ``live_id`` is the broadcast) and ``room.csv`` the schedule
(``start_timestamp``, ``end_timestamp``). Both files are read a block at a time
(:mod:`livereplay.columns`), and the rows are written in the watch log's order; the log
loader then numbers ids by first appearance in time, as for the Twitch files.

Clicks whose broadcast the schedule does not list, and clicks whose streamer is not their
broadcast's, are counted and reported, and kept: they are real watches, and the platform's
record is what is incomplete; under availability ``schedule`` such a click's streamer is
simply not a candidate unless another broadcast of it is on air, which coverage reports.
Likes, comments and gifts are not imported.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "watch.csv").write_text("u,s,t,d\\nann,x,0,1200\\nbob,x,600,60\\n")
>>> report = import_events(folder / "watch.csv", EventColumns(user="u", item="s", start="t",
...                        duration="d"), folder / "log.csv", time_unit="s", step_minutes=10)
>>> print((folder / "log.csv").read_text(), end="")
ann,x:0,x,0,2
bob,x:0,x,1,2
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import Block, first_bad, read_columns, write_table
from .errors import LogFormatError, ReplayError
from .schedule import schedule_path, write_schedule

TIME_UNITS = {"s": 1, "ms": 1000}
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class EventColumns:
    """Which columns of a watch log hold what: ``stop`` (an end time) or ``duration`` (a
    length in the same unit), one of the two; ``broadcast`` is optional."""

    user: str
    item: str
    start: str
    stop: str | None = None
    duration: str | None = None
    broadcast: str | None = None

    def __post_init__(self) -> None:
        if (self.stop is None) == (self.duration is None):
            raise ReplayError("give the column of either the end time (--stop) or the "
                              "duration (--duration) of each event")


@dataclass(frozen=True)
class ScheduleColumns:
    """Which columns of a schedule file hold what; ``item`` and ``broadcast`` are named as in
    the watch log."""

    item: str
    start: str
    stop: str
    broadcast: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A public log's files and columns."""

    events: str
    event_columns: EventColumns
    schedule: str
    schedule_columns: ScheduleColumns
    time_unit: str


#: KuaiLive's files and columns (github.com/imgkkk574/KuaiLive)
KUAILIVE = Dataset(
    events="click.csv",
    event_columns=EventColumns(user="user_id", item="streamer_id", start="timestamp",
                               duration="watch_live_time", broadcast="live_id"),
    schedule="room.csv",
    schedule_columns=ScheduleColumns(item="streamer_id", start="start_timestamp",
                                     stop="end_timestamp", broadcast="live_id"),
    time_unit="ms")


@dataclass
class ImportReport:
    """What an import wrote and what it noticed."""

    rows: int
    users: int
    streamers: int
    steps: int
    origin: int
    time_unit: str
    step_minutes: int
    broadcasts: int | None = None
    broadcasts_outside: int = 0
    not_in_schedule: int = 0
    other_streamer: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        """What was written (one line) and what was noticed (a line each)."""
        origin = time.gmtime(self.origin // TIME_UNITS[self.time_unit])
        lines = [f"{self.rows:,} rows, {self.users:,} users, {self.streamers:,} streamers, "
                 f"{self.steps:,} steps of {self.step_minutes} minutes from "
                 f"{time.strftime('%Y-%m-%d %H:%M UTC', origin)} (time {self.origin} "
                 f"{self.time_unit}); {self.seconds:.1f} s, "
                 f"{self.rows / max(self.seconds, 1e-9):,.0f} rows/s"]
        if self.broadcasts is not None:
            lines.append(f"schedule: {self.broadcasts:,} broadcasts"
                         + (f" ({self.broadcasts_outside:,} on air only before step 0 or "
                            "after the last row, left out)" if self.broadcasts_outside
                            else ""))
        if self.not_in_schedule:
            lines.append(f"{self.not_in_schedule:,} rows watch a broadcast the schedule does "
                         "not list (kept)")
        if self.other_streamer:
            lines.append(f"{self.other_streamer:,} rows name a streamer other than their "
                         "broadcast's in the schedule (kept, with the row's streamer)")
        return "\n".join(lines)


def import_kuailive(folder: str | Path, out: str | Path, *, step_minutes: int = 10,
                    origin: int | None = None) -> ImportReport:
    """Import a KuaiLive folder (``click.csv`` and ``room.csv``) into the log file ``out``
    and its schedule beside it (:func:`import_events` with :data:`KUAILIVE`'s columns)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LogFormatError(f"{folder}: no such folder")
    return import_events(folder / KUAILIVE.events, KUAILIVE.event_columns, out,
                         time_unit=KUAILIVE.time_unit, step_minutes=step_minutes,
                         schedule=folder / KUAILIVE.schedule,
                         schedule_columns=KUAILIVE.schedule_columns, origin=origin)


def import_events(events: str | Path, columns: EventColumns, out: str | Path, *,
                  time_unit: str, step_minutes: int, schedule: str | Path | None = None,
                  schedule_columns: ScheduleColumns | None = None,
                  origin: int | None = None) -> ImportReport:
    """Import the watch log ``events`` (a CSV with a header) into the log file ``out``
    (headerless ``user,stream,streamer,start,stop``) and, with ``schedule``, the schedule
    beside it; returns what was written. Times are integers in ``time_unit`` (``s`` or
    ``ms``); ``origin`` is the time of step 0 (default: midnight UTC of the first event)."""
    began = time.perf_counter()
    if time_unit not in TIME_UNITS:
        raise ReplayError(f"unknown time unit {time_unit!r}; choose from {', '.join(TIME_UNITS)}")
    if step_minutes < 1:
        raise ReplayError(f"--step-minutes must be a positive integer, not {step_minutes}")
    step_length = step_minutes * 60 * TIME_UNITS[time_unit]
    events = Path(events)
    rows = _read_events(events, columns)
    if origin is None:
        day = SECONDS_PER_DAY * TIME_UNITS[time_unit]
        origin = int(rows["start"].min()) // day * day
    first_bad(events, 2, rows["start"] < origin,
              lambda row: f"{columns.start} {rows['start'][row]} is before the origin {origin}")
    start = (rows["start"] - origin) // step_length
    stop = np.maximum(start + 1, -((origin - rows["stop"]) // step_length))
    if stop.max() > np.iinfo(np.int32).max:
        raise LogFormatError(f"{events}: the events span more than 2^31 steps of "
                             f"{step_minutes} minutes: is the time unit {time_unit!r} right?")
    streamer = rows["item"]
    stream = rows["broadcast"] if columns.broadcast else _derived_broadcasts(streamer, start, stop)
    report = ImportReport(rows=len(start), users=len(pc.unique(rows["user"])),
                          streamers=len(pc.unique(streamer)), steps=int(stop.max()),
                          origin=origin, time_unit=time_unit, step_minutes=step_minutes)
    out = Path(out)
    if schedule is not None:
        if schedule_columns is None:
            raise ReplayError("a schedule file needs its columns (ScheduleColumns)")
        _import_schedule(Path(schedule), schedule_columns, columns, report, out,
                         origin=origin, step_length=step_length, streamer=streamer,
                         stream=stream)
    table = pa.table({"user": rows["user"], "stream": stream, "streamer": streamer,
                      "start": pa.array(start), "stop": pa.array(stop)})
    write_table(out, table, header=False)
    report.seconds = time.perf_counter() - began
    return report


def _read_events(path: Path, columns: EventColumns) -> dict:
    """The watch log's columns, checked: ids non-empty, times whole numbers, no negative
    time, duration or end before start."""
    ids = [columns.user, columns.item] + ([columns.broadcast] if columns.broadcast else [])
    ends = columns.stop or columns.duration
    parts: dict[str, list] = {key: [] for key in ("user", "item", "broadcast", "start", "stop")}
    for block in read_columns(path, ids=ids, integers=[columns.start, ends]):
        start = block.integers[columns.start]
        _no_negative(path, block, columns.start, "time")
        if columns.duration:
            _no_negative(path, block, columns.duration, "watch time")
            duration = block.integers[columns.duration]
            first_bad(path, block.first_line, duration > np.iinfo(np.int64).max - start,
                      lambda row: f"end past int64: {columns.start} {start[row]} + "
                                  f"{columns.duration} {duration[row]}")
            stop = start + duration
        else:
            stop = block.integers[columns.stop]
            first_bad(path, block.first_line, stop < start,
                      lambda row: f"{columns.stop} {stop[row]} is before {columns.start} "
                                  f"{start[row]}")
        parts["user"].append(block.ids[columns.user])
        parts["item"].append(block.ids[columns.item])
        if columns.broadcast:
            parts["broadcast"].append(block.ids[columns.broadcast])
        parts["start"].append(start)
        parts["stop"].append(stop)
    if not parts["start"] or not sum(map(len, parts["start"])):
        raise LogFormatError(f"{path}: no rows")
    return {key: (pa.concat_arrays(values) if key in ("user", "item", "broadcast")
                  else np.concatenate(values)) if values else None
            for key, values in parts.items()}


def _no_negative(path: Path, block: Block, column: str, what: str) -> None:
    values = block.integers[column]
    first_bad(path, block.first_line, values < 0,
              lambda row: f"negative {what}: {column} {values[row]}")


def _derived_broadcasts(streamer: pa.Array, start: np.ndarray, stop: np.ndarray) -> pa.Array:
    """``STREAMER:K`` for each row: a streamer's rows that overlap or touch in steps form
    its K-th broadcast (K from 0, in time order)."""
    codes = pc.dictionary_encode(streamer).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.lexsort((start, codes))
    code, lo, hi = codes[order], start[order], stop[order]
    # the running latest stop of each streamer's rows so far: keys grow with the code, so one
    # running maximum over all rows never mixes two streamers
    span = int(hi.max()) + 1
    reach = np.maximum.accumulate(code * span + hi) - code * span
    fresh = np.r_[True, (code[1:] != code[:-1]) | (lo[1:] > reach[:-1])]
    number = np.cumsum(fresh)
    first_of_streamer = np.r_[True, code[1:] != code[:-1]]
    k = number - np.maximum.accumulate(np.where(first_of_streamer, number, 0))
    index = np.empty(len(order), np.int64)
    index[order] = k
    return pc.binary_join_element_wise(pc.cast(streamer, pa.string()),
                                       pc.cast(pa.array(index), pa.string()), ":")


def _import_schedule(path: Path, columns: ScheduleColumns, event_columns: EventColumns,
                     report: ImportReport, out: Path, *, origin: int, step_length: int,
                     streamer: pa.Array, stream: pa.Array) -> None:
    """Read the schedule file, write it beside ``out`` in steps, and count the rows whose
    broadcast it does not list or lists with another streamer."""
    if (columns.broadcast is None) != (event_columns.broadcast is None):
        raise ReplayError("name the broadcast column in both the watch log and the schedule, "
                          "or in neither")
    ids = [columns.item] + ([columns.broadcast] if columns.broadcast else [])
    parts: dict[str, list] = {key: [] for key in ("item", "broadcast", "start", "stop")}
    for block in read_columns(path, ids=ids, integers=[columns.start, columns.stop]):
        begin, end = block.integers[columns.start], block.integers[columns.stop]
        _no_negative(path, block, columns.start, "time")
        first_bad(path, block.first_line, end < begin,
                  lambda row: f"broadcast ends before it starts: {columns.stop} {end[row]} < "
                              f"{columns.start} {begin[row]}")
        parts["item"].append(block.ids[columns.item])
        if columns.broadcast:
            parts["broadcast"].append(block.ids[columns.broadcast])
        parts["start"].append(begin)
        parts["stop"].append(end)
    if not parts["start"]:
        raise LogFormatError(f"{path}: no broadcasts")
    item = pa.concat_arrays(parts["item"])
    begin, end = np.concatenate(parts["start"]), np.concatenate(parts["stop"])
    start = np.maximum((begin - origin) // step_length, 0)
    stop = np.minimum(np.maximum(start + 1, -((origin - end) // step_length)), report.steps)
    kept = (end > origin) & (start < report.steps)  # on air during the log's steps
    if columns.broadcast:
        broadcast = pa.concat_arrays(parts["broadcast"])
        _check_unique(path, broadcast, columns.broadcast)
        listed = pc.index_in(stream, value_set=broadcast)
        report.not_in_schedule = listed.null_count
        found = pc.is_valid(listed)
        owner = item.take(pc.filter(listed, found))
        report.other_streamer = int(pc.sum(pc.not_equal(owner, pc.filter(streamer, found)))
                                    .as_py() or 0)
    else:
        broadcast = _derived_broadcasts(item, start, stop)
    report.broadcasts = int(kept.sum())
    report.broadcasts_outside = len(kept) - report.broadcasts
    mask = pa.array(kept)
    write_schedule(schedule_path(out), streamer=item.filter(mask),
                   stream=broadcast.filter(mask), start=start[kept], stop=stop[kept])


def _check_unique(path: Path, broadcast: pa.Array, column: str) -> None:
    """One-line error naming the line of a broadcast listed a second time."""
    codes = pc.dictionary_encode(broadcast).indices.to_numpy(zero_copy_only=False)
    seen = np.zeros(int(codes.max(initial=-1)) + 1, np.int64)
    np.add.at(seen, codes, 1)
    if (seen > 1).any():
        order = np.argsort(codes, kind="stable")
        repeated = np.flatnonzero(np.r_[False, codes[order][1:] == codes[order][:-1]])
        row = int(order[repeated].min())
        raise LogFormatError(f"{path}: line {row + 2}: broadcast {column} "
                             f"{broadcast[row].as_py()!r} listed a second time")
