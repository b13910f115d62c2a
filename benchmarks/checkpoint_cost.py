"""What a checkpoint costs: its size on disk and the seconds to write it, for learners
replayed on a log (a simulated 3-million-row ``twitch-100k`` log unless ``--data`` is given),
with a checkpoint every ``--every`` steps; and the replay's seconds with and without them.
With ``--spilled N``, instead: a checkpoint of a replay that has ranked N events (spilled to
temporary files past 2^24, as a ``next`` replay of the full release does): its seconds, its
size on disk, and how far it raised the process's peak memory.

    python benchmarks/checkpoint_cost.py
    python benchmarks/checkpoint_cost.py --data 100k_a.csv --learners mf,liverec --every 500
    python benchmarks/checkpoint_cost.py --spilled 100000000
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from livereplay.cache import load_log
from livereplay.checkpoint import Checkpointer
from livereplay.engine import replay
from livereplay.learners.registry import make_learner
from livereplay.outcomes import Outcomes
from livereplay.protocols import Outcome


class TimedCheckpointer(Checkpointer):
    """A Checkpointer that records how long each write took."""

    def save(self, t: int, state: dict) -> None:
        began = time.perf_counter()
        super().save(t, state)
        self.writes_ = [*getattr(self, "writes_", []), time.perf_counter() - began]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spilled_checkpoint(n_events: int, folder: Path) -> None:
    """Rank ``n_events`` random events into a replay's outcomes, a step of 100,000 at a time,
    then checkpoint them, printing what the checkpoint cost."""
    rng = np.random.default_rng(0)
    step = 100_000
    ranks = rng.integers(0, 50, step).astype(np.float64)
    users = rng.integers(0, 10**7, step).astype(np.int32)
    kind = rng.random(step) < 0.1
    outcomes = Outcomes()
    for t in range(-(-n_events // step)):
        size = min(step, n_events - t * step)
        outcomes.append(Outcome(ranks[:size], users[:size], np.full(size, t, np.int32),
                                kind[:size]))
    before = peak_mb()
    saver = Checkpointer(folder, identity="spilled", every_steps=1, every_minutes=None)
    began = time.perf_counter()
    saver.save(0, {"outcomes": outcomes})
    seconds = time.perf_counter() - began
    size = sum(path.stat().st_size for path in folder.iterdir()) / 2**20
    print(f"{n_events:,} events ({outcomes.spilled:,} spilled): checkpoint {seconds:.1f} s, "
          f"{size:,.0f} MB on disk; peak memory {before:,.0f} MB before it, "
          f"{peak_mb():,.0f} MB after")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a log file (default: a simulated 3M-row log)")
    parser.add_argument("--learners", default="mf,liverec")
    parser.add_argument("--every", type=int, default=1000, help="steps between checkpoints")
    parser.add_argument("--spilled", type=int, metavar="N",
                        help="measure a checkpoint of N ranked events instead")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="livereplay-checkpoint-"))
    if args.spilled is not None:
        spilled_checkpoint(args.spilled, work / "spilled")
        return
    data = args.data
    if data is None:
        from livereplay.sim import preset, simulate

        data = work / "twitch-100k-sim.csv"
        simulate(preset("twitch-100k"), seed=0).write_csv(data)
    log = load_log(data, cache_dir=work / "cache")
    print(f"data: {data.name}  rows {log.n_rows:,}  steps {log.n_steps:,}\n")
    print(f"{'learner':<10}{'checkpoints':>12}{'MB each (last)':>16}{'s per write':>13}"
          f"{'replay s':>10}{'with ckpt s':>13}")
    for name in args.learners.split(","):
        began = time.perf_counter()
        replay(log, make_learner(name))
        plain = time.perf_counter() - began
        saver = TimedCheckpointer(work / name, identity=name, every_steps=args.every,
                                  every_minutes=None)
        began = time.perf_counter()
        replay(log, make_learner(name), checkpoint=saver)
        checkpointed = time.perf_counter() - began
        last = max(saver.folder.glob("step-*.ckpt"), key=lambda p: p.stat().st_mtime)
        print(f"{name:<10}{len(saver.writes_):>12}{last.stat().st_size / 2**20:>16.1f}"
              f"{sum(saver.writes_) / len(saver.writes_):>13.2f}{plain:>10.1f}"
              f"{checkpointed:>13.1f}")


if __name__ == "__main__":
    main()
