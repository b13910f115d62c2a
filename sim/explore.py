"""Stochastic slates from any learner's scores, with the exact probability of what is shown.

A learner scores the live streamers; a policy turns the scores of each user into an ordered
slate of ``k``. Three policies, each a distribution over ordered slates:

* ``greedy`` -- the learner's best remaining streamer at each place, ties broken uniformly
  at random: the slate is the top k (probability 1 when no scores tie).
* ``epsilon:E`` -- place by place, in order: with probability E a streamer drawn uniformly
  among the live ones not yet placed, else the learner's best remaining one (ties uniformly).
  ``greedy`` is ``epsilon:0``.
* ``softmax:TAU`` -- Plackett-Luce: place by place, a streamer not yet placed drawn with
  probability proportional to ``exp(score / TAU)`` (k draws without replacement from the
  softmax of the scores).

What each computes, for the slates shown (``slates``: columns into the scored candidates):

* the **slate propensity**, the probability of the whole ordered slate: exact for every
  policy. For epsilon it is the product over places of ``E / m + (1 - E) [the streamer is a
  best remaining one] / (number of best remaining)``, m the streamers not yet placed; for
  Plackett-Luce the product of the sequential softmax shares.
* the **position propensities**, the marginal probability that the streamer shown at place j
  is shown at place j by a new draw of the policy. For greedy and epsilon they are exact: a
  streamer's chance at place j depends only on how many live streamers score above it
  (``r``) and tie with it (``g``), so a dynamic programme over (better placed, tied placed)
  gives it in O(k^3) per streamer. For Plackett-Luce the first two places are exact (the
  softmax share; the sum over every first streamer of its share times the streamer's share
  after it, O(live) per streamer); later places are exact by enumerating every ordered
  prefix when there are at most :data:`ENUMERATION_LIMIT` of them (a handful of live
  streamers), and otherwise estimated without bias by importance sampling: prefixes are
  drawn from the policy with the streamer left out, and each contributes the exact chance
  that the streamer is passed over at every earlier place and drawn at its own (always
  positive; its relative error shrinks as 1/sqrt(draws)).

Everything is vectorised over the users scored together (one row of scores each); loops run
over the k places only.

>>> policy = parse_exploration("epsilon:0.5")
>>> scores = np.array([[3.0, 2.0, 1.0]])
>>> policy.slate_probability(scores, np.array([[0, 1]])).round(4)   # (.5/3 + .5)(.5/2 + .5)
array([0.5])
>>> policy.position_probability(scores, np.array([[0, 1]])).round(4)
array([[0.6667, 0.5417]])
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from livereplay.errors import ReplayError

#: Kinds of policy, by the name ``--explore`` gives them.
KINDS = ("greedy", "epsilon", "softmax")
#: Most ordered prefixes enumerated for the exact position propensities of Plackett-Luce.
ENUMERATION_LIMIT = 4096
#: Prefixes drawn for the Plackett-Luce position propensities past the first place, when
#: there are too many to enumerate.
DRAWS = 32


@dataclass(frozen=True)
class Exploration:
    """A stochastic policy over ordered slates, built on a learner's scores (see the module).

    Parameters
    ----------
    kind
        ``greedy``, ``epsilon`` or ``softmax``.
    value
        E, the chance of a uniform draw at each place (epsilon), or TAU, the temperature of
        the softmax (softmax); 0 for greedy.
    draws
        Prefixes drawn to estimate the Plackett-Luce position propensities past the first
        place when they are too many to enumerate.
    """

    kind: str = "greedy"
    value: float = 0.0
    draws: int = DRAWS

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ReplayError(f"--explore {self.kind}: unknown policy (expected greedy, "
                              "epsilon:E or softmax:TAU)")
        if self.kind == "epsilon" and not 0 <= self.value <= 1:
            raise ReplayError(f"--explore epsilon:{self.value}: E must lie in [0, 1]")
        if self.kind == "softmax" and not (self.value > 0 and math.isfinite(self.value)):
            raise ReplayError(f"--explore softmax:{self.value}: TAU must be a positive number")
        if self.draws < 1:
            raise ReplayError(f"draws must be a positive integer, not {self.draws}")

    def __str__(self) -> str:
        return self.kind if self.kind == "greedy" else f"{self.kind}:{self.value:g}"

    @property
    def epsilon(self) -> float:
        """E of an epsilon policy; 0 for greedy."""
        return self.value if self.kind == "epsilon" else 0.0

    def sample(self, scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        """One slate per row of ``scores`` (n, C): an (n, min(k, C)) array of columns, first
        place first, drawn from the policy with ``rng``."""
        scores = _dense(scores)
        k = min(k, scores.shape[1])
        if self.kind == "softmax":
            return _top(scores / self.value + rng.gumbel(size=scores.shape), k)
        n, n_columns = scores.shape
        ranked = _greedy_order(scores, k, rng)
        slates = np.empty((n, k), np.int64)
        rows = np.arange(n)
        for place in range(k):
            placed = slates[:, :place]
            taken = (ranked[:, :place + 1, None] == placed[:, None, :]).any(axis=2)
            greedy = ranked[rows, np.argmax(~taken, axis=1)]
            uniform = _nth_remaining(rng.integers(n_columns - place, size=n), placed)
            slates[:, place] = np.where(rng.random(n) < self.epsilon, uniform, greedy)
        return slates

    def slate_probability(self, scores: np.ndarray, slates: np.ndarray) -> np.ndarray:
        """The exact probability of each row's ordered slate (columns of ``scores``), (n,)."""
        return np.prod(self._place_shares(_dense(scores), slates), axis=1)

    def prefix_probability(self, scores: np.ndarray, slates: np.ndarray) -> np.ndarray:
        """The exact probability of each row's first j + 1 places, for every j: (n, k)."""
        return np.cumprod(self._place_shares(_dense(scores), slates), axis=1)

    def position_probability(self, scores: np.ndarray, slates: np.ndarray,
                             rng: np.random.Generator | None = None) -> np.ndarray:
        """The marginal probability of each shown streamer at its place, (n, k): exact for
        greedy and epsilon, and for the first place of softmax; past it, see the module
        (``rng`` draws the prefixes when they are estimated; default: seeded with 0)."""
        scores = _dense(scores)
        if self.kind != "softmax":
            return _epsilon_marginals(scores, slates, self.epsilon)
        return _softmax_marginals(scores / self.value, slates, self.draws,
                                  rng if rng is not None else np.random.default_rng(0))

    def _place_shares(self, scores: np.ndarray, slates: np.ndarray) -> np.ndarray:
        """(n, k): the probability of each place's streamer given the places before it."""
        n, k = slates.shape
        rows = np.arange(n)[:, None]
        if self.kind == "softmax":
            logits = scores / self.value
            return np.exp(logits[rows, slates] - _log_left(logits, slates)[:, :k])
        remaining = np.ones(scores.shape, bool)
        shares = np.empty((n, k))
        epsilon = self.epsilon
        for place in range(k):
            left = np.where(remaining, scores, -np.inf)
            best = left.max(axis=1)
            n_best = (left == best[:, None]).sum(axis=1)
            chosen = slates[:, place]
            is_best = scores[rows[:, 0], chosen] == best
            shares[:, place] = (epsilon / (scores.shape[1] - place)
                                + (1 - epsilon) * is_best / n_best)
            remaining[rows[:, 0], chosen] = False
        return shares


def parse_exploration(text: str | None, *, draws: int = DRAWS) -> Exploration:
    """``greedy`` (or None), ``epsilon:E`` or ``softmax:TAU`` as an :class:`Exploration`.

    >>> parse_exploration("softmax:0.5")
    Exploration(kind='softmax', value=0.5, draws=32)
    """
    if text is None or text.strip() == "greedy":
        return Exploration(draws=draws)
    kind, sep, value = text.strip().partition(":")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or kind not in KINDS[1:] or math.isnan(number):
        raise ReplayError(f"--explore {text!r}: expected greedy, epsilon:E or softmax:TAU")
    return Exploration(kind, number, draws)


def _dense(scores: object) -> np.ndarray:
    return np.asarray(scores, np.float64)


def _top(keys: np.ndarray, k: int) -> np.ndarray:
    """The columns of the k largest keys of each row, largest first."""
    top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, 1), axis=1), 1)


def _logsumexp(values: np.ndarray) -> np.ndarray:
    """log(sum(exp(values))) of each row, -inf for a row of -inf only."""
    top = values.max(axis=1)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return shift + np.log(np.exp(values - shift[:, None]).sum(axis=1))


def _log_left(logits: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """(n, K + 1): the log of the softmax weight of each row outside its first j ``columns``
    (distinct), for j = 0..K: the weight outside all K joined with the columns' own from j on,
    in log space, so that no share underflows or cancels however far apart the scores."""
    outside = logits.copy()
    np.put_along_axis(outside, columns, -np.inf, 1)
    rest = _logsumexp(outside)[:, None]
    shown = np.take_along_axis(logits, columns, 1)
    tail = np.logaddexp.accumulate(shown[:, ::-1], axis=1)[:, ::-1]
    return np.column_stack([np.logaddexp(tail, rest), rest])


def _greedy_order(scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """The k best columns of each row, best first, ties in a uniformly random order: one
    uniform key per score orders each tie (the first unplaced column of this order is then
    uniform among the tied best unplaced ones, whatever else was placed), and only the
    columns at least the k-th score are sorted."""
    n_columns = scores.shape[1]
    kth = np.partition(scores, n_columns - k, axis=1)[:, n_columns - k, None]
    key = rng.random(scores.shape)
    key = np.where(scores > kth, 2.0 + key, np.where(scores == kth, key, -1.0))
    top = np.argpartition(-key, k - 1, axis=1)[:, :k]
    best_first = np.lexsort((-np.take_along_axis(key, top, 1),
                             -np.take_along_axis(scores, top, 1)), axis=-1)
    return np.take_along_axis(top, best_first, 1)


def _nth_remaining(index: np.ndarray, placed: np.ndarray) -> np.ndarray:
    """For each row, the ``index``-th column (from 0) among those not in its ``placed``."""
    column = index.astype(np.int64)
    for removed in np.sort(placed, axis=1).T:  # ascending: each shifts the later ones on
        column += removed <= column
    return column


def _epsilon_marginals(scores: np.ndarray, slates: np.ndarray, epsilon: float) -> np.ndarray:
    """Exact position propensities of epsilon (greedy: epsilon 0), vectorised over every
    (row, place) of ``slates``.

    For streamer s at place j: ``r`` live streamers score above it and ``g`` others tie
    with it. What has been placed before a place matters only through b (of the r placed)
    and t (of the g placed), and ``P[b, t]`` is the chance that s is still unplaced with b
    and t so; at a place with m streamers left, s is placed with chance ``(1 - E) [b = r] /
    (g - t + 1) + E / m``, one better with ``(1 - E) [b < r] + E (r - b) / m``, one tied
    with ``(1 - E) [b = r] (g - t) / (g - t + 1) + E (g - t) / m``, else one worse."""
    n, k = slates.shape
    n_columns = scores.shape[1]
    value = np.take_along_axis(scores, slates, 1)
    better = (scores[:, None, :] > value[:, :, None]).sum(axis=2)
    tied = (scores[:, None, :] == value[:, :, None]).sum(axis=2) - 1
    b = np.arange(k + 1)[:, None]
    t = np.arange(k + 1)[None, :]
    # better and tied ones still unplaced (clipped at 0 in the states s never reaches)
    ahead = np.maximum(better[:, :, None, None] - b, 0)
    level = np.maximum(tied[:, :, None, None] - t, 0)
    first = ahead == 0                    # s is among the best remaining
    state = np.zeros((n, k, k + 1, k + 1))
    state[:, :, 0, 0] = 1.0
    marginals = np.empty((n, k))
    for place in range(k):
        m = n_columns - place
        own = (1 - epsilon) * first / (level + 1) + epsilon / m
        marginals[:, place] = (state * own).sum(axis=(2, 3))[:, place]
        to_better = state * ((1 - epsilon) * (ahead > 0) + epsilon * ahead / m)
        to_tied = state * ((1 - epsilon) * first * level / (level + 1) + epsilon * level / m)
        stay = state * (epsilon * (m - 1 - ahead - level) / m)
        state = stay
        state[:, :, 1:, :] += to_better[:, :, :-1, :]
        state[:, :, :, 1:] += to_tied[:, :, :, :-1]
    return marginals


def _softmax_marginals(logits: np.ndarray, slates: np.ndarray, draws: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Plackett-Luce position propensities: exact at the first two places (the softmax
    share; the sum over every first streamer a of its share times the streamer's share once
    a is drawn); past them, exact by enumerating the ordered prefixes when few, else the mean
    over ``draws`` prefixes drawn from the policy without the streamer of the chance that
    the streamer is passed over at each earlier place and drawn at its own (the prefix's
    chance under the policy over its chance without the streamer is that product of
    passings, so the mean is unbiased and never 0). Shares are taken in log space."""
    n, k = slates.shape
    n_columns = logits.shape[1]
    rows = np.arange(n)
    own = np.take_along_axis(logits, slates, 1)
    total = _logsumexp(logits)
    marginals = np.empty((n, k))
    marginals[:, 0] = np.exp(own[:, 0] - total)
    if k == 1:
        return marginals
    first = np.exp(logits - total[:, None])  # each column's chance at the first place
    heaviest = np.argmax(logits, axis=1)
    with np.errstate(divide="ignore"):
        rest = total[:, None] + np.log1p(-np.minimum(first, 1.0))
    without = logits.copy()
    without[rows, heaviest] = -np.inf
    rest[rows, heaviest] = _logsumexp(without)  # summed, not subtracted: exact
    after = np.exp(own[:, 1, None] - rest)
    np.put_along_axis(after, slates[:, 1:2], 0.0, 1)
    marginals[:, 1] = (first * after).sum(axis=1)
    if k == 2:
        return marginals
    if math.perm(n_columns, k - 1) <= ENUMERATION_LIMIT:
        prefixes = np.array(list(itertools.permutations(range(n_columns), k - 1)), np.int64)
        for place in range(2, k):
            heads = np.unique(prefixes[:, :place], axis=0)          # (P, place)
            tiled = np.repeat(logits, len(heads), axis=0)
            left = _log_left(tiled, np.tile(heads, (n, 1)))          # (n P, place + 1)
            head_logits = np.take_along_axis(tiled, np.tile(heads, (n, 1)), 1)
            log_chance = ((head_logits - left[:, :place]).sum(axis=1)
                          + np.repeat(own[:, place], len(heads)) - left[:, place])
            free = (heads[None, :, :] != slates[:, place, None, None]).all(axis=2).ravel()
            chance = np.exp(np.where(free, log_chance, -np.inf))
            marginals[:, place] = chance.reshape(n, len(heads)).sum(axis=1)
        return marginals
    for place in range(2, k):  # prefixes drawn from the policy without the streamer
        hidden = logits.copy()
        hidden[rows, slates[:, place]] = -np.inf
        total_share = np.zeros(n)
        for _ in range(draws):
            prefix = _top(hidden + rng.gumbel(size=logits.shape), place)
            share = own[:, place, None] - _log_left(logits, prefix)  # log share at 0..place
            stays = np.log1p(-np.exp(share[:, :place])).sum(axis=1)
            total_share += np.exp(stays + share[:, place])
        marginals[:, place] = total_share / draws
    return marginals
