"""The outcome of a replay: every event's rank, its metrics, and the JSON result."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .data import STEPS_PER_DAY
from .metrics import METRICS, summarise


@dataclass(eq=False)
class Result:
    """Ranks of every evaluated event, with the step it happened at and its split.

    ``kind[i]`` is True for the first split of ``splits`` (repeat / continuing) and False for
    the second (new / fresh); ``users[i]`` is the event's user.
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

    @property
    def n_events(self) -> int:
        return len(self.ranks)

    def metrics(self) -> dict[str, dict[str, float]]:
        """Split name -> metrics (``all`` and the protocol's two splits)."""
        return {
            "all": summarise(self.ranks),
            self.splits[0]: summarise(self.ranks[self.kind]),
            self.splits[1]: summarise(self.ranks[~self.kind]),
        }

    def per_day(self, metric: str = "hr@10") -> tuple[np.ndarray, np.ndarray]:
        """(day, metric over that day's events) for every day with events."""
        days = self.steps // STEPS_PER_DAY
        present = np.unique(days)
        return present, np.array([summarise(self.ranks[days == d])[metric] for d in present])

    def to_dict(self) -> dict[str, Any]:
        return {
            "learner": self.learner,
            "protocol": self.protocol,
            "availability": self.availability,
            "window": list(self.window),
            "metrics": self.metrics(),
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
        lines = [f"{'split':<11}{'n':>9}" + "".join(f"{m:>9}" for m in METRICS)]
        for split, values in metrics.items():
            lines.append(f"{split:<11}{values['n']:>9}"
                         + "".join(f"{values[m]:>9.4f}" for m in METRICS))
        return "\n".join(lines)
