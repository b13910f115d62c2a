"""The interaction log: loading, validation and dense ids.

A log row is ``user, stream, streamer, start, stop``: the user watched the streamer's broadcast
``stream`` during steps ``start <= t < stop`` (ten-minute steps, half-open). Users, streams and
streamers get dense ids in order of first appearance in time (ties broken by position in the
file), so a log cut at any step maps every earlier id exactly as the whole log does. Rows are
kept sorted the same way.

>>> log = read_csv(default_data_path())
>>> log.n_rows, log.n_users, log.n_streamers, log.n_streams, log.n_steps
(52141, 2151, 4705, 31562, 6148)
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .arrays import distinct, positions
from .availability import Availability, Spans
from .errors import LogFormatError

COLUMNS = ("user", "stream", "streamer", "start", "stop")
STEPS_PER_DAY = 144
_MAX_TIME = np.iinfo(np.int32).max


def default_data_path() -> Path:
    """The embedded Twitch sample (Rappaz, McAuley & Aberer, RecSys 2021)."""
    return Path(__file__).parent / "sample" / "twitch_sample_a.csv"


@dataclass(frozen=True)
class LoadReport:
    """What loading dropped: exact duplicate rows, and bad rows skipped (by reason)."""

    duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"{self.duplicates} exact duplicate rows dropped"] if self.duplicates else []
        parts += [f"{n} rows skipped: {reason}" for reason, n in sorted(self.skipped.items())]
        return "; ".join(parts)


@dataclass(frozen=True, eq=False)
class Log:
    """A validated log with dense ids, rows sorted by (start, position in the source).

    ``user``/``stream``/``streamer`` are int32 dense ids; ``start``/``stop`` int32 steps;
    ``user_names``/``stream_names``/``streamer_names`` map dense ids back to the source's ids.
    A broadcast is a (streamer, stream) pair.
    """

    user: np.ndarray
    stream: np.ndarray
    streamer: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    user_names: pa.Array
    stream_names: pa.Array
    streamer_names: pa.Array
    source: str = "<memory>"
    report: LoadReport = field(default_factory=LoadReport)

    @property
    def n_rows(self) -> int:
        return len(self.user)

    @property
    def n_users(self) -> int:
        return len(self.user_names)

    @property
    def n_streamers(self) -> int:
        return len(self.streamer_names)

    @property
    def n_streams(self) -> int:
        return len(self.stream_names)

    @property
    def n_steps(self) -> int:
        """T = max(stop): steps run 0 .. T-1."""
        return int(self.stop.max())

    @classmethod
    def from_columns(
        cls,
        user: Iterable[Any],
        stream: Iterable[Any],
        streamer: Iterable[Any],
        start: Iterable[Any],
        stop: Iterable[Any],
        *,
        source: str = "<memory>",
        skip_bad_rows: bool = False,
    ) -> "Log":
        """Build a log from five columns (rows in source order); bad rows are named by row number.

        >>> log = Log.from_columns(["a", "b"], [1, 2], ["x", "x"], [0, 1], [2, 3])
        >>> log.n_users, log.n_streamers, log.n_steps
        (2, 1, 3)
        """
        columns = [c if isinstance(c, pa.Array) else pa.array(np.asarray(c))
                   for c in (user, stream, streamer, start, stop)]
        if not all(pa.types.is_integer(c.type) for c in columns[3:]):
            raise LogFormatError(f"{source}: start and stop must be integer columns")
        starts, stops = (c.to_numpy(zero_copy_only=False) for c in columns[3:])
        bad = _bad_reasons(columns[0], columns[2], starts, stops)
        skipped: Counter[str] = Counter()
        if bad:
            first_row = min(bad)
            if not skip_bad_rows:
                raise LogFormatError(f"{source}: row {first_row + 1}: {bad[first_row]}")
            keep = np.ones(len(starts), dtype=bool)
            keep[list(bad)] = False
            skipped.update(_reason_kind(r) for r in bad.values())
            columns = [c.filter(pa.array(keep)) for c in columns]
        return _encode(*columns, source=source, skipped=dict(skipped))

    @cached_property
    def availability(self) -> Availability:
        """The availability index of this log, built on first use (:mod:`livereplay.availability`)."""
        return Availability.build(user=self.user, streamer=self.streamer, start=self.start,
                                  stop=self.stop)

    @cached_property
    def spans(self) -> Spans:
        """The broadcast-span index of this log, built on first use (:class:`Spans`)."""
        return Spans.build(user=self.user, stream=self.stream, streamer=self.streamer,
                           start=self.start, stop=self.stop)

    def cut(self, step: int) -> "Log":
        """The log as it would be at ``step``: rows starting at or after it dropped, stops
        clipped to it, and ids that appear only later forgotten."""
        rows = self.subset(self.start < step)

        def known(name: str) -> pa.Array:
            return getattr(self, f"{name}_names")[: int(getattr(rows, name).max(initial=-1)) + 1]

        return Log(user=rows.user, stream=rows.stream, streamer=rows.streamer, start=rows.start,
                   stop=np.minimum(rows.stop, step).astype(np.int32), user_names=known("user"),
                   stream_names=known("stream"), streamer_names=known("streamer"),
                   source=f"{self.source}[:{step}]", report=self.report)

    def subset(self, keep: np.ndarray) -> "Log":
        """The rows where ``keep`` is True, with the same ids and names."""
        return Log(user=self.user[keep], stream=self.stream[keep], streamer=self.streamer[keep],
                   start=self.start[keep], stop=self.stop[keep], user_names=self.user_names,
                   stream_names=self.stream_names, streamer_names=self.streamer_names,
                   source=self.source, report=self.report)

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame of dense ids (user, stream, streamer, start, stop)."""
        return pd.DataFrame({"user": self.user, "stream": self.stream, "streamer": self.streamer,
                             "start": self.start, "stop": self.stop})


def _bad_reasons(user: pa.Array, streamer: pa.Array, start: np.ndarray,
                 stop: np.ndarray) -> dict[int, str]:
    """Row index -> reason, for every row that breaks the data model (vectorised)."""
    bad: dict[int, str] = {}
    checks = [
        (pc.equal(pc.utf8_length(pc.cast(user, pa.string())), 0).to_numpy(zero_copy_only=False),
         lambda i: "empty user"),
        (pc.equal(pc.utf8_length(pc.cast(streamer, pa.string())), 0).to_numpy(zero_copy_only=False),
         lambda i: "empty streamer"),
        (start < 0, lambda i: f"negative time: start {start[i]}"),
        (stop < 0, lambda i: f"negative time: stop {stop[i]}"),
        (stop > _MAX_TIME, lambda i: f"time too large: stop {stop[i]}"),
        (stop <= start, lambda i: f"stop <= start: {stop[i]} <= {start[i]}"),
    ]
    for mask, reason in checks:
        for i in np.flatnonzero(mask):
            bad.setdefault(int(i), reason(i))
    return bad


def _reason_kind(reason: str) -> str:
    """The reason without its row-specific values (``kind: detail``), for counting skipped rows."""
    return reason.split(":")[0]


def _dense_ids(column: pa.Array, order: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Dense ids of ``column`` numbered by first appearance in ``order``, and their names."""
    encoded = pc.dictionary_encode(column)
    codes = encoded.indices.to_numpy(zero_copy_only=False)[order]
    first = np.empty(len(encoded.dictionary), np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # last write wins: first position
    by_appearance = np.argsort(first)
    renumber = np.empty_like(by_appearance)
    renumber[by_appearance] = np.arange(len(by_appearance))
    return renumber[codes].astype(np.int32), encoded.dictionary.take(pa.array(by_appearance))


def _duplicates(user: np.ndarray, streamer: np.ndarray, start: np.ndarray, stop: np.ndarray,
                stream: np.ndarray) -> np.ndarray:
    """Mask of rows that repeat an earlier row exactly (all five fields).

    Only rows sharing (user, streamer, start) with another row can be duplicates; those few
    are compared in full."""
    key = (user.astype(np.int64) * (int(streamer.max()) + 1) + streamer) \
        * (int(start.max()) + 1) + start
    ordered = np.sort(key)
    repeated = distinct(ordered[1:][ordered[1:] == ordered[:-1]])
    suspects = np.flatnonzero(positions(repeated, key) >= 0)
    duplicate = np.zeros(len(user), dtype=bool)
    if len(suspects):
        frame = pd.DataFrame({"key": key[suspects], "stop": stop[suspects],
                              "stream": stream[suspects]})
        duplicate[suspects] = frame.duplicated().to_numpy()
    return duplicate


def _encode(user: pa.Array, stream: pa.Array, streamer: pa.Array, start: pa.Array,
            stop: pa.Array, *, source: str, skipped: dict[str, int]) -> Log:
    """Sort rows by (start, position), map ids densely, and drop exact duplicates."""
    if len(user) == 0:
        raise LogFormatError(f"{source}: no rows")
    starts = start.to_numpy(zero_copy_only=False).astype(np.int32)
    order = np.argsort(starts, kind="stable")
    user_codes, user_names = _dense_ids(user, order)
    stream_codes, stream_names = _dense_ids(stream, order)
    streamer_codes, streamer_names = _dense_ids(streamer, order)
    starts = starts[order]
    stops = stop.to_numpy(zero_copy_only=False).astype(np.int32)[order]
    duplicate = _duplicates(user_codes, streamer_codes, starts, stops, stream_codes)
    n_duplicates = int(duplicate.sum())
    if n_duplicates:
        keep = ~duplicate
        user_codes, stream_codes, streamer_codes = (user_codes[keep], stream_codes[keep],
                                                    streamer_codes[keep])
        starts, stops = starts[keep], stops[keep]
    return Log(user=user_codes, stream=stream_codes, streamer=streamer_codes, start=starts,
               stop=stops, user_names=user_names, stream_names=stream_names,
               streamer_names=streamer_names,
               source=source, report=LoadReport(duplicates=n_duplicates, skipped=skipped))


def read_csv(path: str | Path, *, skip_bad_rows: bool = False) -> Log:
    """Parse a log file (headerless, or with a ``user,stream,streamer,start,stop`` header).

    A bad row is a :class:`LogFormatError` naming the file, line and reason, unless
    ``skip_bad_rows``, in which case the count skipped per reason is in ``log.report``.
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise LogFormatError(f"{source}: no such file")
    if not path.is_file():
        raise LogFormatError(f"{source}: not a file")
    header = _has_header(path)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=list(COLUMNS), skip_rows=int(header)),
            convert_options=pacsv.ConvertOptions(
                column_types={"user": pa.string(), "stream": pa.string(),
                              "streamer": pa.string(), "start": pa.int64(), "stop": pa.int64()},
                null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, ValueError):
        table = None  # malformed somewhere: the careful reader below says where
    if table is not None and table.num_rows == 0:
        raise LogFormatError(f"{source}: empty file (no rows)")
    if table is not None:
        columns = [table.column(name).combine_chunks() for name in COLUMNS]
        starts = columns[3].to_numpy(zero_copy_only=False)
        stops = columns[4].to_numpy(zero_copy_only=False)
        if not _bad_reasons(columns[0], columns[2], starts, stops):
            return _encode(*columns, source=source, skipped={})
    return _read_csv_carefully(path, header=header, skip_bad_rows=skip_bad_rows)


def _has_header(path: Path) -> bool:
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                fields = [x.strip().lower() for x in next(csv.reader([line]))]
                return fields == list(COLUMNS)
    return False


def _read_csv_carefully(path: Path, *, header: bool, skip_bad_rows: bool) -> Log:
    """Line-by-line reader used only when the fast reader refuses a file: names the bad line."""
    source = str(path)
    rows: list[list[str]] = []
    skipped: Counter[str] = Counter()
    header_pending = header
    with open(path, newline="", encoding="utf-8", errors="strict") as f:
        reader = csv.reader(f)
        try:
            for fields in reader:
                line = reader.line_num
                if not fields:
                    continue
                if header_pending:
                    header_pending = False
                    continue
                reason = _row_problem(fields)
                if reason is None:
                    rows.append(fields)
                elif skip_bad_rows:
                    skipped[_reason_kind(reason)] += 1
                else:
                    raise LogFormatError(f"{source}: line {line}: {reason}")
        except UnicodeDecodeError as error:
            raise LogFormatError(f"{source}: not UTF-8 text ({error.reason})") from None
        except csv.Error as error:
            raise LogFormatError(f"{source}: line {reader.line_num}: {error}") from None
    if not rows:
        raise LogFormatError(f"{source}: empty file (no rows)" if not skipped
                             else f"{source}: every row is bad ({dict(skipped)})")
    user, stream, streamer, start, stop = zip(*rows)
    return _encode(pa.array(user), pa.array(stream), pa.array(streamer),
                   pa.array([int(x) for x in start], pa.int64()),
                   pa.array([int(x) for x in stop], pa.int64()),
                   source=source, skipped=dict(skipped))


def _row_problem(fields: list[str]) -> str | None:
    """Why a parsed line is not a valid row (``kind: detail``), or None."""
    if len(fields) != len(COLUMNS):
        return f"wrong number of fields: {len(fields)}, expected {len(COLUMNS)}"
    if not fields[0]:
        return "empty user"
    if not fields[2]:
        return "empty streamer"
    times = []
    for name, text in zip(("start", "stop"), fields[3:]):
        try:
            value = int(text)
        except ValueError:
            return f"non-integer time: {name} {text!r}"
        if value < 0:
            return f"negative time: {name} {value}"
        if value > _MAX_TIME:
            return f"time too large: {name} {value}"
        times.append(value)
    if times[1] <= times[0]:
        return f"stop <= start: {times[1]} <= {times[0]}"
    return None
