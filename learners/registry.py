"""Finding learners by name: the built-in ones, ``module:Class`` paths, and entry points.

Built-in learners are listed by import path so that naming one imports only its module
(TensorFlow is loaded only when a TensorFlow learner is asked for).

>>> make_learner("pop", seed=1)
Popularity(seed=1)
"""
from __future__ import annotations

from typing import Any

from livereplay.contract import Learner
from livereplay.errors import LearnerError
from livereplay.plugins import find, names

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
#: name -> import path of every built-in learner
PATHS = {name: path for name, (path, _) in BUILTIN.items()}


def available_learners() -> dict[str, str]:
    """Name -> description of every learner that can be named (built-in and entry points)."""
    return {name: BUILTIN[name][1] if name in BUILTIN else f"from {where}"
            for name, where in names(PATHS, group=ENTRY_POINT_GROUP).items()}


def learner_class(spec: str) -> type[Learner]:
    """The class named by ``spec``: a built-in name, an entry point, or ``module:Class``."""
    return find(spec, PATHS, group=ENTRY_POINT_GROUP, kind="learner", error=LearnerError)


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
