"""How close off-policy estimates come to the truth, in simulated worlds where it is known.

For each logging policy (a learner with an exploration policy) and seed, the logging run's
feedback folder is written (``livereplay simulate --feedback``); every target learner
(greedy) is valued from it by each estimator (``livereplay ope``), with its 95% interval.
Two truths:

- the one-step truth: the target's expected acceptance at each logged moment under the
  simulator's choice model, averaged over the records -- the logging run is run again (same
  seed, same world, same slates) with the target's slates at each record evaluated by
  :meth:`livereplay.sim.world.Platform.choice_probabilities` without being shown (exact
  given a slate; averaged over the target's drawn slates, 16 per record, where its ties
  make it random);
- the closed-loop truth: the target itself run in closed loop in the same world (its
  acceptance per shown slate), and the gap between the two truths (what evaluating on the
  logging policy's moments, where users and their pasts were shaped by it, misses).

Printed per logging policy and target: both truths, the effective share of the places'
weights (:func:`livereplay.ope.effective_share`: near 0 when a few places carry the weighted
estimators), then each estimator's mean relative error against the one-step truth over seeds
and the share of seeds whose interval covers it. The table goes into docs/ope.md (block
``measured: ope``) unless --no-write.

    python benchmarks/ope_validation.py                       # the docs' table (minutes)
    python benchmarks/ope_validation.py --help                # every option
    python benchmarks/ope_validation.py --days 2 --loggers random/epsilon:0.5,pop/softmax:0.5,repeat/epsilon:0.3
    python benchmarks/ope_validation.py --days 7 --seeds 0,1,2,3,4 \\
        --loggers random/epsilon:0.5,pop/softmax:0.5,repeat/epsilon:0.3,mf/softmax:0.5 \\
        --targets pop,repeat,mf --no-write                    # bigger (an hour or more)
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from livereplay.app.ope import evaluate, log_feedback
from livereplay.app.tables import markdown_table, provenance, update_blocks
from livereplay.data import STEPS_PER_DAY
from livereplay.learners.registry import make_learner
from livereplay.ope import ESTIMATORS
from livereplay.sim.closed_loop import run_closed_loop
from livereplay.sim.explore import Exploration
from livereplay.sim.presets import preset

PAGE = Path(__file__).resolve().parents[1] / "docs" / "ope.md"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--preset", default="twitch-sample", help="the simulated world")
    parser.add_argument("--days", type=int, default=1, help="days simulated (default 1)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--loggers",
                        default="pop/softmax:0.5,repeat/epsilon:0.3,random/epsilon:1.0,"
                                "liverec/softmax:0.5",
                        help="logging policies, LEARNER/EXPLORE, comma-separated")
    parser.add_argument("--targets", default="pop,repeat,mf,liverec",
                        help="target learners (greedy)")
    parser.add_argument("--switch-threshold", type=float, default=10.0)
    parser.add_argument("--resamples", type=int, default=200,
                        help="bootstrap resamples behind each interval")
    parser.add_argument("--work", default=None, help="folder for the feedback folders")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/ope.md")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    began = time.perf_counter()
    params = preset(args.preset, n_steps=args.days * STEPS_PER_DAY)
    seeds = [int(s) for s in args.seeds.split(",")]
    loggers = [tuple(spec.split("/")) for spec in args.loggers.split(",")]
    targets = args.targets.split(",")
    work = Path(args.work or tempfile.mkdtemp(prefix="ope-validation-"))
    closed_loop = {(target, seed): run_closed_loop(
        params, make_learner(target, seed=seed), seed, exploration=Exploration())[0]
        .feedback.overall["acceptance"] for target in targets for seed in seeds}
    rows = []
    for learner, explore in loggers:
        found = {target: {"truth": [], "closed": [], "share": [], **{e: [] for e in ESTIMATORS}}
                 for target in targets}
        for seed in seeds:
            folder = work / f"{learner}-{explore.replace(':', '')}-{seed}"
            log_feedback(params, learner, folder, seed=seed, explore=explore)
            reports = {target: evaluate(folder, target, seed=seed,
                                        switch_threshold=args.switch_threshold,
                                        resamples=args.resamples) for target in targets}
            draws = [report.replay.draws for report in reports.values()]
            probe = list(np.concatenate(draws, axis=1))
            records = log_feedback(params, learner, work / "probe", seed=seed,
                                   explore=explore, probe=probe)[0]
            accepted = np.concatenate(records.probe_acceptance)
            for i, target in enumerate(targets):
                m = draws[0].shape[1]
                truth = float(accepted[:, i * m:(i + 1) * m].mean())
                found[target]["truth"].append(truth)
                found[target]["closed"].append(closed_loop[target, seed])
                found[target]["share"].append(reports[target].effective_share)
                for name, values in reports[target].estimates.items():
                    e = values["acceptance"]
                    found[target][name].append((abs(e.value - truth) / truth, e.covers(truth)))
        for target in targets:
            truth, closed = np.mean(found[target]["truth"]), np.mean(found[target]["closed"])
            cells = []
            for name in ESTIMATORS:
                errors, covered = zip(*found[target][name])
                cells.append(f"{100 * np.mean(errors):.1f}% ({np.mean(covered):.0%})")
            rows.append((f"`{learner}` {explore}", f"`{target}`", f"{truth:.4f}",
                         f"{closed:.4f}", f"{closed - truth:+.4f}",
                         f"{np.mean(found[target]['share']):.3f}", *cells))
            print(" | ".join(rows[-1]), flush=True)
    header = ("logging policy", "target", "one-step truth", "closed-loop truth", "gap",
              "effective share", *ESTIMATORS)
    table = markdown_table(header, rows)
    caption = (f"Acceptance per shown slate of each greedy target, valued from each logging "
               f"policy's feedback in the `{args.preset}` world over {args.days} "
               f"day{'s' * (args.days != 1)}, seeds "
               f"{args.seeds}: the truths and the effective share of the places' weights "
               f"(means over seeds), then each estimator's mean "
               f"relative error against the one-step truth and, in brackets, the share of "
               f"seeds whose 95% interval ({args.resamples} resamples) covers it; switch-dr "
               f"with threshold {args.switch_threshold:g}. " + provenance(
                   f"python benchmarks/ope_validation.py --preset {args.preset} --days "
                   f"{args.days} --seeds {args.seeds} --loggers {args.loggers} --targets "
                   f"{args.targets}", time.perf_counter() - began) + ".")
    print()
    print(caption)
    print(table)
    if not args.no_write:
        update_blocks([PAGE], {"ope": f"{caption}\n\n{table}"}, "measured", write=True)


if __name__ == "__main__":
    main()
