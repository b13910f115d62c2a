"""Reading named columns of a CSV file with a header, a block at a time, with one-line errors.

The schedule beside a log (:mod:`livereplay.schedule`) and the importers of timestamped
watch logs (:mod:`livereplay.importers`) read their files through :func:`read_columns`: only
the columns asked for are parsed (Arrow's reader, a block of about ``block_bytes`` of text at
a time), every id must be non-empty and every integer a whole number within int64, and the
first value that is not is a :class:`~livereplay.errors.LogFormatError` naming the file, the
line and the reason. Blank lines are not skipped, so a row's line number is its position in
the file (the header is line 1).

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "rooms.csv"
>>> _ = path.write_text("live_id,start\\n7,100\\n8,x\\n")
>>> next(read_columns(path, ids=["live_id"], integers=["start"]))
Traceback (most recent call last):
livereplay.errors.LogFormatError: ...rooms.csv: line 3: non-integer start 'x'
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import LogFormatError
from .folders import staged_file

BLOCK_BYTES = 64 << 20
_INTEGER = r"^\s*-?[0-9]+\s*$"


class Block(NamedTuple):
    """Rows of a file: ``first_line`` is the line of the first one; ``ids`` are string
    arrays, ``integers`` int64 arrays, by column name."""

    first_line: int
    ids: dict[str, pa.Array]
    integers: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter({**self.ids, **self.integers}.values())))


def first_bad(path: Path | str, first_line: int, mask: np.ndarray, reason) -> None:
    """Raise a :class:`LogFormatError` naming the line of the first row where ``mask``
    holds, with ``reason(row)`` (row: its index within the block); nothing if none does."""
    bad = np.flatnonzero(mask)
    if len(bad):
        raise LogFormatError(f"{path}: line {first_line + int(bad[0])}: {reason(int(bad[0]))}")


def header(path: Path, block_bytes: int) -> tuple[list[str], int]:
    """The column names of ``path``'s first line and the byte where the next line begins.
    The line ends at the first CR, LF or CRLF, quoted or not, where Arrow's ``skip_rows``
    ends it; one-line errors for a missing or empty file."""
    if not path.exists():
        raise LogFormatError(f"{path}: no such file")
    if not path.is_file():
        raise LogFormatError(f"{path}: not a file")
    with open(path, "rb") as f:
        first = re.match(rb"([^\r\n]*)(\r\n|\r|\n)?", f.readline(block_bytes))
    try:
        text = first[1].decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LogFormatError(f"{path}: line 1: not UTF-8 text") from None
    if not text.strip():
        raise LogFormatError(f"{path}: empty file (no header)")
    return [name.strip().strip('"') for name in text.split(",")], first.end()


def read_columns(path: str | Path, *, ids: Sequence[str] = (), integers: Sequence[str] = (),
                 block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """The columns ``ids`` (non-empty strings) and ``integers`` (int64) of a CSV file with a
    header, a block of rows at a time, checked as the module says."""
    path = Path(path)
    names, rows_begin = header(path, block_bytes)
    wanted = list(dict.fromkeys([*ids, *integers]))
    missing = [name for name in wanted if name not in names]
    if missing:
        raise LogFormatError(f"{path}: no column {missing[0]!r} (its columns: "
                             f"{', '.join(map(repr, names))})")  # repr keeps one line
    # the header alone: no rows (and Arrow cannot skip a header that has no line end)
    if rows_begin == path.stat().st_size:
        return
    reader = None
    line = 2
    while True:
        try:
            if reader is None:  # opening reads the first block: its errors are caught too
                reader = pacsv.open_csv(
                    path,
                    read_options=pacsv.ReadOptions(block_size=block_bytes, column_names=names,
                                                   skip_rows=1),
                    parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
                    convert_options=pacsv.ConvertOptions(
                        include_columns=wanted, column_types=dict.fromkeys(wanted, pa.string()),
                        null_values=[], strings_can_be_null=False,
                        quoted_strings_can_be_null=False))
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:
            raise LogFormatError(f"{path}: after line {line - 1}: malformed CSV "
                                 f"({str(error).splitlines()[0]})") from None
        block = Block(line, {name: batch.column(name) for name in ids},
                      {name: _integers(path, line, name, batch.column(name))
                       for name in integers})
        for name, column in block.ids.items():
            empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0)
            first_bad(path, line, empty.to_numpy(zero_copy_only=False),
                      lambda row, name=name: f"empty {name}")
        line += batch.num_rows
        yield block


def _integers(path: Path, first_line: int, name: str, column: pa.Array) -> np.ndarray:
    """``column`` (text) as int64, or the line of the first value that is not a whole
    number within int64."""
    whole = pc.match_substring_regex(column, _INTEGER).to_numpy(zero_copy_only=False)
    first_bad(path, first_line, ~whole, lambda row: f"non-integer {name} {column[row].as_py()!r}")
    try:
        return pc.cast(pc.utf8_trim_whitespace(column), pa.int64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # a whole number past int64
        values = [int(text) for text in column.to_pylist()]
        first_bad(path, first_line, np.array([not -2**63 <= v < 2**63 for v in values]),
                  lambda row: f"{name} too large: {values[row]}")
        raise


def write_table(path: Path, table: pa.Table, *, header: bool) -> None:
    """Write ``table`` as CSV, aside and renamed into place; text is quoted only where a value
    holds a comma, a quote or a line break, or begins with a byte-order mark (the file's first
    one would be taken for the file's mark); Arrow's ``needed`` style would quote every
    string, and the header."""
    special = any(pc.any(pc.match_substring_regex(column, '[,"\r\n]|^\ufeff')).as_py()
                  for column in table.columns if pa.types.is_string(column.type))
    with staged_file(path) as staging:
        if header and not special:
            staging.write_text(",".join(table.column_names) + "\n")
        with open(staging, "ab") as f:
            pacsv.write_csv(table, f, pacsv.WriteOptions(
                include_header=header and special,
                quoting_style="needed" if special else "none"))
