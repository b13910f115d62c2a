"""Reference baselines, defined exactly as in ``docs/learners/baselines.md``, so results can
be checked.

"Revealed so far" means rows with start at or before the last revealed step.
"""
from __future__ import annotations

import abc

import numpy as np

from livereplay.contract import History, Learner, SparseScores, Step, grow, known, positions


class Random(Learner):
    """Uniformly random scores.

    Parameters
    ----------
    seed
        Seeds the generator the scores are drawn from.
    """

    def reset(self) -> None:
        self.rng_ = np.random.default_rng(self.seed)

    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray:
        return self.rng_.random((len(users), len(candidates)))


class Popularity(Learner):
    """A streamer's score is the number of its rows revealed so far.

    Parameters
    ----------
    seed
        Unused: the learner draws nothing (every learner takes a seed).
    """

    def reset(self) -> None:
        self.rows_ = np.zeros(0, np.int64)

    def observe(self, step: Step) -> None:
        self.rows_ = step.history.streamer_rows()

    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray:
        return known(self.rows_, candidates)[None, :]


class DecayedPopularity(Learner):
    """Popularity where a row started ``a`` steps ago counts ``0.5 ** (a / half_life)``.

    Parameters
    ----------
    half_life
        Steps after which a row counts half (144 steps = one day).
    seed
        Unused: the learner draws nothing (every learner takes a seed).
    """

    def __init__(self, *, half_life: float = 144.0, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.half_life = half_life

    def reset(self) -> None:
        self.weight_ = np.zeros(0)
        self.t_ = 0

    def observe(self, step: Step) -> None:
        self.weight_ = grow(self.weight_, step.n_streamers)
        self.weight_ *= 0.5 ** ((step.t - self.t_) / self.half_life)
        np.add.at(self.weight_, step.started.streamer, 1.0)
        self.t_ = step.t

    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray:
        return known(self.weight_, candidates)[None, :]


class _PersonalThenPopular(Learner):
    """Score = personal(u, s) * (R + 1) + pop(s), where personal is a non-negative integer
    per (user, streamer) pair and R the number of rows revealed so far. Since pop <= R, this
    ranks by personal first and breaks ties by popularity, exactly as with R = the log's row
    count, without knowing the future."""

    relative_cost = 2.0  # a look-up of the users' pairs a step: twice a popularity's replay

    def reset(self) -> None:
        self.history_ = History()

    def observe(self, step: Step) -> None:
        self.history_ = step.history

    @abc.abstractmethod
    def personal(self, counts: np.ndarray, last_start: np.ndarray) -> np.ndarray:
        """The non-negative integer of each (user, streamer) pair the users have watched,
        given the pair's row count and last start."""

    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> SparseScores:
        history = self.history_
        owner, streamer, counts, last = history.user_pairs(users)
        column = positions(candidates, streamer)
        live = column >= 0
        return SparseScores(known(history.streamer_rows(), candidates), owner[live],
                            column[live], (self.personal(counts[live], last[live])
                                           * float(history.n_rows + 1)), n_users=len(users))


class Repeat(_PersonalThenPopular):
    """``count_u(s) * (R + 1) + pop(s)``: the user's own history first, popularity second.

    Parameters
    ----------
    seed
        Unused: the learner draws nothing (every learner takes a seed).
    """

    def personal(self, counts: np.ndarray, last_start: np.ndarray) -> np.ndarray:
        return counts


class RecentRepeat(_PersonalThenPopular):
    """The streamers the user watched most recently first (by last start), then popularity.

    Parameters
    ----------
    seed
        Unused: the learner draws nothing (every learner takes a seed).
    """

    def personal(self, counts: np.ndarray, last_start: np.ndarray) -> np.ndarray:
        return last_start + 1
