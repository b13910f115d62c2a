"""The broadcast schedule: when each streamer was on air, as the platform itself recorded it.

A schedule row is ``streamer, stream, start, stop``: the streamer's broadcast ``stream`` was
on air during steps ``start <= t < stop`` (half-open, as log rows). A log file may have one
beside it, ``NAME.schedule.csv`` for ``NAME.csv`` (:func:`schedule_path`), a CSV with that
header; the importers (:mod:`livereplay.importers`) and the simulator write it, and
:func:`livereplay.data.read_csv` reads it with the log. It gives the candidates of
availability ``schedule``: the streamers on air at t, leak-free (no viewer's row is read)
and complete (a broadcast nobody watches is on air all the same).

A log's schedule covers the log's steps 0 .. T-1 (nothing is ranked after them): broadcasts
that begin at T or later are left out and the others' stops are clipped to T. Streamers the
schedule names and no row of the log watches get the ids after the log's own, in order of
their first broadcast's start (ties: file order), so the rows' ids are those of the log read
without its schedule; ``extra_names`` holds their names.

>>> schedule = Schedule.build(streamer=np.array([0, 2, 0]), start=np.array([0, 1, 3]),
...                           stop=np.array([2, 3, 4]), extra_names=pa.array(["z"]))
>>> schedule.at(1), schedule.at(2), schedule.at(9), schedule.sizes()
(array([0, 2], dtype=int32), array([2], dtype=int32), array([], dtype=int32), array([1, 2, 1, 1]))
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .availability import step_index
from .columns import first_bad, read_columns, write_table
from .errors import LogFormatError

COLUMNS = ("streamer", "stream", "start", "stop")
_MAX_STEP = np.iinfo(np.int32).max


def schedule_path(log_path: str | Path) -> Path:
    """Where the schedule of a log file lives: ``NAME.schedule.csv`` beside ``NAME.csv``.

    >>> schedule_path("runs/kuailive.csv").as_posix()
    'runs/kuailive.schedule.csv'
    """
    path = Path(log_path)
    return path.with_name(f"{path.stem if path.suffix else path.name}.schedule.csv")


@dataclass(frozen=True, eq=False)
class Schedule:
    """Broadcasts (``streamer`` dense ids, ``start``/``stop`` steps, in file order) and
    their CSR by step: ``streamers[offsets[t]:offsets[t+1]]`` are on air at t, sorted."""

    streamer: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    extra_names: pa.Array
    offsets: np.ndarray
    streamers: np.ndarray

    @classmethod
    def build(cls, *, streamer: np.ndarray, start: np.ndarray, stop: np.ndarray,
              extra_names: pa.Array) -> "Schedule":
        """The schedule of broadcasts (streamer, start, stop) with its index by step."""
        streamer = np.asarray(streamer, np.int32)
        offsets, streamers = step_index(start, stop, streamer,
                                        int(streamer.max(initial=-1)) + 1)
        return cls(streamer=streamer, start=np.asarray(start, np.int32),
                   stop=np.asarray(stop, np.int32), extra_names=extra_names, offsets=offsets,
                   streamers=streamers)

    @property
    def n_steps(self) -> int:
        return len(self.offsets) - 1

    def at(self, step: int) -> np.ndarray:
        """The streamers on air at ``step``, sorted (none past the schedule's end)."""
        if not 0 <= step < self.n_steps:
            return np.empty(0, np.int32)
        return self.streamers[self.offsets[step]:self.offsets[step + 1]].copy()

    def sizes(self) -> np.ndarray:
        """How many streamers are on air at every step."""
        return np.diff(self.offsets)

    @staticmethod
    def named(names: pa.Array | np.ndarray, start: np.ndarray, stop: np.ndarray,
              streamer_names: pa.Array, n_steps: int) -> "Schedule":
        """The schedule over steps 0 .. ``n_steps``-1 of broadcasts whose streamers are
        ``names`` (the source's ids), given the ids of ``streamer_names`` (the log's, by id)
        and, for the others, the ids after them (by first broadcast)."""
        start, stop = np.asarray(start), np.asarray(stop)
        within = start < n_steps
        return _named(pa.array(names).filter(pa.array(within)), start[within],
                      np.minimum(stop[within], n_steps), streamer_names)

    def until(self, step: int) -> "Schedule":
        """The schedule as known at ``step``: broadcasts begun before it, their stops clipped
        to it (what :meth:`livereplay.data.Log.cut` keeps)."""
        begun = self.start < step
        return Schedule.build(streamer=self.streamer[begun], start=self.start[begun],
                              stop=np.minimum(self.stop[begun], step),
                              extra_names=self.extra_names)


def read_schedule(path: str | Path, streamer_names: pa.Array, n_steps: int) -> Schedule:
    """The schedule in ``path`` over the steps 0 .. ``n_steps``-1 of a log whose streamers
    are ``streamer_names`` (:meth:`Schedule.named`); one-line errors name the line."""
    path = Path(path)
    parts: dict[str, list] = {name: [] for name in COLUMNS}
    for block in read_columns(path, ids=["streamer", "stream"], integers=["start", "stop"]):
        start, stop = block.integers["start"], block.integers["stop"]
        first_bad(path, block.first_line, start < 0, lambda row: f"negative start {start[row]}")
        first_bad(path, block.first_line, stop > _MAX_STEP,
                  lambda row: f"stop too large: {stop[row]}")
        first_bad(path, block.first_line, stop <= start,
                  lambda row: f"stop <= start: {stop[row]} <= {start[row]}")
        parts["streamer"].append(block.ids["streamer"])
        for name in ("start", "stop"):
            parts[name].append(block.integers[name])
    if not parts["start"] or not sum(map(len, parts["start"])):
        raise LogFormatError(f"{path}: no broadcasts")
    return Schedule.named(pa.concat_arrays(parts["streamer"]), np.concatenate(parts["start"]),
                          np.concatenate(parts["stop"]), streamer_names, n_steps)


def _named(names: pa.Array, start: np.ndarray, stop: np.ndarray,
           streamer_names: pa.Array) -> Schedule:
    names = pc.cast(names, pa.string())
    streamer = pc.index_in(names, value_set=pc.cast(streamer_names, pa.string()))
    streamer = streamer.to_numpy(zero_copy_only=False)
    unknown = np.isnan(streamer)  # null where the log has no such streamer
    streamer = np.where(unknown, -1, streamer).astype(np.int64)
    extra_names = pa.array([], pa.string())
    if unknown.any():
        rows = np.flatnonzero(unknown)
        rows = rows[np.argsort(start[rows], kind="stable")]  # by first broadcast, then file order
        encoded = pc.dictionary_encode(names.take(pa.array(rows)))
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        first = np.full(len(encoded.dictionary), len(codes))
        np.minimum.at(first, codes, np.arange(len(codes)))
        order = np.argsort(first, kind="stable")
        renumber = np.empty(len(order), np.int64)
        renumber[order] = np.arange(len(order))
        streamer[rows] = len(streamer_names) + renumber[codes]
        extra_names = encoded.dictionary.take(pa.array(order))
    return Schedule.build(streamer=streamer, start=start, stop=stop, extra_names=extra_names)


def write_schedule(path: str | Path, *, streamer: pa.Array | np.ndarray,
                   stream: pa.Array | np.ndarray, start: np.ndarray, stop: np.ndarray) -> None:
    """Write a schedule file (header ``streamer,stream,start,stop``), rows ordered by start
    (ties: the order given); written aside and renamed into place."""
    order = pa.array(np.argsort(start, kind="stable"))
    table = pa.table({"streamer": pa.array(streamer), "stream": pa.array(stream),
                      "start": pa.array(np.asarray(start, np.int64)),
                      "stop": pa.array(np.asarray(stop, np.int64))}).take(order)
    write_table(Path(path), table, header=True)
