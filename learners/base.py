"""The learner interface: what a policy must do to be replayed.

A learner is told each revealed step in time order and scores blocks of users against the
channels that are live. It owns only its model: the engine owns time, history, candidates,
ranking and metrics. Hyper-parameters go to the constructor; everything learned lives in
attributes ending in ``_``, created by :meth:`Learner.reset`.

A custom policy is a dozen lines:

>>> import numpy as np
>>> class MostWatchedNow(Learner):
...     '''Rank live channels by how many people are watching them right now.'''
...     def reset(self):
...         self.watching_ = np.zeros(0)
...     def observe(self, step):
...         self.watching_ = np.bincount(step.watching.streamer, minlength=step.n_streamers)
...     def score(self, users, candidates):
...         return known(self.watching_, candidates)[None, :]
>>> from replay.engine import replay
>>> from replay.data import read_csv, default_data_path
>>> result = replay(read_csv(default_data_path()), MostWatchedNow(), window=(4000, 4100))
>>> result.metrics()["all"]["n"] > 0
True
"""
from __future__ import annotations

import numpy as np

from replay.arrays import grow, known, positions  # noqa: F401  (helpers for learners)
from replay.step import Step


class Learner:
    """Base class of online learners.

    Parameters
    ----------
    seed
        Seed of every random choice the learner makes: same seed, same results.
    """

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    def reset(self) -> None:
        """Forget everything learned; called by the engine before the first step."""

    def observe(self, step: Step) -> None:
        """Learn from step ``step.t``, just revealed (see :class:`replay.step.Step`)."""

    def score(self, users: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Scores of ``candidates`` for each of ``users``, higher is better.

        Returns a float array of shape ``(len(users), len(candidates))``, or
        ``(1, len(candidates))`` when the scores are the same for every user. Users and
        candidates may be ids the learner has not seen yet (they are new at this step).
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"
