"""One learner on one replay, described by a typed :class:`RunSpec`: what ``livereplay run``
does, callable from Python.

Part of the application (:mod:`livereplay.app`), where the engine and the learners are wired
together (``docs/architecture.md``).

>>> result = run(RunSpec(learner="repeat", window=(5000, 5300), cache=False))
>>> result.metrics()["all"]["n"], round(result.metrics()["all"]["hr@1"], 4)
(2694, 0.1459)
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..checkpoint import Checkpointer
from ..data import STEPS_PER_DAY, Log, default_data_path
from ..errors import ReplayError
from ..results import Result
from .parsing import parse_days


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a run; the same spec on the same data gives the same result.

    learner        -- a learner name (``livereplay learners``), an entry point or ``module:Class``
    data           -- the log file (default: the embedded Twitch sample)
    protocol       -- ``starts``, ``next`` or ``holdout`` (``docs/protocols.md``)
    availability   -- the candidate set: ``span`` (starts, next), ``others`` (starts) or ``log``;
                      default: the protocol's (``span`` for starts, ``log`` for next and
                      holdout); ``docs/protocols.md`` (Candidate sets)
    period         -- period of ``holdout``: ``test`` (default) or ``validation``
    window         -- evaluated steps ``(a, b)`` or ``"A:B"``; ``days`` -- days ``(d1, d2)``
                      inclusive or ``"D1-D2"``; neither: the whole log
    users_sample   -- evaluate this seeded fraction of the users (learners see every row)
    seed           -- seed of the learner, of the users sample and of the bootstrap
    bootstrap      -- resamples of users behind the 95% intervals of the metrics (0: none)
    params         -- the learner's hyper-parameters
    skip_bad_rows, cache, cache_dir -- how the log is loaded (:func:`livereplay.cache.load_log`)
    """

    learner: str = "repeat"
    data: str | Path | None = None
    protocol: str = "starts"
    availability: str | None = None
    period: str | None = None
    window: tuple[int, int] | str | None = None
    days: tuple[int, int] | str | None = None
    users_sample: float | None = None
    seed: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    skip_bad_rows: bool = False
    cache: bool = True
    cache_dir: str | Path | None = None
    bootstrap: int = 1000

    @property
    def data_path(self) -> Path:
        return Path(self.data) if self.data else default_data_path()

    def with_learner(self, learner: str) -> "RunSpec":
        """The same run for another learner."""
        return RunSpec(**{**self.__dict__, "learner": learner})


def load_data(spec: RunSpec, *, report: bool = True) -> Log:
    """The log the spec names (through the cache); what loading dropped goes to stderr."""
    from ..cache import load_log

    log = load_log(spec.data_path, skip_bad_rows=spec.skip_bad_rows, cache=spec.cache,
                   cache_dir=spec.cache_dir)
    if report and (log.report.duplicates or log.report.skipped):
        print(f"{spec.data_path}: {log.report.describe()}", file=sys.stderr)
    return log


def parse_window(window: tuple[int, int] | str | None, days: tuple[int, int] | str | None,
                 n_steps: int) -> tuple[int, int] | None:
    """[a, b) from a window (steps) or days (inclusive), clipped to the log; None for the
    whole log.

    >>> parse_window("10:20", None, 6148), parse_window(None, "2-3", 6148)
    ((10, 20), (288, 576))
    """
    if window is not None and days is not None:
        raise ReplayError("give a window or days, not both")
    if window is None and days is None:
        return None
    if days is not None:
        first_day, last_day = parse_days(days) if isinstance(days, str) else map(int, days)
        a, b = STEPS_PER_DAY * first_day, STEPS_PER_DAY * (last_day + 1)
    else:
        try:
            if isinstance(window, str):
                first, colon, last = window.partition(":")
                if not colon:
                    raise ValueError
                a, b = int(first or 0), int(last or n_steps)
            else:
                a, b = map(int, window)
        except (TypeError, ValueError):
            raise ReplayError(f"cannot read --window {window!r} (expected A:B)") from None
    b = min(b, n_steps)
    if not 0 <= a < b:
        raise ReplayError(f"window [{a}, {b}) is empty or outside the log's steps [0, {n_steps})")
    return a, b


def run(spec: RunSpec, *, log: Log | None = None, progress: bool | None = None,
        checkpoint: Checkpointer | None = None) -> Result:
    """Build the spec's learner and evaluate it as the spec says; the result records the
    data, seed, sample and hyper-parameters. ``log``: the spec's log, already loaded;
    ``checkpoint``: checkpoints of the replay, and where it resumes from
    (:mod:`livereplay.checkpoint`)."""
    from livereplay.learners.registry import make_learner

    from ..engine import replay, sample_users

    learner = make_learner(spec.learner, seed=spec.seed, **dict(spec.params))
    log = log if log is not None else load_data(spec)
    window = parse_window(spec.window, spec.days, log.n_steps)
    users = (sample_users(log.n_users, spec.users_sample, spec.seed)
             if spec.users_sample is not None else None)
    result = replay(log, learner, protocol=spec.protocol, availability=spec.availability,
                    period=spec.period, window=window, users=users, progress=progress,
                    learner_name=spec.learner, checkpoint=checkpoint)
    result.extra.update({"data": log.source, "seed": spec.seed,
                         "users_sample": spec.users_sample, "params": dict(spec.params)})
    result.bootstrap = spec.bootstrap
    return result
