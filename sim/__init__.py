"""A SimPy simulator of a live-streaming platform that writes logs in the replay layout.

>>> from sim import preset, simulate
>>> log = simulate(preset("tiny"), seed=0).to_log()   # a replay.data.Log, in memory
"""
from .calibration import log_stats
from .closed_loop import ClosedLoopReport, LearnerSlate, run_closed_loop
from .presets import PRESETS, SimParams, parse_overrides, preset
from .world import Platform, SimulatedLog, simulate

__all__ = ["PRESETS", "ClosedLoopReport", "LearnerSlate", "Platform", "SimParams",
           "SimulatedLog", "log_stats", "parse_overrides", "preset", "run_closed_loop",
           "simulate"]
