"""What the engine reveals to a learner at one step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .history import History


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
    history   -- the whole revealed past, this step included (read-only)
    """

    t: int
    available: np.ndarray
    started: Rows
    watching: Rows
    ended: Rows
    n_users: int
    n_streamers: int
    history: History
