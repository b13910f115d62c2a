"""Fuzzing the log loaders with generated files, against a reference parser written here.

Every generated file must either load to exactly the rows the reference parser accepts
(as a sorted multiset, after dropping exact duplicates) with the same report, or stop with
a one-line :class:`~livereplay.errors.LogFormatError` that names the file, the line of the
first bad row and its reason, as the reference says. Anything else is a failure: another
exception, a second line, a wrong row, a wrong line or reason, or a case that runs past
``LIMIT_SECONDS``.

The files mix valid rows with what goes wrong at the edges: random bytes, truncation,
byte-order marks, CRLF and lone CR, quotes (closed, doubled, stray, never closed), NUL
bytes, integers past 2^63, hexadecimal and non-ASCII digits, bytes that are not UTF-8,
Unicode ids, long lines, empty files and headers alone. The files with a header that the
importers read (watch logs, and the schedule beside a log) also come with their columns in
any order, extra columns, a column missing, blank lines, negative times and durations.

The loaders are the entries of :data:`LOADERS`: a name, a function from a path to a
:class:`~livereplay.data.Log`, the reference that says what it must give, and the files to
try. Another loader is fuzzed by appending an entry (with its own ``files`` when it reads
another format). ``tests/test_fuzz_loaders.py`` runs a few hundred cases of each entry;
this script runs many more and prints the counts:

    python benchmarks/fuzz_loaders.py              # 10,000 cases per loader
    python benchmarks/fuzz_loaders.py --cases 500
"""
from __future__ import annotations

import argparse
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Sequence

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from livereplay.data import CHUNK_BYTES, Log, read_csv
from livereplay.errors import LogFormatError
from livereplay.importers import EventColumns, import_events

COLUMNS = ("user", "stream", "streamer", "start", "stop")
MAX_TIME = 2**31 - 1
CSV_FIELD_LIMIT = 131072  # the csv module's default
LIMIT_SECONDS = 10.0
TIME = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*", re.ASCII)

# ---------------------------------------------------------------------------------------
# The reference parser: plain Python, one character at a time.


@dataclass(frozen=True)
class Expected:
    """What a loader must do with a file: load ``rows`` (with ``duplicates`` dropped and
    ``skipped`` rows by reason), or, when ``rows`` is None, refuse it with ``reason`` (at
    ``line`` when there is one). A file that is not UTF-8 (``reason`` "not UTF-8 text") may
    be refused at any bad row: where the decoding stops depends on how much is read ahead."""

    rows: list[tuple] | None = None
    duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    line: int | None = None
    reason: str | None = None


def records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line where it starts, fields) of each record of CSV ``text``; a blank line is a
    record without fields. Lines end at CRLF, CR or LF. A field that starts with a quote runs
    to the next quote not doubled (doubled quotes are one quote; line ends inside are kept),
    and what follows that quote up to the next comma or line end is added to it; a quote
    anywhere else is an ordinary character; a quote never closed runs to the end of the text."""
    line, i, n = 1, 0, len(text)
    while i < n:
        start_line, first, fields, value, quoted, closed = line, i, [], [], False, False
        while True:
            c = text[i] if i < n else None
            if quoted and not closed:
                if c is None:
                    break
                if c == '"':
                    if text[i + 1:i + 2] == '"':
                        value.append('"')
                        i += 1
                    else:
                        closed = True
                else:
                    if c == "\n" or (c == "\r" and text[i + 1:i + 2] != "\n"):
                        line += 1
                    value.append(c)
                i += 1
                continue
            if c is None or c in "\r\n":
                break
            if c == ",":
                fields.append("".join(value))
                value, quoted, closed = [], False, False
            elif c == '"' and not value and not quoted:
                quoted = True
            else:
                value.append(c)
            i += 1
        if i > first:
            fields.append("".join(value))
        if i < n:  # the line's end
            i += 2 if text[i:i + 2] == "\r\n" else 1
            line += 1
        yield start_line, fields


def row_problem(fields: list[str]) -> str | None:
    """Why the fields are not a row (the kind of problem), or None."""
    if len(fields) != len(COLUMNS):
        return "wrong number of fields"
    if not fields[0]:
        return "empty user"
    if not fields[2]:
        return "empty streamer"
    for text in fields[3:]:
        if not TIME.fullmatch(text):
            return "non-integer time"
        if int(text) < 0:
            return "negative time"
        if int(text) > MAX_TIME:
            return "time too large"
    if int(fields[4]) <= int(fields[3]):
        return "stop <= start"
    return None


def reference_csv(data: bytes, *, skip_bad_rows: bool = False,
                  chunk_bytes: int = CHUNK_BYTES) -> Expected:
    """What :func:`livereplay.data.read_csv` must give for a file of these bytes: UTF-8 text
    (a leading byte-order mark dropped) of records, the first one with fields a header when
    it is ``user,stream,streamer,start,stop`` (any case, spaces around names), blank lines
    ignored; a field longer than twice ``chunk_bytes`` (and the csv module's 128 KiB)
    refuses the file; a bad row refuses it or, with ``skip_bad_rows``, is counted and left
    out; exact duplicates (equal names and times) are dropped, the first kept."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Expected(reason="not UTF-8 text")
    text = text.removeprefix("\ufeff")
    rows, skipped, header_pending = [], Counter(), True
    field_limit = max(CSV_FIELD_LIMIT, 2 * chunk_bytes)
    for line, fields in records(text):
        if any(len(value) > field_limit for value in fields):
            return Expected(line=line, reason="field larger than field limit")
        if not fields:
            continue
        if header_pending:
            header_pending = False
            if [name.strip().lower() for name in fields] == list(COLUMNS):
                continue
        problem = row_problem(fields)
        if problem is None:
            rows.append((*fields[:3], int(fields[3]), int(fields[4])))
        elif skip_bad_rows:
            skipped[problem] += 1
        else:
            return Expected(line=line, reason=problem)
    if not rows:
        return Expected(reason="every row is bad" if skipped else "empty file")
    distinct = sorted(set(rows))
    return Expected(rows=distinct, duplicates=len(rows) - len(distinct), skipped=dict(skipped))


# ---------------------------------------------------------------------------------------
# The reference for CSV files with a header (:func:`livereplay.columns.read_columns`).

INTEGER = re.compile(r"[\t\n\f\r ]*-?[0-9]+[\t\n\f\r ]*")  # RE2's \s has no \v
EVENT_NAMES = ("user", "item", "start", "duration")
EVENT_COLUMNS = EventColumns(user="user", item="item", start="start", duration="duration")
SCHEDULE_COLUMNS = ("streamer", "stream", "start", "stop")
STEP_SECONDS = 600
SECONDS_PER_DAY = 86_400


class Refusal(Exception):
    """A reference's refusal of a file: ``reason`` at ``line`` (None: no line)."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.expected = Expected(line=line, reason=reason)


def column_rows(data: bytes, ids: Sequence[str], integers: Sequence[str]) -> list[dict]:
    """The rows (``ids`` as text, ``integers`` as int, by name) of a CSV file with a header,
    as :func:`~livereplay.columns.read_columns` reads a file of one block; :class:`Refusal`
    when it must refuse it. The header is the text before the first CR or LF, quotes or not
    (its names split at commas, stripped of spaces, then of quotes); the rows after it are
    :func:`records`, a blank line a row of empty values; a row's line is its position among
    the records (the header is line 1), so a quoted line end does not count. A row of another
    number of fields, or a byte that is not UTF-8 in a column asked for, refuses the file
    without a line (Arrow says which in its words). Then the first row failing each check,
    in this order: each integer column whole (``INTEGER``), then within int64; each id not
    blank (Python's ``str.strip`` and Arrow's trim take the same spaces)."""
    header = re.match(rb"([^\r\n]*)(\r\n|\r|\n)?", data)
    try:
        text = header[1].decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refusal(1, "not UTF-8 text") from None
    if not text.strip():
        raise Refusal(None, "empty file (no header)")
    names = [name.strip().strip('"') for name in text.split(",")]
    wanted = [*ids, *integers]
    for name in wanted:
        if name not in names:
            raise Refusal(None, f"no column {name!r}")
    body = data[header.end():].decode("utf-8", "surrogateescape")  # a bad byte: a surrogate
    table = [fields or [""] * len(names) for _, fields in records(body)]
    if any(len(fields) != len(names) for fields in table):
        raise Refusal(None, "after line 1: malformed CSV")
    # a field's bytes are decoded once its quotes are gone, as Arrow does: a quote between
    # the bytes of one character leaves the field valid UTF-8
    table = [[_field_text(field) for field in fields] for fields in table]
    if any(fields[names.index(name)] is None for fields in table for name in wanted):
        raise Refusal(None, "after line 1: malformed CSV")
    rows = [{name: fields[names.index(name)] for name in wanted} for fields in table]
    for name in integers:
        refuse_first(rows, lambda row: not INTEGER.fullmatch(row[name]),
                     lambda row: f"non-integer {name} {row[name]!r}")
        refuse_first(rows, lambda row: not -2**63 <= int(row[name]) < 2**63,
                     lambda row: f"{name} too large: {int(row[name])}")
    for name in ids:
        refuse_first(rows, lambda row: not row[name].strip(), lambda row: f"empty {name}")
    return [{**row, **{name: int(row[name]) for name in integers}} for row in rows]


def _field_text(field: str) -> str | None:
    """A parsed field (bad bytes as surrogates) as text, or None where its bytes are not
    UTF-8."""
    try:
        return field.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return None


def refuse_first(rows: list[dict], bad: Callable[[dict], bool],
                 reason: Callable[[dict], str]) -> None:
    """:class:`Refusal` at the line of the first row that is ``bad`` (the first is line 2)."""
    for line, row in enumerate(rows, 2):
        if bad(row):
            raise Refusal(line, reason(row))


def reference_events(data: bytes) -> Expected:
    """What importing a watch log of these bytes (``EVENT_COLUMNS``, seconds, steps of ten
    minutes) and reading the log written must give. After :func:`column_rows`, the first
    negative start, then negative duration, then end past int64 refuses it, as no row does.
    Step 0 is midnight UTC of the earliest start; a row runs from the step it starts in to
    the first step after it ends, at least one step, all under 2^31; a streamer's rows that
    overlap or touch, in order of start, are its K-th broadcast ``STREAMER:K``."""
    try:
        rows = column_rows(data, ids=EVENT_NAMES[:2], integers=EVENT_NAMES[2:])
        refuse_first(rows, lambda row: row["start"] < 0,
                     lambda row: f"negative time: start {row['start']}")
        refuse_first(rows, lambda row: row["duration"] < 0,
                     lambda row: f"negative watch time: duration {row['duration']}")
        refuse_first(rows, lambda row: row["start"] + row["duration"] >= 2**63,
                     lambda row: f"end past int64: start {row['start']} + "
                                 f"duration {row['duration']}")
        if not rows:
            raise Refusal(None, "no rows")
        origin = min(row["start"] for row in rows) // SECONDS_PER_DAY * SECONDS_PER_DAY
        steps = [((row["start"] - origin) // STEP_SECONDS,
                  -(-(row["start"] + row["duration"] - origin) // STEP_SECONDS)) for row in rows]
        steps = [(start, max(start + 1, stop)) for start, stop in steps]
        if max(stop for _, stop in steps) > MAX_TIME:
            raise Refusal(None, "the events span more than 2^31 steps")
    except Refusal as refusal:
        return refusal.expected
    number, reach, broadcast = {}, {}, {}  # by streamer: its last K, latest stop; by row: K
    for i in sorted(range(len(rows)), key=lambda i: steps[i][0]):
        item, (start, stop) = rows[i]["item"], steps[i]
        if start > reach.get(item, -1):
            number[item] = number.get(item, -1) + 1
        broadcast[i], reach[item] = number[item], max(reach.get(item, -1), stop)
    written = [(row["user"], f"{row['item']}:{broadcast[i]}", row["item"], *steps[i])
               for i, row in enumerate(rows)]
    distinct = sorted(set(written))
    return Expected(rows=distinct, duplicates=len(written) - len(distinct))


#: the log read with a fuzzed schedule beside it, and its steps
LOG_BESIDE = "ana,1,x,0,2\nben,2,y,1,3\n"
LOG_STEPS = 3


def reference_schedule(data: bytes) -> Expected:
    """What reading the log :data:`LOG_BESIDE` with a schedule of these bytes beside it must
    give: the broadcasts that begin within the log's steps, as (streamer, start, stop) with
    the stop clipped to the log's last step, in any order; after :func:`column_rows`, the
    first negative start, then stop past 2^31 - 1, then stop not after start refuses it, as
    no row does."""
    try:
        rows = column_rows(data, ids=SCHEDULE_COLUMNS[:2], integers=SCHEDULE_COLUMNS[2:])
        refuse_first(rows, lambda row: row["start"] < 0,
                     lambda row: f"negative start {row['start']}")
        refuse_first(rows, lambda row: row["stop"] > MAX_TIME,
                     lambda row: f"stop too large: {row['stop']}")
        refuse_first(rows, lambda row: row["stop"] <= row["start"],
                     lambda row: f"stop <= start: {row['stop']} <= {row['start']}")
        if not rows:
            raise Refusal(None, "no broadcasts")
    except Refusal as refusal:
        return refusal.expected
    return Expected(rows=sorted((row["streamer"], row["start"], min(row["stop"], LOG_STEPS))
                                for row in rows if row["start"] < LOG_STEPS))


# ---------------------------------------------------------------------------------------
# The files.

def mix(*strategies: st.SearchStrategy) -> st.SearchStrategy:
    """One of ``strategies``, each as often as it is listed (``st.one_of`` keeps one of equal
    strategies, so listing one twice there does not make it twice as likely)."""
    return st.sampled_from(strategies).flatmap(lambda chosen: chosen)


NAMES = st.one_of(st.sampled_from(["ana", "ben", "cleo", "Ünï", "名前", "x y", " ", 'a"b',
                                   "a,b", "l1\nl2", "e\u0301", "\U0001F600", "\x00", "0", "-1"]),
                  st.text(max_size=6))
STEPS = st.integers(0, 40)
TIMES = st.one_of(
    STEPS.map(str),
    st.sampled_from(["", " ", "-", "x", "1.5", "1e3", "0x1f", "0X1F", "0b1", "0o7", "5_0",
                     "\u0665", "\uff15", "3\x00", "3\x0b", "3\x1c", "3\r", " 3\n", "- 3",
                     str(MAX_TIME), str(MAX_TIME + 1), str(2**63 - 1), str(2**63),
                     str(2**64 + 7), str(-2**63), str(-2**63 - 1)]),
    st.integers(-2**70, 2**70).map(str),
)
DECORATED = st.sampled_from(["{}", "{}", "{}", "0{}", "+{}", " {}", "{} ", "\t{}\t"])
TERMINATORS = st.sampled_from(["\n", "\r\n", "\r"])
HEADERS = st.sampled_from([",".join(COLUMNS), "USER,Stream,streamer,START,stop",
                           " user , stream ,streamer,start,stop",
                           ",".join(f'"{name}"' for name in COLUMNS), "user,stream,streamer,start"])


@st.composite
def fields_text(draw: st.DrawFn, values: list[str]) -> str:
    """Fields joined by commas, each written plain or (one in four) quoted, its quotes
    doubled; a value with a comma, a quote or a line end is quoted but for one in eight."""
    def quoted(value: str) -> bool:
        special = any(c in value for c in ',"\r\n')
        return draw(st.integers(0, 7)) > 0 if special else draw(st.integers(0, 3)) == 0

    return ",".join(f'"{value.replace(chr(34), 2 * chr(34))}"' if quoted(value) else value
                    for value in values)


@st.composite
def valid_rows(draw: st.DrawFn) -> str:
    """A row of the data model: names of small pools (so that rows repeat), stop > start,
    times sometimes written with a zero, a sign, spaces or tabs around them."""
    start, length = draw(STEPS), draw(st.integers(1, 9))
    return draw(fields_text([draw(NAMES.filter(bool)), draw(st.sampled_from(["1", "2", "b7"])),
                             draw(NAMES.filter(bool)), draw(DECORATED).format(start),
                             draw(DECORATED).format(start + length)]))


@st.composite
def wild_rows(draw: st.DrawFn) -> str:
    """A row of anything: any names and times, sometimes a field more or less, sometimes a
    long name."""
    values = [draw(NAMES), draw(NAMES), draw(NAMES), draw(TIMES), draw(TIMES)]
    if draw(st.integers(0, 9)) == 0:
        values[draw(st.integers(0, 2))] = "n" * draw(st.sampled_from([1000, 70_000, 140_000]))
    if draw(st.integers(0, 5)) == 0:
        values = values[:-1] if draw(st.booleans()) else values + [draw(NAMES)]
    return draw(fields_text(values))


JUNK = st.one_of(st.just(""), st.sampled_from(["  ", "\t", ",,,,", '"', '""', "\x00"]),
                 st.text(max_size=12))
LINES = mix(*[valid_rows()] * 8, wild_rows(), *[JUNK] * 3, HEADERS)
MUTATIONS = st.sampled_from([b"\x00", b"\xff", b"\x80", b"\xc3", b"\xef\xbb\xbf", b'"', b",",
                             b"\r", b"\n", b"\xe2\x80\xa8", b"\xc2\x85"])


@st.composite
def csv_files(draw: st.DrawFn, lines: st.SearchStrategy[str] = LINES,
              damaged: bool = True) -> bytes:
    """A log file: ``lines`` with mixed line ends, maybe a header first (a header of four
    names too), maybe a byte-order mark; when ``damaged``, maybe truncated, maybe with a few
    bytes inserted."""
    chosen = draw(st.lists(lines, max_size=12))
    if draw(st.booleans()):
        chosen.insert(0, draw(HEADERS if damaged else HEADERS.filter(lambda h: "stop" in h)))
    return draw(encoded(chosen, damaged))


@st.composite
def encoded(draw: st.DrawFn, lines: list[str], damaged: bool) -> bytes:
    """``lines`` with mixed line ends (maybe none after the last), maybe a byte-order mark
    first; when ``damaged``, maybe truncated, maybe with a few bytes inserted."""
    text = "".join(line + draw(TERMINATORS) for line in lines)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    data = (b"\xef\xbb\xbf" if draw(st.integers(0, 5)) == 0 else b"") + text.encode()
    if damaged and draw(st.integers(0, 7)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    for _ in range(draw(st.sampled_from([0] * 6 + [1, 2])) if damaged else 0):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(MUTATIONS) + data[at:]
    return data


VALID_FILES = csv_files(mix(valid_rows(), valid_rows(), st.just("")), damaged=False)
FILES = mix(VALID_FILES, VALID_FILES, csv_files(), csv_files(), st.binary(max_size=64),
                  st.sampled_from([b"", b"\n", b"\r\n\r\n", b"\xef\xbb\xbf", ",".join(COLUMNS)
                                   .encode(), b"\xef\xbb\xbfuser,stream,streamer,start,stop\r\n"]))

IDS = st.one_of(NAMES, st.sampled_from(["\ufeffa", " a ", "7", "a:0"]))
SPELLINGS = st.sampled_from([str, str, str, " {} ".format, "{}\t".format])
EXTRA_COLUMNS = st.lists(st.sampled_from(["note", "x", "", "x y", "start"]), max_size=2)


@st.composite
def table_files(draw: st.DrawFn, columns: Sequence[str], valid: st.SearchStrategy[dict],
                wild: st.SearchStrategy[dict], damaged: bool = True) -> bytes:
    """A CSV file with a header: ``columns`` and extra ones in any order (one name maybe
    with spaces around, names maybe quoted), rows of ``valid`` values; when ``damaged``, also
    rows of ``wild`` ones, rows a field short or long, long ids, blank lines and junk, and a
    header that may lack a column, spell one in capitals or be left off; then :func:`encoded`."""
    names = draw(st.permutations([*columns, *draw(EXTRA_COLUMNS)]))
    if damaged and draw(st.integers(0, 9)) == 0:
        names.remove(draw(st.sampled_from(columns)))
    spelled, at = list(names), draw(st.integers(0, len(names) - 1))
    spell = str.upper if damaged and draw(st.integers(0, 9)) == 0 else draw(SPELLINGS)
    spelled[at] = spell(names[at])
    header = draw(fields_text(spelled))
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 11)) if damaged else 0  # 0-7 valid, 8-10 wild, 11 junk
        if kind == 11:
            lines.append(draw(JUNK))
            continue
        row = draw(wild if kind >= 8 else valid)
        values = [row[name] if name in row else draw(NAMES) for name in names]
        if kind >= 8 and draw(st.integers(0, 9)) == 0:
            values[draw(st.integers(0, len(values) - 1))] = "n" * 140_000
        if kind == 10:
            values = values[:-1] if draw(st.booleans()) else values + [draw(NAMES)]
        lines.append(draw(fields_text(values)))
    if not damaged or draw(st.integers(0, 9)):
        lines.insert(0, header)
    return draw(encoded(lines, damaged))


def header_files(columns: Sequence[str], valid: st.SearchStrategy[dict],
                 wild: st.SearchStrategy[dict]) -> st.SearchStrategy[bytes]:
    """Files of :func:`table_files`, valid ones as often as damaged ones, and a few of bytes
    alone, nothing, a header alone, a blank line."""
    valid_files = table_files(columns, valid, wild, damaged=False)
    return mix(valid_files, valid_files, table_files(columns, valid, wild),
                     table_files(columns, valid, wild), st.binary(max_size=64),
                     st.sampled_from([b"", b"\n", b"\xef\xbb\xbf", ",".join(columns).encode(),
                                      ",".join(columns).encode() + b"\r\n\r\n"]))


A_DAY = 1_700_000_000 // SECONDS_PER_DAY * SECONDS_PER_DAY
FAR = st.integers(0, 2**63 - 1)  # steps past 2^31, an end past int64
EVENT_FILES = header_files(
    EVENT_NAMES,
    st.fixed_dictionaries({
        "user": IDS.filter(str.strip), "item": IDS.filter(str.strip),
        "start": mix(*[st.integers(A_DAY, A_DAY + 2 * SECONDS_PER_DAY)] * 59, FAR).map(str),
        "duration": mix(*[st.integers(0, 3_000)] * 59, FAR).map(str)}),
    st.fixed_dictionaries({"user": IDS, "item": IDS, "start": TIMES, "duration": TIMES}))


@st.composite
def broadcasts(draw: st.DrawFn) -> dict[str, str]:
    """A schedule row of the data model: stop > start (past 2^31 - 1 now and then), times
    maybe with a zero or spaces (no sign: the schedule's integers have none)."""
    start, length = draw(STEPS), draw(mix(*[st.integers(1, 9)] * 59, st.just(MAX_TIME + 1)))
    decorated = DECORATED.filter(lambda text: "+" not in text)
    return {"streamer": draw(IDS.filter(str.strip)), "stream": draw(IDS.filter(str.strip)),
            "start": draw(decorated).format(start), "stop": draw(decorated).format(start + length)}


SCHEDULE_FILES = header_files(
    SCHEDULE_COLUMNS, broadcasts(),
    st.fixed_dictionaries({"streamer": IDS, "stream": IDS, "start": TIMES, "stop": TIMES}))

# ---------------------------------------------------------------------------------------
# The loaders, and how a loaded file is checked.


def log_rows(log: Log) -> list[tuple]:
    """The log's rows as (user, stream, streamer, start, stop) of names, sorted."""
    users, streams, streamers = (getattr(log, f"{name}_names").to_pylist()
                                 for name in ("user", "stream", "streamer"))
    return sorted(zip([users[i] for i in log.user.tolist()],
                      [streams[i] for i in log.stream.tolist()],
                      [streamers[i] for i in log.streamer.tolist()],
                      log.start.tolist(), log.stop.tolist()))


def schedule_rows(log: Log) -> list[tuple]:
    """The log's broadcasts as (streamer, start, stop), its streamers by name, sorted."""
    names = log.streamer_names.to_pylist() + log.schedule.extra_names.to_pylist()
    return sorted(zip([names[i] for i in log.schedule.streamer.tolist()],
                      log.schedule.start.tolist(), log.schedule.stop.tolist()))


def import_and_read(path: Path) -> Log:
    """Import the watch log ``path`` (``EVENT_COLUMNS``, seconds, steps of ten minutes) into
    a log file beside it and read that back; AssertionError when a refused import leaves
    the log file there."""
    out = path.with_name("imported.csv")
    out.unlink(missing_ok=True)
    try:
        import_events(path, EVENT_COLUMNS, out, time_unit="s", step_minutes=10)
    except LogFormatError:
        if out.exists():
            raise AssertionError("a refused import wrote its log file") from None
        raise
    return read_csv(out)


def read_beside_log(path: Path) -> Log:
    """Read a log of two rows with the schedule ``path`` (``NAME.schedule.csv``) beside it."""
    log = path.with_name(path.name.removesuffix(".schedule.csv") + ".csv")
    log.write_text(LOG_BESIDE)
    return read_csv(log)


@dataclass(frozen=True)
class Loader:
    """A loader to fuzz: ``load`` reads a path, ``reference`` says what it must give for the
    file's bytes, ``files`` generates the files, written as ``file_name``; ``rows`` are what
    is compared of the log loaded."""

    name: str
    load: Callable[[Path], Log]
    reference: Callable[[bytes], Expected]
    files: st.SearchStrategy[bytes] = FILES
    file_name: str = "case.csv"
    rows: Callable[[Log], list[tuple]] = log_rows


LOADERS: list[Loader] = [
    Loader("read_csv", read_csv, reference_csv),
    Loader("read_csv skipping bad rows", partial(read_csv, skip_bad_rows=True),
           partial(reference_csv, skip_bad_rows=True)),
    Loader("read_csv in 64-byte chunks", partial(read_csv, chunk_bytes=64),
           partial(reference_csv, chunk_bytes=64)),
    Loader("read_csv in 64-byte chunks skipping bad rows",
           partial(read_csv, chunk_bytes=64, skip_bad_rows=True),
           partial(reference_csv, skip_bad_rows=True, chunk_bytes=64)),
    Loader("import_events", import_and_read, reference_events, EVENT_FILES, "watch.csv"),
    Loader("read_csv with a schedule beside", read_beside_log, reference_schedule,
           SCHEDULE_FILES, "log.schedule.csv", schedule_rows),
]


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """TimeoutError when the block runs past ``seconds`` (checked between Python steps)."""
    def expire(*_: object) -> None:
        raise TimeoutError(f"ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refusal_problem(message: str, path: Path, expected: Expected) -> str | None:
    """What is wrong with a refusal's message, or None."""
    if len(message.splitlines()) != 1:
        return f"an error of {len(message.splitlines())} lines: {message!r}"
    if not message.startswith(f"{path}: "):
        return f"an error that does not name the file: {message!r}"
    if expected.rows is not None:
        return f"refused a file the reference reads: {message!r}"
    if expected.reason == "not UTF-8 text":
        return None
    where = f"line {expected.line}: " if expected.line is not None else ""
    if f"{path}: {where}{expected.reason}" not in message:
        return f"expected '{where}{expected.reason}', got {message!r}"
    return None


def check(loader: Loader, data: bytes, folder: Path) -> tuple[str, str | None]:
    """Load ``data`` as a file of ``folder`` with ``loader``: ("loaded" or "refused", None)
    when it does what the reference says, else (the outcome, what went wrong)."""
    path = folder / loader.file_name
    path.write_bytes(data)
    expected = loader.reference(data)
    try:
        with time_limit(LIMIT_SECONDS):
            log = loader.load(path)
    except LogFormatError as error:
        return "refused", refusal_problem(str(error), path, expected)
    except Exception as error:  # anything but a LogFormatError is a failure
        return "crashed", f"{type(error).__name__}: {error}"
    if expected.rows is None:
        where = f"line {expected.line}: " if expected.line is not None else ""
        return "loaded", f"loaded a file the reference refuses ({where}{expected.reason})"
    rows = loader.rows(log)
    if rows != expected.rows:
        wrong = sorted(set(rows) ^ set(expected.rows))[:3]
        return "loaded", f"{len(rows)} rows, expected {len(expected.rows)}; differing: {wrong}"
    skipped = {reason.split(":")[0]: n for reason, n in log.report.skipped.items()}
    if (log.report.duplicates, skipped) != (expected.duplicates, expected.skipped):
        return "loaded", (f"report {log.report.duplicates} duplicates, skipped {skipped}; "
                          f"expected {expected.duplicates}, {expected.skipped}")
    return "loaded", None


def fuzz(loader: Loader, cases: int, folder: Path,
         random_seed: int = 0) -> tuple[Counter[str], list[tuple[bytes, str]]]:
    """Run ``cases`` generated files through ``loader``: the count of each outcome
    ("loaded", "refused", "failed") and the failures' (file, what went wrong)."""
    counts: Counter[str] = Counter()
    failures: list[tuple[bytes, str]] = []

    @seed(random_seed)
    @settings(max_examples=cases, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(loader.files)
    def one(data: bytes) -> None:
        outcome, problem = check(loader, data, folder)
        counts["failed" if problem else outcome] += 1
        if problem:
            failures.append((data, problem))

    one()
    return counts, failures


def main(argv: list[str] | None = None) -> int:
    """Fuzz every loader of :data:`LOADERS`; print the counts, the time and the first
    failures; exit status 1 when any case failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="files per loader")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    failed = 0
    print(f"{'loader':<48} {'cases':>6} {'loaded':>7} {'refused':>8} {'failed':>7} {'seconds':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for loader in LOADERS:
            began = time.perf_counter()
            counts, failures = fuzz(loader, args.cases, Path(folder), args.seed)
            print(f"{loader.name:<48} {sum(counts.values()):>6} {counts['loaded']:>7} "
                  f"{counts['refused']:>8} {counts['failed']:>7} "
                  f"{time.perf_counter() - began:>8.1f}")
            for data, problem in failures[:3]:
                print(f"    {data[:120]!r}: {problem[:200]}")
            failed += len(failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
