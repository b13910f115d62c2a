"""Plots of a comparison (matplotlib, written as PNG files without a screen)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from .results import Result  # noqa: E402

BAR_METRICS = ("hr@1", "hr@10", "ndcg@10")


def hit_rate_per_day(results: list[Result], path: Path, metric: str = "hr@10") -> Path:
    """One line per learner: the metric over each day's events."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for result in results:
        days, values = result.per_day(metric)
        ax.plot(days, values, marker="o", markersize=3, label=result.learner)
    ax.set_xlabel("day")
    ax.set_ylabel(f"{metric} ({results[0].protocol}, all events)")
    ax.set_title(f"{metric} per day")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, path)


def metrics_by_split(results: list[Result], path: Path) -> Path:
    """Grouped bars: for each metric, one group per split, one bar per learner, with the 95%
    interval of each (bootstrap over users) as an error bar when there is one."""
    splits = list(results[0].metrics())
    fig, axes = plt.subplots(1, len(BAR_METRICS), figsize=(4 * len(BAR_METRICS), 4), sharey=True)
    width = 0.8 / len(results)
    for ax, metric in zip(axes, BAR_METRICS):
        for i, result in enumerate(results):
            metrics, intervals = result.metrics(), result.intervals
            values = np.array([metrics[s][metric] for s in splits])
            bounds = np.array([intervals[s][metric] for s in splits]).T if intervals else None
            errors = None if bounds is None else np.maximum(0, [values - bounds[0],
                                                                bounds[1] - values])
            ax.bar(np.arange(len(splits)) + i * width, values, width, yerr=errors,
                   capsize=2, error_kw={"elinewidth": 0.8}, label=result.learner)
        ax.set_xticks(np.arange(len(splits)) + 0.4 - width / 2, splits)
        ax.set_title(metric)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize="small")
    if results[0].intervals:
        fig.suptitle("error bars: 95% intervals, bootstrap over users", fontsize="small")
    return _save(fig, path)


def events_per_second(results: list[Result], path: Path) -> Path:
    """Replay throughput of each learner (log scale)."""
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(results)))
    speeds = [result.to_dict()["events_per_second"] or 0 for result in results]
    ax.barh([result.learner for result in results], speeds)
    ax.set_xscale("log")
    ax.set_xlabel("events per second")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def plot_all(results: list[Result], out: Path) -> list[Path]:
    """Every plot of a comparison, written into ``out``."""
    return [hit_rate_per_day(results, out / "hit_rate_per_day.png"),
            metrics_by_split(results, out / "metrics_by_split.png"),
            events_per_second(results, out / "events_per_second.png")]


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
