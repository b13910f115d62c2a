"""Finding learners by name: the built-in ones, ``module:Class`` paths, and entry points.

Built-in learners are listed by import path so that naming one imports only its module
(TensorFlow is loaded only when a TensorFlow learner is asked for).

>>> make_learner("pop", seed=1)
Popularity(seed=1)
"""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from livereplay.contract import Learner
from livereplay.errors import LearnerError

ENTRY_POINT_GROUP = "livereplay.learners"

# name -> (import path, one-line description)
BUILTIN: dict[str, tuple[str, str]] = {
    "random": ("livereplay.learners.baselines:Random", "uniformly random scores (seeded)"),
    "pop": ("livereplay.learners.baselines:Popularity", "rows of each streamer revealed so far"),
    "recent-pop": ("livereplay.learners.baselines:DecayedPopularity",
                   "popularity with exponentially decayed counts (half-life in steps)"),
    "repeat": ("livereplay.learners.baselines:Repeat",
               "the user's own row count per streamer, then popularity"),
    "repeat-recent": ("livereplay.learners.baselines:RecentRepeat",
                      "the streamer the user watched most recently, then popularity"),
    "mf": ("livereplay.learners.mf:MF", "online matrix factorisation (TensorFlow), softmax over A_t"),
    "fpmc": ("livereplay.learners.transition:FPMC",
             "online FPMC (TensorFlow): user taste + transition from the previous streamer"),
    "lstm": ("livereplay.learners.sequence:LSTM",
             "an LSTM over the user's recent streamers (TensorFlow), trained online"),
    "liverec": ("livereplay.learners.sequence:LiveRec",
                "self-attention over the user's history + time-since-last-watch (TensorFlow)"),
    "blend": ("livereplay.learners.blend:RepeatBlend",
              "live repeat signals + liverec, weights learnt online (conditional logit)"),
}


def available_learners() -> dict[str, str]:
    """Name -> description of every learner that can be named (built-in and entry points)."""
    names = {name: description for name, (_, description) in BUILTIN.items()}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(entry.name, f"from {entry.value}")
    return names


def _import(path: str) -> Any:
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise LearnerError(f"cannot import learner module {module_name!r}: {error}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise LearnerError(f"module {module_name!r} has no {attribute!r}") from None


def learner_class(spec: str) -> type[Learner]:
    """The class named by ``spec``: a built-in name, an entry point, or ``module:Class``."""
    if spec in BUILTIN:
        return _import(BUILTIN[spec][0])
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=spec):
        return entry.load()
    if ":" in spec:
        return _import(spec)
    raise LearnerError(f"unknown learner {spec!r}; known: {', '.join(available_learners())}"
                       " (or give module:Class)")


def make_learner(spec: str, *, seed: int = 0, **hyper: Any) -> Learner:
    """Build the learner named by ``spec`` with a seed and hyper-parameters."""
    cls = learner_class(spec)
    try:
        learner = cls(seed=seed, **hyper)
    except TypeError as error:
        raise LearnerError(f"cannot build learner {spec!r}: {error}") from None
    for method in ("reset", "observe", "score"):
        if not callable(getattr(learner, method, None)):
            raise LearnerError(f"learner {spec!r} has no {method}() method")
    return learner
