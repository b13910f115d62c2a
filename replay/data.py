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
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .arrays import distinct, pair_keys, positions
from .availability import LiveIndex, Spans
from .errors import LogFormatError
from .schedule import Schedule, read_schedule, schedule_path

COLUMNS = ("user", "stream", "streamer", "start", "stop")
ID_COLUMNS = ("user", "stream", "streamer")
STEPS_PER_DAY = 144
CHUNK_BYTES = 64 << 20  # text read at a time
_MAX_TIME = np.iinfo(np.int32).max
# a time as the fast reader takes it: decimal ASCII digits, a sign, spaces or tabs around
_DECIMAL = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*", re.ASCII)


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
    A broadcast is a (streamer, stream) pair. ``schedule`` is the platform's record of when
    each streamer was on air, where the log has one (:mod:`livereplay.schedule`).
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
    schedule: Schedule | None = None

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
        encoder = _Encoder()
        encoder.add(*columns[:3], *(c.to_numpy(zero_copy_only=False) for c in columns[3:]))
        return encoder.finish(source=source, skipped=dict(skipped))

    @cached_property
    def live(self) -> LiveIndex:
        """The index of the streamers live at each step (A_t), built on first use
        (:mod:`livereplay.availability`)."""
        return LiveIndex.build(user=self.user, streamer=self.streamer, start=self.start,
                               stop=self.stop)

    @cached_property
    def spans(self) -> Spans:
        """The broadcast-span index of this log, built on first use (:class:`Spans`)."""
        return Spans.build(user=self.user, stream=self.stream, streamer=self.streamer,
                           start=self.start, stop=self.stop)

    @cached_property
    def seen_before(self) -> np.ndarray:
        """For each row, whether its user watched its streamer in a row that started at an
        earlier step (the ``repeat`` split of the ``starts`` protocol). Rows come sorted by
        start, so a pair's first row (numbered by a hash of the pairs, in row order) has its
        earliest start."""
        pair, _ = pd.factorize(pair_keys(self.user, self.streamer))
        first_row = np.empty(int(pair.max(initial=-1)) + 1, np.int64)
        first_row[pair[::-1]] = np.arange(len(pair) - 1, -1, -1)  # last write wins: the first
        return self.start[first_row[pair]] < self.start

    def cut(self, step: int) -> "Log":
        """The log as it would be at ``step``: rows starting at or after it dropped, stops
        clipped to it (the schedule's too), and ids that appear only later forgotten; with a
        schedule, streamers keep their names, as the schedule's ids count from them."""
        rows = self.subset(self.start < step)

        def known(name: str) -> pa.Array:
            names = getattr(self, f"{name}_names")
            if name == "streamer" and self.schedule is not None:
                return names
            return names[: int(getattr(rows, name).max(initial=-1)) + 1]

        return Log(user=rows.user, stream=rows.stream, streamer=rows.streamer, start=rows.start,
                   stop=np.minimum(rows.stop, step).astype(np.int32), user_names=known("user"),
                   stream_names=known("stream"), streamer_names=known("streamer"),
                   source=f"{self.source}[:{step}]", report=self.report,
                   schedule=None if self.schedule is None else self.schedule.until(step))

    def subset(self, keep: np.ndarray) -> "Log":
        """The rows where ``keep`` is True, with the same ids, names and schedule."""
        return Log(user=self.user[keep], stream=self.stream[keep], streamer=self.streamer[keep],
                   start=self.start[keep], stop=self.stop[keep], user_names=self.user_names,
                   stream_names=self.stream_names, streamer_names=self.streamer_names,
                   source=self.source, report=self.report, schedule=self.schedule)

    def with_schedule(self, path: str | Path) -> "Log":
        """This log with the schedule of the file ``path`` (:mod:`livereplay.schedule`)."""
        return replace(self, schedule=read_schedule(path, self.streamer_names, self.n_steps))

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


class _Encoder:
    """Rows fed in chunks, encoded into a :class:`Log` at the end.

    Each chunk's ids are dictionary-encoded as they come (its codes and its distinct names
    kept); :meth:`finish` encodes the chunks' distinct names once more to give every id one
    code across chunks, then numbers ids by first appearance in time. No step holds the text
    of every row, so memory follows the rows' codes and the distinct names per chunk.
    """

    def __init__(self) -> None:
        self.codes: dict[str, list[np.ndarray]] = {name: [] for name in ID_COLUMNS}
        self.names: dict[str, list[pa.Array]] = {name: [] for name in ID_COLUMNS}
        self.times: dict[str, list[np.ndarray]] = {"start": [], "stop": []}

    def add(self, user: pa.Array, stream: pa.Array, streamer: pa.Array, start: np.ndarray,
            stop: np.ndarray) -> None:
        """Append a chunk of valid rows (file order)."""
        for name, column in zip(ID_COLUMNS, (user, stream, streamer)):
            encoded = pc.dictionary_encode(column)
            self.codes[name].append(encoded.indices.to_numpy(zero_copy_only=False)
                                    .astype(np.int32))
            self.names[name].append(encoded.dictionary)
        self.times["start"].append(np.asarray(start, np.int32))
        self.times["stop"].append(np.asarray(stop, np.int32))

    @property
    def n_rows(self) -> int:
        return sum(len(codes) for codes in self.codes["user"])

    def finish(self, *, source: str, skipped: dict[str, int]) -> Log:
        """Sort rows by (start, position), map ids densely, and drop exact duplicates."""
        if not self.n_rows:
            raise LogFormatError(f"{source}: no rows")
        starts = _joined(self.times.pop("start"))
        order = np.argsort(starts, kind="stable")
        starts = starts[order]
        stops = _joined(self.times.pop("stop"))[order]
        def dense(name: str) -> tuple[np.ndarray, pa.Array]:
            return _dense_ids(*self._global_codes(name), order)

        # the three id columns side by side: Arrow's hashing and numpy's sorts release the GIL
        with ThreadPoolExecutor(max_workers=len(ID_COLUMNS)) as pool:
            encoded = dict(zip(ID_COLUMNS, pool.map(dense, ID_COLUMNS)))
        del order
        columns = {name: ids for name, (ids, _) in encoded.items()}
        names = {name: id_names for name, (_, id_names) in encoded.items()}
        del encoded
        duplicate = _duplicates(columns["user"], columns["streamer"], starts, stops,
                                columns["stream"])
        n_duplicates = int(duplicate.sum())
        if n_duplicates:
            keep = ~duplicate
            columns = {name: codes[keep] for name, codes in columns.items()}
            starts, stops = starts[keep], stops[keep]
        return Log(**columns, start=starts, stop=stops,
                   **{f"{name}_names": names[name] for name in ID_COLUMNS}, source=source,
                   report=LoadReport(duplicates=n_duplicates, skipped=skipped))

    def _global_codes(self, name: str) -> tuple[np.ndarray, pa.Array]:
        """Codes of ``name`` over all rows (file order), one per distinct name, and those
        names; the chunks' parts are released as they are used."""
        chunk_names = self.names.pop(name)
        encoded = pc.dictionary_encode(pa.concat_arrays(chunk_names))
        of_entry = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32)
        chunks = self.codes.pop(name)
        codes = np.empty(sum(map(len, chunks)), np.int32)
        row = entry = 0
        for chunk, names in zip(chunks, chunk_names):
            codes[row:row + len(chunk)] = of_entry[entry + chunk]
            row, entry = row + len(chunk), entry + len(names)
        return codes, encoded.dictionary


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The parts as one int32 array (emptied list: the parts are released)."""
    joined = np.concatenate(parts) if parts else np.empty(0, np.int32)
    parts.clear()
    return joined


def _dense_ids(codes: np.ndarray, names: pa.Array,
               order: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Dense ids of the rows' ``codes`` (into ``names``) numbered by first appearance in
    ``order``, in that order, and their names."""
    codes = codes[order]
    first = np.empty(len(names), np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # last write wins: first position
    by_appearance = np.argsort(first)
    renumber = np.empty(len(by_appearance), np.int32)
    renumber[by_appearance] = np.arange(len(by_appearance), dtype=np.int32)
    return renumber[codes], names.take(pa.array(by_appearance))


def _duplicates(user: np.ndarray, streamer: np.ndarray, start: np.ndarray, stop: np.ndarray,
                stream: np.ndarray) -> np.ndarray:
    """Mask of rows that repeat an earlier row exactly (all five fields).

    Only rows sharing (user, streamer, start) with another row can be duplicates; those few
    are compared in full."""
    key = (user.astype(np.int64) * (int(streamer.max()) + 1) + streamer) \
        * (int(start.max()) + 1) + start
    ordered = np.sort(key)
    repeated = distinct(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    duplicate = np.zeros(len(user), dtype=bool)
    if len(repeated):
        suspects = np.flatnonzero(positions(repeated, key) >= 0)
        frame = pd.DataFrame({"key": key[suspects], "stop": stop[suspects],
                              "stream": stream[suspects]})
        duplicate[suspects] = frame.duplicated().to_numpy()
    return duplicate


def read_csv(path: str | Path, *, skip_bad_rows: bool = False,
             chunk_bytes: int = CHUNK_BYTES) -> Log:
    """Parse a log file (headerless, or with a ``user,stream,streamer,start,stop`` header).

    The file is read in chunks of about ``chunk_bytes``, so memory follows the encoded rows,
    never the file's text; the result does not depend on the chunk size. A bad row is a
    :class:`LogFormatError` naming the file, line and reason, unless ``skip_bad_rows``, in
    which case the count skipped per reason is in ``log.report``. A schedule beside the file
    (:func:`livereplay.schedule.schedule_path`) comes with the log.
    """
    log = _read_rows(Path(path), skip_bad_rows=skip_bad_rows, chunk_bytes=chunk_bytes)
    beside = schedule_path(path)
    return log.with_schedule(beside) if beside.is_file() else log


def _read_rows(path: Path, *, skip_bad_rows: bool, chunk_bytes: int) -> Log:
    """The rows of a log file (what :func:`read_csv` reads, its schedule aside)."""
    source = str(path)
    if not path.exists():
        raise LogFormatError(f"{source}: no such file")
    if not path.is_file():
        raise LogFormatError(f"{source}: not a file")
    header = _has_header(path)
    encoder = _Encoder()
    try:
        for batch in _fast_batches(path, header=header, chunk_bytes=chunk_bytes):
            columns = [batch.column(name) for name in COLUMNS]
            starts, stops = (_decimal_times(c) for c in columns[3:])
            if _bad_reasons(columns[0], columns[2], starts, stops):
                raise ValueError("bad row")  # the careful reader below says which
            encoder.add(*columns[:3], starts, stops)
    except (pa.ArrowInvalid, ValueError):
        encoder = None  # malformed somewhere: the careful reader below says where
    if encoder is not None:
        if not encoder.n_rows:
            raise LogFormatError(f"{source}: empty file (no rows)")
        return encoder.finish(source=source, skipped={})
    return _read_csv_carefully(path, header=header, skip_bad_rows=skip_bad_rows,
                               chunk_bytes=chunk_bytes)


def _fast_batches(path: Path, *, header: bool, chunk_bytes: int) -> Iterator[pa.RecordBatch]:
    """The file's rows in record batches of about ``chunk_bytes`` of text (Arrow's reader),
    the times as text: Arrow's integer parser also takes hexadecimal (``0x1f``), so
    :func:`_decimal_times` reads them."""
    if path.stat().st_size == 0:
        return
    yield from pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=list(COLUMNS), skip_rows=int(header),
                                       block_size=chunk_bytes),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(COLUMNS, pa.string()),
            null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False),
    )


def _decimal_times(column: pa.Array) -> np.ndarray:
    """The int64 values of a column of times written in decimal digits; ValueError when one
    is not (the careful reader then says which)."""
    if any(pc.any(pc.match_substring(column, x)).as_py() for x in "xX"):
        raise ValueError("hexadecimal time")
    return pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)


def _has_header(path: Path) -> bool:
    """Whether the file's first record with fields is ``user,stream,streamer,start,stop``
    (in any case, spaces around names), read as the careful reader reads it."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        try:
            fields = next((fields for fields in csv.reader(f) if fields), [])
        except csv.Error:  # a field past the csv module's limit: not a header
            return False
    return [x.strip().lower() for x in fields] == list(COLUMNS)


def _read_csv_carefully(path: Path, *, header: bool, skip_bad_rows: bool,
                        chunk_bytes: int) -> Log:
    """Line-by-line reader used only when the fast reader refuses a file: names the line
    where the bad row starts. A field may be as long as the rows the fast reader takes (up
    to twice ``chunk_bytes``). Valid rows go to the encoder in chunks of about
    ``chunk_bytes`` of text."""
    source = str(path)
    encoder = _Encoder()
    rows: list[list[str]] = []
    pending_bytes = 0
    skipped: Counter[str] = Counter()
    header_pending = header
    line = ended = 0  # where the current row starts, and the line the previous one ended on
    field_limit = csv.field_size_limit(max(csv.field_size_limit(), 2 * chunk_bytes))
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="strict") as f:
            reader = csv.reader(f)
            for fields in reader:
                line, ended = ended + 1, reader.line_num
                if not fields:
                    continue
                if header_pending:
                    header_pending = False
                    continue
                reason = _row_problem(fields)
                if reason is None:
                    rows.append(fields)
                    pending_bytes += sum(map(len, fields)) + len(fields)
                    if pending_bytes >= chunk_bytes:
                        _add_text_rows(encoder, rows)
                        pending_bytes = 0
                elif skip_bad_rows:
                    skipped[_reason_kind(reason)] += 1
                else:
                    raise LogFormatError(f"{source}: line {line}: {reason}")
    except UnicodeDecodeError as error:
        raise LogFormatError(f"{source}: not UTF-8 text ({error.reason})") from None
    except csv.Error as error:
        raise LogFormatError(f"{source}: line {ended + 1}: {error}") from None
    finally:
        csv.field_size_limit(field_limit)
    _add_text_rows(encoder, rows)
    if not encoder.n_rows:
        raise LogFormatError(f"{source}: empty file (no rows)" if not skipped
                             else f"{source}: every row is bad ({dict(skipped)})")
    return encoder.finish(source=source, skipped=dict(skipped))


def _add_text_rows(encoder: _Encoder, rows: list[list[str]]) -> None:
    """Give valid rows of text to ``encoder`` and empty ``rows``."""
    if rows:
        user, stream, streamer, start, stop = zip(*rows)
        encoder.add(pa.array(user, pa.string()), pa.array(stream, pa.string()),
                    pa.array(streamer, pa.string()),
                    np.array([int(x) for x in start], np.int64),
                    np.array([int(x) for x in stop], np.int64))
        rows.clear()


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
        if not _DECIMAL.fullmatch(text):
            return f"non-integer time: {name} {text!r}"
        value = int(text)
        if value < 0:
            return f"negative time: {name} {value}"
        if value > _MAX_TIME:
            return f"time too large: {name} {value}"
        times.append(value)
    if times[1] <= times[0]:
        return f"stop <= start: {times[1]} <= {times[0]}"
    return None
