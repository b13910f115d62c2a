"""Plots of a comparison (matplotlib, written as PNG files without a screen).

They are drawn from each result's :func:`summary` (its metrics, intervals, speed and a metric
per day: no per-event arrays), small enough to be handed to another process, which draws
while the comparison writes its tables (matplotlib is imported only to draw).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..results import Result

BAR_METRICS = ("hr@1", "hr@10", "ndcg@10")
PER_DAY_METRIC = "hr@10"


def summary(result: Result) -> dict[str, Any]:
    """What the plots read of ``result``: its JSON record (``Result.to_dict``) and
    :data:`PER_DAY_METRIC` on each day with events."""
    days, values = result.per_day(PER_DAY_METRIC)
    return {**result.to_dict(), "days": days, "per_day": values}


def hit_rate_per_day(summaries: list[dict[str, Any]], path: Path) -> Path:
    """One line per learner: :data:`PER_DAY_METRIC` over each day's events."""
    fig, ax = pyplot().subplots(figsize=(8, 4.5))
    for result in summaries:
        ax.plot(result["days"], result["per_day"], marker="o", markersize=3,
                label=result["learner"])
    ax.set_xlabel("day")
    ax.set_ylabel(f"{PER_DAY_METRIC} ({summaries[0]['protocol']}, all events)")
    ax.set_title(f"{PER_DAY_METRIC} per day")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return save(fig, path)


def metrics_by_split(summaries: list[dict[str, Any]], path: Path) -> Path:
    """Grouped bars: for each metric, one group per split, one bar per learner, with the 95%
    interval of each (bootstrap over users) as an error bar when there is one."""
    splits = list(summaries[0]["metrics"])
    fig, axes = pyplot().subplots(1, len(BAR_METRICS), figsize=(4 * len(BAR_METRICS), 4),
                                  sharey=True)
    width = 0.8 / len(summaries)
    with_intervals = all("ci" in result["metrics"][split]
                         for result in summaries for split in splits)
    for ax, metric in zip(axes, BAR_METRICS):
        for i, result in enumerate(summaries):
            metrics = result["metrics"]
            values = np.array([metrics[s][metric] for s in splits])
            errors = None
            if with_intervals:
                low, high = np.array([metrics[s]["ci"][metric] for s in splits]).T
                errors = np.maximum(0, [values - low, high - values])
            ax.bar(np.arange(len(splits)) + i * width, values, width, yerr=errors,
                   capsize=2, error_kw={"elinewidth": 0.8}, label=result["learner"])
        ax.set_xticks(np.arange(len(splits)) + 0.4 - width / 2, splits)
        ax.set_title(metric)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize="small")
    if with_intervals:
        fig.suptitle("error bars: 95% intervals, bootstrap over users", fontsize="small")
    return save(fig, path)


def events_per_second(summaries: list[dict[str, Any]], path: Path) -> Path:
    """Replay throughput of each learner (log scale)."""
    fig, ax = pyplot().subplots(figsize=(6, 0.5 + 0.45 * len(summaries)))
    ax.barh([result["learner"] for result in summaries],
            [result["events_per_second"] or 0 for result in summaries])
    ax.set_xscale("log")
    ax.set_xlabel("events per second")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path)


def plot_all(summaries: list[dict[str, Any]], out: Path) -> list[Path]:
    """Every plot of a comparison (from its results' :func:`summary`), written into ``out``."""
    return [hit_rate_per_day(summaries, out / "hit_rate_per_day.png"),
            metrics_by_split(summaries, out / "metrics_by_split.png"),
            events_per_second(summaries, out / "events_per_second.png")]


def pyplot() -> Any:
    """matplotlib's pyplot, drawing without a screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path) -> Path:
    """Write ``fig`` to ``path`` as a PNG and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
    return path
