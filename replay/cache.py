"""Caching parsed logs, so that a second run on the same file skips CSV parsing.

The cache lives in a per-user folder (``$LIVEREPLAY_CACHE``, else ``$XDG_CACHE_HOME/livereplay``,
else ``~/.cache/livereplay``), keyed by a hash of the file's bytes (and of its schedule's,
where it has one) and the parse options: a changed file is a different key, so a stale entry
is never read.

An entry is a folder with one ``.npy`` file per array, opened memory-mapped: a warm open
maps the arrays without reading them, and processes that open the same log share its pages.
It is written into a staging folder and renamed into place, so a reader sees a whole entry
or none; ``manifest.json``, written last, lists every array's size, and an entry whose files
do not match it (truncated, damaged) is reported in one line and parsed again.

>>> from livereplay.data import default_data_path
>>> log = load_log(default_data_path(), cache=False)
>>> log.n_rows
52141
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

from .availability import LiveIndex, Spans
from .data import Log, LoadReport, read_csv
from .folders import check_size, open_arrays, save_arrays, staged_folder
from .schedule import Schedule, schedule_path

CACHE_FORMAT = 4
NAMES = ("user", "stream", "streamer")


def cache_root(override: str | Path | None = None) -> Path:
    """The cache folder: ``override``, ``$LIVEREPLAY_CACHE``, or the user's cache folder."""
    if override:
        return Path(override)
    if os.environ.get("LIVEREPLAY_CACHE"):
        return Path(os.environ["LIVEREPLAY_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "livereplay"


def file_digest(path: str | Path) -> str:
    """BLAKE2 hash of a file's bytes (hex), read in 8 MB blocks."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(1 << 23):
            digest.update(block)
    return digest.hexdigest()


def log_digest(path: str | Path) -> str:
    """The hash that names a log: its file's (:func:`file_digest`), followed by its
    schedule's where it has one."""
    beside = schedule_path(path)
    return file_digest(path) + (f"-{file_digest(beside)}" if beside.is_file() else "")


def load_log(path: str | Path, *, skip_bad_rows: bool = False, cache: bool = True,
             cache_dir: str | Path | None = None) -> Log:
    """Read a log file through the cache; its availability and span indexes come cached
    with it."""
    path = Path(path)
    if not cache or not path.is_file():
        return read_csv(path, skip_bad_rows=skip_bad_rows)
    entry = cache_root(cache_dir) / (
        f"{log_digest(path)}-{'skip' if skip_bad_rows else 'strict'}-v{CACHE_FORMAT}")
    if entry.is_dir():
        try:
            return _read_entry(entry, source=str(path))
        except (OSError, ValueError, KeyError, TypeError) as error:
            warnings.warn(f"ignoring unreadable cache entry {entry}: {error}", stacklevel=2)
            shutil.rmtree(entry, ignore_errors=True)
    log = read_csv(path, skip_bad_rows=skip_bad_rows)
    build_indexes(log)
    try:
        _write_entry(entry, log)
    except OSError as error:
        warnings.warn(f"could not write the cache in {entry.parent}: {error}", stacklevel=2)
    return log


def build_indexes(log: Log) -> None:
    """Build the log's indexes (live streamers, spans, repeat flags) side by side in threads:
    each is mostly numpy sorting, which releases the GIL."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        for built in [pool.submit(getattr, log, name)
                      for name in ("live", "spans", "seen_before")]:
            built.result()


def _arrays(log: Log) -> dict[str, np.ndarray]:
    """Every array an entry holds: the log's columns and its indexes."""
    index = log.live
    schedule = {} if log.schedule is None else {
        f"schedule_{f.name}": getattr(log.schedule, f.name) for f in fields(Schedule)
        if f.name != "extra_names"}
    return {"user": log.user, "stream": log.stream, "streamer": log.streamer,
            "start": log.start, "stop": log.stop, "seen_before": log.seen_before,
            "offsets": index.offsets,
            "streamers": index.streamers, "viewers": index.viewers,
            **{f"spans_{f.name}": getattr(log.spans, f.name) for f in fields(Spans)},
            **schedule}


def _names(log: Log) -> dict[str, pa.Array]:
    """Every name table an entry holds: file stem -> names."""
    names = {f"{name}s": getattr(log, f"{name}_names") for name in NAMES}
    if log.schedule is not None:
        names["schedule_streamers"] = log.schedule.extra_names
    return names


def _write_entry(entry: Path, log: Log) -> None:
    with staged_folder(entry) as staging:
        sizes = save_arrays(staging, _arrays(log))
        for stem, names in _names(log).items():
            feather.write_feather(pa.table({"name": names}), staging / f"{stem}.arrow",
                                  compression="uncompressed")
            sizes[f"{stem}.arrow"] = (staging / f"{stem}.arrow").stat().st_size
        (staging / "report.json").write_text(json.dumps(
            {"duplicates": log.report.duplicates, "skipped": log.report.skipped}))
        (staging / "manifest.json").write_text(json.dumps({"format": CACHE_FORMAT,
                                                           "bytes": sizes}))


def _read_entry(entry: Path, *, source: str) -> Log:
    sizes = json.loads((entry / "manifest.json").read_text())["bytes"]
    tables = {}
    for file, size in sizes.items():
        if file.endswith(".arrow"):
            check_size(entry / file, size)
            tables[file.removesuffix(".arrow")] = feather.read_table(
                entry / file, memory_map=True).column("name").combine_chunks()
    a = open_arrays(entry, {name: size for name, size in sizes.items()
                            if not name.endswith(".arrow")})
    report = json.loads((entry / "report.json").read_text())
    schedule = None
    if "schedule_streamers" in tables:
        schedule = Schedule(**{f.name: a[f"schedule_{f.name}"] for f in fields(Schedule)
                               if f.name != "extra_names"},
                            extra_names=tables["schedule_streamers"])
    log = Log(user=a["user"], stream=a["stream"], streamer=a["streamer"], start=a["start"],
              stop=a["stop"], **{f"{name}_names": tables[f"{name}s"] for name in NAMES},
              source=source, report=LoadReport(**report), schedule=schedule)
    log.__dict__["seen_before"] = a["seen_before"]
    log.__dict__["live"] = LiveIndex(a["offsets"], a["streamers"], a["viewers"])
    log.__dict__["spans"] = Spans(**{f.name: a[f"spans_{f.name}"] for f in fields(Spans)})
    return log
