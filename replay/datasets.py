"""The published figures of the Twitch files, to check that a download is the right file.

Rappaz, McAuley & Aberer (RecSys 2021) publish the 100k file's figures exactly and the full
release's rounded (124M rows, 15.5M users, 465k streamers); a figure published rounded
matches a count that rounds to it. Rows are counted as in the file (exact duplicates
included), users and streamers as distinct ids, steps as the log's last stop.

>>> from livereplay.data import read_csv, default_data_path
>>> check = check_log(read_csv(default_data_path()), "twitch-100k")
>>> check.matches, [row.name for row in check.rows if not row.matches]
(False, ['rows', 'users', 'streamers'])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .data import Log
from .errors import ReplayError


class Figure(NamedTuple):
    """A published figure: its value and the unit it was rounded to (1: exact)."""

    value: int
    rounded_to: int = 1

    def matches(self, count: int) -> bool:
        return abs(count - self.value) * 2 <= self.rounded_to

    def __str__(self) -> str:
        if self.rounded_to == 1:
            return f"{self.value:,}"
        return (f"{self.value / 1e6:g}M" if self.value >= 1_000_000
                else f"{self.value / 1e3:g}k")


#: dataset name -> figure name -> the published figure
PUBLISHED: dict[str, dict[str, Figure]] = {
    "twitch-100k": {"rows": Figure(3_051_733), "users": Figure(100_000),
                    "streamers": Figure(162_625), "steps": Figure(6_148)},
    "twitch-full": {"rows": Figure(124_000_000, 1_000_000),
                    "users": Figure(15_500_000, 100_000),
                    "streamers": Figure(465_000, 1_000), "steps": Figure(6_148)},
}


class Row(NamedTuple):
    name: str
    count: int
    published: Figure
    matches: bool


@dataclass(frozen=True)
class Check:
    """A log's figures against a dataset's published ones."""

    dataset: str
    source: str
    rows: list[Row]

    @property
    def matches(self) -> bool:
        return all(row.matches for row in self.rows)

    def describe(self) -> str:
        """A table of the figures, then the verdict and what differs."""
        width = max(len(row.name) for row in self.rows)
        lines = [f"{'':<{width}}  {'this file':>14}  {'published':>12}"]
        lines += [f"{row.name:<{width}}  {row.count:>14,}  {str(row.published):>12}  "
                  f"{'ok' if row.matches else 'DIFFERS'}" for row in self.rows]
        if self.matches:
            lines.append(f"{self.source} matches the published figures of {self.dataset}")
        else:
            differing = ", ".join(f"{row.name} {row.count:,} (published {row.published})"
                                  for row in self.rows if not row.matches)
            lines.append(f"{self.source} is not {self.dataset}: {differing}")
        return "\n".join(lines)


def check_log(log: Log, dataset: str) -> Check:
    """``log``'s rows, users, streamers and steps against the figures published for
    ``dataset`` (a key of :data:`PUBLISHED`)."""
    if dataset not in PUBLISHED:
        raise ReplayError(f"unknown dataset {dataset!r}; choose from {', '.join(PUBLISHED)}")
    counts = {"rows": log.n_rows + log.report.duplicates, "users": log.n_users,
              "streamers": log.n_streamers, "steps": log.n_steps}
    return Check(dataset, log.source, [Row(name, counts[name], figure, figure.matches(counts[name]))
                                       for name, figure in PUBLISHED[dataset].items()])
