"""The learner contract: everything a policy may rely on, and everything it must do.

A learner is told each revealed step in time order and scores blocks of users against the
streamers that are live. It owns only its model: the engine owns time, history, candidates,
ranking and metrics (``docs/extending/learner.md``). A learner subclasses :class:`Learner`
and defines ``score`` (``reset`` and ``observe`` do nothing unless overridden).

Hyper-parameters and the seed are keyword arguments of the constructor, with defaults, each
stored unchanged in an attribute of its own name (scikit-learn's convention): so
:meth:`Learner.get_params` lists them and :meth:`Learner.clone` builds a new, unfitted learner
with the same ones, without the class saying anything. Everything learned lives in attributes
ending in ``_``, created by :meth:`Learner.reset`.

The engine calls, in this order:

1. ``reset()`` once, before anything else (again before a new replay);
2. ``observe(step)`` for steps t = 0, 1, 2, ... in increasing order, each once; a replay shows
   every step from 0 up to where it stops, empty ones included;
3. between two observes, any number of ``score(users, candidates, t)`` calls, where ``t`` is the
   step whose events are ranked. Everything observed so far happened before ``t``
   (``step.t < t``); in the hold-out protocol ``t`` may lie several steps after the last
   observed one, so time-aware features must measure gaps to ``t``, not to the last step.

What the arguments guarantee:

- ``users``: distinct integer user ids, sorted ascending; ``candidates``: distinct integer
  streamer ids, sorted ascending, never empty. Either may hold ids the learner has not been shown yet
  (ids at or above ``step.n_users`` / ``step.n_streamers`` of the last step): dense ids appear
  in order, so a new id is always larger than every id seen before.
- The arrays of a :class:`Step` (``available``, ``started``, ``watching``, ``ended``) are
  fresh copies: a learner may keep them. ``step.history`` is the engine's live view of the
  past: it grows as steps are revealed, and the arrays its methods return are read-only
  views, valid until the next ``observe``; copy what must outlive that.
- ``score`` returns floats of shape ``(len(users), len(candidates))``, or
  ``(1, len(candidates))`` when every user gets the same scores, or :class:`SparseScores`
  (a row shared by every user plus a few per-user additions, ranked without forming users x
  candidates); NaN is an error. Ranking is pessimistic on ties (:mod:`livereplay.ranking`):
  equal scores do not help a target.

A custom policy is a dozen lines:

>>> import numpy as np
>>> class MostWatchedNow(Learner):
...     '''Rank live streamers by how many people are watching them right now.'''
...     def reset(self):
...         self.watching_ = np.zeros(0)
...     def observe(self, step):
...         self.watching_ = np.bincount(step.watching.streamer, minlength=step.n_streamers)
...     def score(self, users, candidates, t):
...         return known(self.watching_, candidates)[None, :]
>>> from livereplay.engine import replay
>>> from livereplay.data import read_csv, default_data_path
>>> result = replay(read_csv(default_data_path()), MostWatchedNow(), window=(4000, 4100))
>>> result.metrics()["all"]["n"], round(result.metrics()["all"]["hr@10"], 4)
(977, 0.0624)
"""
from __future__ import annotations

import abc
import copy
import inspect
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from .arrays import positions
from .history import History

__all__ = ["Learner", "Rows", "Step", "History", "SparseScores", "known", "grow", "positions"]


class Rows(NamedTuple):
    """A set of log rows: aligned arrays of user, streamer and start step."""

    user: np.ndarray
    streamer: np.ndarray
    start: np.ndarray


@dataclass(frozen=True, eq=False)
class Step:
    """Step ``t`` as a platform knows it once it has happened.

    available -- A_t, the streamers live at t (sorted ids)
    started   -- rows starting at t
    watching  -- rows covering t (started ones included): who is watching what right now
    ended     -- rows whose last step was t-1 (``stop == t``)
    n_users, n_streamers -- ids known so far: dense ids below these (new ids appear in order)
    history   -- the whole revealed past, this step included (read-only, see the module)
    """

    t: int
    available: np.ndarray
    started: Rows
    watching: Rows
    ended: Rows
    n_users: int
    n_streamers: int
    history: History


@dataclass(frozen=True, eq=False)
class SparseScores:
    """Scores as one row shared by every user plus a few additions per user:
    ``score[u, c] = shared[c] + values[i]`` where ``(rows[i], columns[i]) == (u, c)``, else
    ``shared[c]``. For learners whose scores are a common part (popularity) plus a user's
    own few streamers: ranking reads them in O(events x log candidates), where a dense block
    costs users x candidates, the dominant cost of a replay at the full release's scale.

    shared  -- (C,) floats, one per candidate
    rows    -- index into the scored ``users`` of each addition
    columns -- index into the ``candidates`` of each addition; (row, column) pairs distinct
    values  -- the additions
    n_users -- number of users scored

    >>> scores = SparseScores(np.array([1.0, 2.0]), np.array([1]), np.array([0]),
    ...                       np.array([5.0]), n_users=2)
    >>> scores.dense()
    array([[1., 2.],
           [6., 2.]])
    """

    shared: np.ndarray
    rows: np.ndarray
    columns: np.ndarray
    values: np.ndarray
    n_users: int

    def dense(self) -> np.ndarray:
        """The (n_users, C) block these scores stand for (also what ``np.asarray`` gives)."""
        block = np.tile(np.asarray(self.shared, np.float64), (self.n_users, 1))
        block[self.rows, self.columns] += self.values
        return block

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        block = self.dense()
        return block if dtype is None else block.astype(dtype)


class Learner(abc.ABC):
    """Base class of online learners (see the module for the contract).

    Parameters
    ----------
    seed
        Seed of every random choice the learner makes: same seed, same results.
    """

    #: the cost of a replay relative to a counting baseline's (1): a sweep starts its
    #: costliest runs first, so that its processes finish together
    relative_cost: ClassVar[float] = 1.0

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    def reset(self) -> None:
        """Forget everything learned; called by the engine before the first step."""

    def observe(self, step: Step) -> None:
        """Learn from step ``step.t``, just revealed."""

    @abc.abstractmethod
    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray | SparseScores:
        """Scores of ``candidates`` for each of ``users`` at step ``t``, higher is better.

        Returns a float array of shape ``(len(users), len(candidates))``, or
        ``(1, len(candidates))`` when the scores are the same for every user, or
        :class:`SparseScores`.
        """

    @classmethod
    def _parameter_names(cls) -> list[str]:
        """The names of the constructor's arguments, read from its signature; each must be
        one that :meth:`clone` can pass by name."""
        names = []
        for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            if parameter.kind not in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ takes {parameter}: get_params() "
                                "and clone() need every parameter as a named argument")
            names.append(parameter.name)
        return names

    def get_params(self) -> dict[str, Any]:
        """Every constructor argument (hyper-parameters and ``seed``) with its current value,
        read from the attribute of the same name.

        >>> class Window(Learner):
        ...     def __init__(self, *, steps: int = 6, seed: int = 0) -> None:
        ...         super().__init__(seed=seed)
        ...         self.steps = steps
        ...     def score(self, users, candidates, t):
        ...         return np.zeros((1, len(candidates)))
        >>> Window(steps=3).get_params()
        {'steps': 3, 'seed': 0}
        """
        params = {}
        for name in self._parameter_names():
            if not hasattr(self, name):
                raise TypeError(f"{type(self).__name__} takes the parameter {name!r} but does "
                                f"not store it as self.{name}: get_params() and clone() need "
                                "every constructor argument under its own name")
            params[name] = getattr(self, name)
        return params

    def clone(self) -> Learner:
        """A new, unfitted learner of the same class with the same parameters (copies of
        them: changing one learner's does not change the other's)."""
        params = copy.deepcopy(self.get_params())
        clone = type(self)(**params)
        for name, value in params.items():
            if getattr(clone, name, None) is not value:
                raise TypeError(f"{type(self).__name__} does not store its parameter {name!r} "
                                f"unchanged as self.{name}: clone() cannot rebuild it")
        return clone

    def __repr__(self) -> str:
        params = ", ".join(f"{name}={value!r}" for name, value in self.get_params().items())
        return f"{type(self).__name__}({params})"


def known(values: np.ndarray, ids: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``values[ids]`` as floats, with ``fill`` for ids past the end (not seen yet).

    >>> known(np.array([4, 7]), np.array([1, 2]))
    array([7., 0.])
    """
    out = np.full(len(ids), fill, dtype=np.float64)
    seen = ids < len(values)
    out[seen] = values[ids[seen]]
    return out


def grow(values: np.ndarray, size: int, fill: float = 0.0) -> np.ndarray:
    """``values`` extended with ``fill`` to at least ``size`` rows (ids learnt of late);
    capacity doubles so that growing one id at a time stays cheap.

    >>> grow(np.array([1.0]), 3).tolist()
    [1.0, 0.0, 0.0]
    """
    if len(values) >= size:
        return values
    grown = np.full((max(size, 2 * len(values)),) + values.shape[1:], fill, dtype=values.dtype)
    grown[: len(values)] = values
    return grown
