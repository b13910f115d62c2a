"""Checkpoints of a replay in progress, so that a long run can stop and go on later with the
same bytes (``docs/reproducibility.md`` (Checkpoints and resume)).

A checkpoint holds the whole state of a replay after a step: the engine's position and the
revealed history, the evaluation collected so far, and the learner (its NumPy tables,
TensorFlow weights and optimiser slots, random generator states: whatever its pickled state
holds, see :class:`livereplay.contract.Learner`). It is pickled straight into a file beside
the folder's others, with a checksum, and renamed into place, so a run killed at any moment
leaves the previous checkpoint whole; a truncated or corrupted file is reported in one line
and the one before it is used. Files in the state (the temporary files a long replay's
outcomes spill to, :class:`livereplay.outcomes.Outcomes`) are copied beside it as
``step-T.ckpt-K`` with checksums of their own, and come back as temporary files: neither the
pickle nor those files pass through memory whole.

>>> import tempfile
>>> saver = Checkpointer(tempfile.mkdtemp(), identity="demo", every_steps=2, every_minutes=None)
>>> [t for t in range(7) if saver.due(t) and saver.save(t, {"t": t}) is None]
[1, 3, 5]
>>> sorted(path.name for path in saver.folder.iterdir()), saver.load()
(['step-3.ckpt', 'step-5.ckpt'], {'t': 5})

Checkpoints are Python pickles: load only checkpoints you wrote.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import pickle
import signal
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from .errors import Interrupted, ReplayError

__all__ = ["CheckpointPolicy", "Checkpointer", "Interrupted"]

MAGIC = b"livereplay-checkpoint-1\n"
DIGEST_SIZE = 32
BLOCK = 1 << 24  # bytes read or copied at a time


def _new_hash() -> Any:
    return hashlib.blake2b(digest_size=DIGEST_SIZE)


def _digest(source: BinaryIO, target: BinaryIO | None = None) -> bytes:
    """The digest of ``source`` from where it stands to its end, read a block at a time and
    written to ``target`` as it goes (if given)."""
    digest, block = _new_hash(), memoryview(bytearray(BLOCK))
    while size := source.readinto(block):
        digest.update(block[:size])
        if target is not None:
            target.write(block[:size])
    return digest.digest()


class _Hashing:
    """A file that hashes what is written to it, for pickling straight to disk."""

    def __init__(self, file: BinaryIO) -> None:
        self.file, self.digest = file, _new_hash()

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return self.file.write(data)


class _Pickler(pickle.Pickler):
    """Pickles a state, copying the files in it beside the checkpoint (see the module)."""

    def __init__(self, file: BinaryIO, path: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.path, self.copied = path, []

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, io.BufferedRandom):
            return None
        name = f"{self.path.name}-{len(self.copied)}"
        temporary = self.path.with_name(f".{name}.tmp")
        obj.seek(0)
        with open(temporary, "wb") as copy:
            digest = _digest(obj, copy)
            copy.flush()
            os.fsync(copy.fileno())
        obj.seek(0, 2)
        self.copied.append((temporary, self.path.with_name(name)))
        return ("file", name, digest)


class _Unpickler(pickle.Unpickler):
    """Unpickles a state, the files beside the checkpoint read back into temporary files."""

    def __init__(self, file: BinaryIO, folder: Path) -> None:
        super().__init__(file)
        self.folder = folder

    def persistent_load(self, pid: Any) -> Any:
        _, name, digest = pid
        restored = tempfile.TemporaryFile(prefix="livereplay-restored-")
        try:
            with open(self.folder / name, "rb") as copy:
                if _digest(copy, restored) != digest:
                    raise pickle.UnpicklingError(f"{name} is truncated or corrupted")
        except OSError as error:
            raise pickle.UnpicklingError(f"{name}: {error.strerror or error}") from None
        return restored


class Checkpointer:
    """Writes the checkpoints of one replay into ``folder`` and finds the last good one.

    Parameters
    ----------
    folder
        Where the checkpoints go (created if missing): ``step-T.ckpt`` files, the last
        ``keep`` of them kept.
    identity
        What the replay is (its spec, data and options, as a string): a checkpoint of another
        replay in the same folder is never resumed.
    every_steps
        Write after every this many steps (None: by time only).
    every_minutes
        Write when this many minutes have passed since the last checkpoint (None: by steps
        only).
    keep
        Checkpoints kept (the newest), so that a damaged newest one has a predecessor.
    resume
        Go on from the newest checkpoint of this replay in ``folder`` (if there is none, start
        from step 0). Otherwise the replay starts over, and the folder's old checkpoints are
        removed when its first checkpoint is written.
    """

    def __init__(self, folder: str | Path, *, identity: str, every_steps: int | None = None,
                 every_minutes: float | None = 10.0, keep: int = 2, resume: bool = False) -> None:
        if every_steps is not None and every_steps < 1:
            raise ReplayError(f"--checkpoint-every must be at least 1, got {every_steps}")
        if every_minutes is not None and every_minutes <= 0:
            raise ReplayError(f"--checkpoint-minutes must be positive, got {every_minutes}")
        self.folder = Path(folder)
        self.identity = identity
        self.every_steps, self.every_minutes, self.keep = every_steps, every_minutes, max(1, keep)
        self.resume = resume
        self.stop_requested = False
        self._stale = not resume  # old checkpoints to remove before the first write
        self._last_step = -1
        self._last_time = time.monotonic()

    def due(self, t: int) -> bool:
        """Whether to write a checkpoint after step ``t``: a signal arrived, or enough steps
        or minutes have passed."""
        by_steps = self.every_steps is not None and t - self._last_step >= self.every_steps
        by_time = (self.every_minutes is not None
                   and time.monotonic() - self._last_time >= 60 * self.every_minutes)
        return self.stop_requested or by_steps or by_time

    def _paths(self) -> list[Path]:
        """Checkpoint files, newest first."""
        found = []
        for path in self.folder.glob("step-*.ckpt"):
            try:
                found.append((int(path.stem.split("-", 1)[1]), path))
            except ValueError:
                continue
        return [path for _, path in sorted(found, reverse=True)]

    def save(self, t: int, state: dict[str, Any]) -> None:
        """Write ``state`` as the checkpoint after step ``t``, atomically; older ones beyond
        ``keep`` are removed. A learner that cannot be pickled, or a full disk, is a one-line
        :class:`ReplayError` and leaves the previous checkpoints as they were."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"step-{t}.ckpt"
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".step-", suffix=".tmp")
        pickler = None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + bytes(DIGEST_SIZE))
                hashing = _Hashing(f)
                pickler = _Pickler(hashing, path)
                pickler.dump({"identity": self.identity, "state": state})
                f.seek(len(MAGIC))
                f.write(hashing.digest.digest())
                f.flush()
                os.fsync(f.fileno())
            if self._stale:
                for old in self._paths():
                    self._remove(old)
                self._stale = False
            for copied, name in pickler.copied:
                os.replace(copied, name)
            os.replace(temporary, path)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            raise ReplayError(f"cannot checkpoint this replay: {error} (a learner is "
                              "checkpointed by pickling it; see docs/reproducibility.md, Checkpoints and resume)"
                              ) from None
        except OSError as error:
            reason = "the disk is full" if error.errno == errno.ENOSPC else (
                error.strerror or str(error))
            raise ReplayError(f"cannot write a checkpoint in {self.folder}: {reason}; the "
                              "previous checkpoints are intact") from None
        finally:
            Path(temporary).unlink(missing_ok=True)
            for copied, _ in pickler.copied if pickler else []:
                copied.unlink(missing_ok=True)
        for old in self._paths()[self.keep:]:
            self._remove(old)
        for copied in self.folder.glob("step-*.ckpt-*"):  # left by a run killed mid-save
            if not copied.with_name(copied.name.rsplit("-", 1)[0]).exists():
                copied.unlink(missing_ok=True)
        self._last_step, self._last_time = t, time.monotonic()

    @staticmethod
    def _remove(path: Path) -> None:
        """Remove a checkpoint and the files copied beside it."""
        path.unlink(missing_ok=True)
        for copied in path.parent.glob(f"{path.name}-*"):
            copied.unlink(missing_ok=True)

    def load(self) -> dict[str, Any] | None:
        """The state of the newest complete checkpoint of this replay, or None. Damaged files
        and checkpoints of another replay are said in one line on stderr and skipped."""
        for path in self._paths():
            try:
                with open(path, "rb") as f:
                    problem = self._damage(f)
                    if problem is None:
                        f.seek(len(MAGIC) + DIGEST_SIZE)
                        saved = _Unpickler(f, self.folder).load()
                        if saved["identity"] == self.identity:
                            self._last_step = int(path.stem.split("-", 1)[1])
                            self._last_time = time.monotonic()
                            return saved["state"]
                        problem = "a checkpoint of another replay"
            except OSError as error:
                problem = error.strerror or str(error)
            except pickle.UnpicklingError as error:
                problem = str(error)
            print(f"livereplay: ignoring checkpoint {path}: {problem}", file=sys.stderr)
        return None

    @staticmethod
    def _damage(f: BinaryIO) -> str | None:
        """What is wrong with an open checkpoint file, None if its checksum holds."""
        head, digest = f.read(len(MAGIC)), f.read(DIGEST_SIZE)
        if head != MAGIC or _digest(f) != digest:
            return "truncated or corrupted (checksum mismatch)"
        return None

    @contextmanager
    def on_signals(self) -> Iterator[None]:
        """While inside, SIGINT and SIGTERM ask for a checkpoint and a stop at the end of the
        current step (:attr:`stop_requested`) instead of killing the replay; outside the main
        thread, signals are left alone."""
        def request_stop(signum: int, frame: Any) -> None:
            self.stop_requested = True

        try:
            previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread
            yield
            return
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


@dataclass(frozen=True)
class CheckpointPolicy:
    """Checkpoints for the runs of a sweep: one folder per run below ``folder``, named by
    the run's key, resumed when the sweep runs again (``every_steps``/``every_minutes`` as
    in :class:`Checkpointer`)."""

    folder: Path
    every_steps: int | None = None
    every_minutes: float | None = 10.0

    def for_run(self, key: str) -> Checkpointer:
        return Checkpointer(self.folder / key, identity=key, every_steps=self.every_steps,
                            every_minutes=self.every_minutes, resume=True)
