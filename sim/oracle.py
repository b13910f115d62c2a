"""``oracle``: the slate each simulated user is most likely to accept, read off the simulator's
own choice model.

A user shown the slate s_1 .. s_k takes s_i with probability proportional to
exp(v(u, s_i) - accept_position * log(1 + i)) against exp(accept_outside) for ignoring it
(:meth:`livereplay.sim.world.Platform.accept_from_slate`), where v is the user's affinity
for the streamer now: taste, familiarity and popularity. The chance to accept grows with
the sum of those weights, and the place weights fall with i, so the k streamers of highest
v, best first, give the highest chance of all slates (the rearrangement inequality). The
oracle scores every live streamer by v (:meth:`~livereplay.sim.world.Platform.slate_affinity`),
so its top-k slate is that one: no policy is accepted more often at any one moment. It
is not a learner (it reads the world, which no log shows): it bounds what a learner could
gain one slate at a time, and shows how far each policy is from it. It does not plan ahead:
a slate accepted now changes the familiarity behind later choices, which it takes as it
comes.

>>> from livereplay.sim.closed_loop import run_closed_loop
>>> from livereplay.sim.presets import preset
>>> report = run_closed_loop(preset("tiny"), Oracle(), seed=0, name="oracle")[0]
>>> round(report.feedback.overall["acceptance"], 3)
0.908
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from livereplay.contract import Learner

if TYPE_CHECKING:
    from .world import Platform


class Oracle(Learner):
    """Scores each live streamer by the simulated user's affinity for it under the choice
    model, as it is at the step (see the module). The closed loop hands it the platform
    (:meth:`attach`) before the first step; it learns nothing."""

    def attach(self, platform: Platform) -> None:
        """Read the choice model of ``platform`` from now on."""
        self.platform_ = platform

    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray:
        if not hasattr(self, "platform_"):
            raise RuntimeError("the oracle scores only inside the simulator's closed loop")
        return self.platform_.slate_affinity(users, candidates)
