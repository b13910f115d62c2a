"""A SimPy simulator of a live-streaming platform that writes logs in the replay layout.

>>> from livereplay.sim import preset, simulate
>>> log = simulate(preset("tiny"), seed=0).to_log()   # a livereplay.data.Log, in memory
>>> log.n_rows, log.n_users, log.n_streamers
(1068, 334, 262)

Names are imported on first use, so that ``import livereplay.sim`` (and the command line's
help) does not load SimPy.
"""
from importlib import import_module
from typing import Any

_HOMES = {"log_stats": "calibration", "ClosedLoopReport": "closed_loop",
          "LearnerSlate": "closed_loop", "run_closed_loop": "closed_loop", "PRESETS": "presets",
          "SimParams": "presets", "parse_overrides": "presets", "preset": "presets",
          "LogSummary": "world", "Platform": "world", "SimulatedLog": "world",
          "simulate": "world", "simulate_to_csv": "world"}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)
