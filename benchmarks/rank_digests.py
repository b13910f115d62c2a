"""SHA-256 digests of every built-in learner's ranks on every protocol of the embedded sample.

A restructuring that must not change results is checked by running this before and after
and comparing the two listings line by line (``diff``): a digest covers the ranks, users,
steps and groups of every evaluated event, so any changed rank changes it.

    python benchmarks/rank_digests.py --jobs 2 > digests.txt
"""
from __future__ import annotations

import argparse
import hashlib

import numpy as np

from livereplay import RunSpec
from livereplay.learners.registry import BUILTIN

from livereplay.app.executors import execute

# protocol, candidates, holdout period
SETTINGS = [("starts", "log", None), ("starts", "others", None), ("starts", "span", None),
            ("next", "log", None), ("next", "span", None), ("holdout", None, "test"),
            ("holdout", None, "validation")]


def digest(result) -> str:
    """One hash of every evaluated event: rank, user, step and group."""
    hasher = hashlib.sha256()
    for values in (result.ranks, result.users, result.steps, result.kind):
        hasher.update(np.ascontiguousarray(values).tobytes())
    return hasher.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default=",".join(BUILTIN))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    specs, labels = [], []
    for protocol, candidates, period in SETTINGS:
        for learner in args.learners.split(","):
            options = {"availability": candidates} if candidates else {}
            if period:
                options["period"] = period
            specs.append(RunSpec(learner=learner, protocol=protocol, bootstrap=0, **options))
            labels.append(f"{protocol:8} {candidates or period:10} {learner:14}")
    for label, result in zip(labels, execute(specs, jobs=args.jobs, progress=False)):
        print(f"{label} {result.n_events:7d} {digest(result)}")


if __name__ == "__main__":
    main()
