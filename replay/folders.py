"""Files and folders of arrays that appear whole or not at all and open memory-mapped: the log cache
(:mod:`livereplay.cache`) and the finished runs of a sweep (:mod:`livereplay.app.executors`).

A folder is written under a staging name beside its final one and renamed into place, so a
reader never sees half of it; its arrays are ``.npy`` files, so opening them maps them
without reading them, and processes that open the same folder share its pages. A sweep's
output folder is held by one process at a time (:func:`locked_folder`).

>>> import tempfile
>>> entry = Path(tempfile.mkdtemp()) / "entry"
>>> with staged_folder(entry) as staging:
...     sizes = save_arrays(staging, {"ranks": np.arange(3.0)})
>>> open_arrays(entry, sizes)["ranks"]
memmap([0., 1., 2.])
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from .errors import ReplayError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, a folder is not guarded
    fcntl = None

LOCK_FILE = ".livereplay.lock"


@contextmanager
def staged_folder(entry: Path) -> Iterator[Path]:
    """A staging folder beside ``entry`` to write into; renamed to ``entry`` when the block
    ends, removed when it fails. When another process renamed its own ``entry`` into place
    first, that one is kept (both hold the same content)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".writing-"))
    try:
        yield staging
        os.replace(staging, entry)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not entry.is_dir():
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextmanager
def staged_file(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write into; renamed to ``path`` when the block
    ends, removed when it fails, so that ``path`` holds the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    os.chmod(name, 0o666 & ~_umask())  # as a file opened for writing would be, not 0600
    try:
        yield Path(name)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """This process's file-creation mask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_arrays(folder: Path, arrays: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Each array as ``folder/NAME.npy`` (C order); returns NAME -> the file's bytes, what
    :func:`open_arrays` checks."""
    sizes = {}
    for name, array in arrays.items():
        path = folder / f"{name}.npy"
        np.save(path, np.ascontiguousarray(array))
        sizes[name] = path.stat().st_size
    return sizes


def check_size(path: Path, size: int) -> None:
    """ValueError naming ``path`` when the file does not have ``size`` bytes (truncated or
    damaged)."""
    actual = path.stat().st_size
    if actual != size:
        raise ValueError(f"{path.name} has {actual} bytes, expected {size}")


def open_arrays(folder: Path, sizes: Mapping[str, int]) -> dict[str, np.ndarray]:
    """NAME -> the array of ``folder/NAME.npy``, memory-mapped read-only, for every NAME of
    ``sizes``, after :func:`check_size` of each."""
    for name, size in sizes.items():
        check_size(folder / f"{name}.npy", size)
    return {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in sizes}


@contextmanager
def locked_folder(folder: Path, option: str = "--out") -> Iterator[Path]:
    """``folder``, created if need be, held by this process alone while the block runs: an
    exclusive lock (``flock``) on its :data:`LOCK_FILE`, which holds this process's id. The
    lock goes with the process, however it ends. A folder that cannot be written, or that
    another process holds, is a one-line :class:`ReplayError` naming it (and that process);
    ``option`` names the folder's option in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise ReplayError(f"cannot write into {option} {folder}: "
                          f"{error.strerror or error}") from None
    with os.fdopen(handle, "r+") as lock:
        if fcntl is not None:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = lock.read().strip() or "unknown"
                raise ReplayError(f"{option} {folder} is in use by another sweep (pid {holder}): "
                                  f"wait for it to end, or give another {option}") from None
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield folder
