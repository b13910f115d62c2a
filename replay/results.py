"""The outcome of a replay: every event's rank, its metrics, and the JSON result."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .data import STEPS_PER_DAY
from .errors import ReplayError
from .intervals import PairedTest, bootstrap_intervals, paired_test
from .metrics import EVENT_METRICS, METRICS, event_values, summarise


@dataclass(eq=False)
class Result:
    """Ranks of every evaluated event, with the step it happened at and its split.

    ``kind[i]`` is True for the first split of ``splits`` (repeat / continuing) and False for
    the second (new / fresh); ``users[i]`` is the event's user. ``bootstrap``: resamples of
    users behind the 95% intervals of every metric (0: no intervals), seeded by the run's
    seed (``extra["seed"]``, 0 if absent).
    """

    learner: str
    protocol: str
    availability: str | None
    window: tuple[int, int]
    splits: tuple[str, str]
    ranks: np.ndarray
    users: np.ndarray
    steps: np.ndarray
    kind: np.ndarray
    objective: float | None = None
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    bootstrap: int = 1000

    @property
    def n_events(self) -> int:
        return len(self.ranks)

    def split_masks(self) -> dict[str, slice | np.ndarray]:
        """Split name -> the events of the split (``all`` and the protocol's two splits)."""
        return {"all": slice(None), self.splits[0]: self.kind, self.splits[1]: ~self.kind}

    def metrics(self) -> dict[str, dict[str, float]]:
        """Split name -> n and every metric, coverage included."""
        return {split: summarise(self.ranks, mask) for split, mask in self.split_masks().items()}

    @cached_property
    def intervals(self) -> dict[str, dict[str, tuple[float, float]]]:
        """Split name -> metric -> 95% interval (low, high), users resampled
        (:mod:`livereplay.intervals`); empty when ``bootstrap`` is 0. Computed once."""
        if self.bootstrap < 0:
            raise ReplayError(f"--bootstrap must be 0 or more, got {self.bootstrap}")
        if not self.bootstrap:
            return {}
        values = event_values(self.ranks)
        return {split: {name: (float(low), float(high)) for name, (low, high) in zip(
                    EVENT_METRICS, bootstrap_intervals(values[:, mask], self.users[mask],
                                                       self.bootstrap, self.seed))}
                for split, mask in self.split_masks().items()}

    @property
    def seed(self) -> int:
        """The run's seed, which also seeds the bootstrap."""
        return int(self.extra.get("seed", 0))

    def paired_test(self, baseline: "Result") -> dict[str, PairedTest]:
        """Split name -> this learner minus ``baseline`` on every metric of :data:`METRICS`
        (entries in that order), by a paired bootstrap over users; both results must hold the
        same events in the same order."""
        if not (np.array_equal(self.users, baseline.users)
                and np.array_equal(self.steps, baseline.steps)
                and np.array_equal(self.kind, baseline.kind)):
            raise ReplayError(
                f"cannot pair {self.learner} with {baseline.learner}: their events differ "
                f"({self.n_events} and {baseline.n_events} events, users or steps not the same); "
                "paired tests need results of the same spec on the same log")
        ours, theirs = (event_values(r.ranks)[:len(METRICS)] for r in (self, baseline))
        return {split: paired_test(ours[:, mask], theirs[:, mask], self.users[mask],
                                   self.bootstrap, self.seed)
                for split, mask in self.split_masks().items()}

    def per_day(self, metric: str = "hr@10") -> tuple[np.ndarray, np.ndarray]:
        """(day, metric over that day's events) for every day with events."""
        days = self.steps // STEPS_PER_DAY
        present = np.unique(days)
        return present, np.array([summarise(self.ranks[days == d])[metric] for d in present])

    def to_dict(self) -> dict[str, Any]:
        """The JSON result (``docs/reproducibility.md`` (A run's result)): each split's metrics carry
        ``coverage`` and, unless ``bootstrap`` is 0, ``ci``: metric -> [low, high]."""
        metrics: dict[str, dict[str, Any]] = self.metrics()
        for split, bounds in self.intervals.items():
            metrics[split]["ci"] = {name: list(pair) for name, pair in bounds.items()}
        return {
            "learner": self.learner,
            "protocol": self.protocol,
            "availability": self.availability,
            "window": list(self.window),
            "metrics": metrics,
            "bootstrap": self.bootstrap,
            "objective": self.objective,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.n_events / self.seconds, 1) if self.seconds else None,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            **self.extra,
        }

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def table(self) -> str:
        """The metrics as an aligned text table, one line per split."""
        metrics = self.metrics()
        lines = [f"{'split':<11}{'n':>9}" + "".join(f"{m:>9}" for m in EVENT_METRICS)]
        for split, values in metrics.items():
            lines.append(f"{split:<11}{values['n']:>9}"
                         + "".join(f"{values[m]:>9.4f}" for m in EVENT_METRICS))
        return "\n".join(lines)
