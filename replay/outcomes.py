"""A replay's outcomes, gathered step by step.

Every evaluated event of a replay is kept until it ends: the metrics, intervals and paired
tests need each event's rank and user. A ``next`` replay of the full Twitch release ranks
hundreds of millions of events (17 bytes each), more than a machine would want to hold beside
the learner. So outcomes are held in memory up to :data:`SPILL_EVENTS` events, and past that
appended to unnamed temporary files (in the system's temporary folder, ``TMPDIR``) and read
back memory-mapped; scans then read them a block at a time
(:func:`livereplay.arrays.read_part`). Either way the joined arrays hold the same values.

>>> outcomes = Outcomes(spill_events=2)
>>> for t in range(3):
...     outcomes.append(Outcome(np.array([0.0, 1.0]), np.array([t, t + 1], np.int32),
...                             np.full(2, t, np.int32), np.array([True, False])))
>>> joined = outcomes.joined()
>>> joined.users.tolist(), outcomes.n_events
([0, 1, 1, 2, 2, 3], 6)
"""
from __future__ import annotations

import mmap
import tempfile
from typing import Any, BinaryIO

import numpy as np

from .protocols import Outcome

#: Events held in memory before a replay's outcomes move to temporary files (about 290 MB).
SPILL_EVENTS = 1 << 24


class Outcomes:
    """The outcomes of a replay's steps in order: :meth:`append` each, :meth:`joined` once."""

    def __init__(self, spill_events: int | None = None) -> None:
        self.spill_events = SPILL_EVENTS if spill_events is None else spill_events
        self.parts: list[Outcome] = []
        self.held = 0  # events in ``parts``
        self.spilled = 0  # events in ``files``
        self.files: list[BinaryIO] = []
        self.dtypes: list[np.dtype] = []

    @property
    def n_events(self) -> int:
        return self.held + self.spilled

    def append(self, outcome: Outcome | None) -> None:
        """Keep a step's outcome (None: the step had no events)."""
        if outcome is None:
            return
        if not self.dtypes:
            self.dtypes = [np.asarray(values).dtype for values in outcome]
        self.parts.append(Outcome(*(np.asarray(values, dtype) for values, dtype
                                    in zip(outcome, self.dtypes))))
        self.held += len(outcome.ranks)
        if self.held >= self.spill_events:
            self._spill()

    def _spill(self) -> None:
        """Append the held parts to the temporary files, one file per field."""
        if not self.files:
            self.files = [tempfile.TemporaryFile(prefix="livereplay-outcomes-")
                          for _ in Outcome._fields]
        for file, parts in zip(self.files, zip(*self.parts)):
            for part in parts:
                file.write(np.ascontiguousarray(part).data)
        self.spilled += self.held
        self.parts.clear()
        self.held = 0

    def joined(self) -> Outcome | None:
        """Every event in step order, one array per field (memory-mapped once spilled), or
        None when no step had events."""
        if not self.files:  # at most ``spill_events`` held: joined in memory
            joined = self._join_held()
            self.parts.clear()
            self.held = 0
            return joined
        self._spill()
        mapped = []
        for file, dtype in zip(self.files, self.dtypes):
            file.flush()
            mapping = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            mapped.append(np.frombuffer(mapping, dtype, count=self.spilled))
            file.close()  # the mapping keeps the file's data until the arrays are gone
        self.files = []
        return Outcome(*mapped)

    def __getstate__(self) -> dict[str, Any]:
        """For checkpoints: the held events as arrays and the spill files as they are (a
        :class:`~livereplay.checkpoint.Checkpointer` copies them beside the checkpoint, so
        that a checkpoint never reads the spilled events back into memory)."""
        for file in self.files:
            file.flush()
        return self.__dict__

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for file in self.files:  # appends go on at the end of each file
            file.seek(0, 2)

    def _join_held(self) -> Outcome | None:
        """The held events joined in memory (None: no step had events)."""
        if not self.parts:
            return None
        return Outcome(*(np.concatenate(field) for field in zip(*self.parts)))
