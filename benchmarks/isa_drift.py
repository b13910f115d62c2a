"""Do results depend on the CPU's instruction set? Every learner replayed on the embedded
sample under three x86-64 profiles, in separate processes, and their ranks compared.

NumPy picks SIMD kernels at run time from the CPU's features, and so do OpenBLAS (NumPy's
matrix products) and oneDNN (TensorFlow's matrix products); the rest of TensorFlow's CPU kernels
are compiled once for the wheel's instruction set. livereplay caps oneDNN at AVX
(``ONEDNN_MAX_CPU_ISA``, see ``livereplay.learners.tf_common``). What no feature switch can
emulate is another maker's CPU: approximate instructions (the reciprocals behind TensorFlow's
rsqrt and softmax, which the learners avoid) and cache sizes differ there, so a check across
makers is ``benchmarks/rank_digests.py`` run on a machine of each and compared. This script
emulates other x86-64 CPUs on the machine it runs on by switching features off:

- ``native``: everything the CPU has (AVX-512 where present);
- ``avx2``: NumPy without its AVX-512 kernels, OpenBLAS's Haswell kernels (a 2013-2020 CPU);
- ``sse4``: NumPy at its x86-64-v2 baseline, OpenBLAS's Nehalem kernels (the oldest supported);
- ``uncapped``: oneDNN free to use every instruction the CPU has, as before the cap: the size
  of the differences between CPUs that the cap removes.

For each learner it prints whether the ranks are byte-identical to ``native`` and, where not,
the share of events ranked differently and the largest metric difference.

    python benchmarks/isa_drift.py                       # test days 32-42, every learner
    python benchmarks/isa_drift.py --days 14-17 --learners mf,lstm
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PROFILES = {
    "native": {},
    "avx2": {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
             "OPENBLAS_CORETYPE": "Haswell"},
    "sse4": {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
             "OPENBLAS_CORETYPE": "Nehalem"},
    "uncapped": {"ONEDNN_MAX_CPU_ISA": "DEFAULT"},
}

# Replays each learner named on the command line and saves its ranks and metrics.
CHILD = """
import json, sys
import numpy as np
from livereplay.app.runner import RunSpec, load_data, run
out, days, names = sys.argv[1], sys.argv[2], sys.argv[3:]
log = load_data(RunSpec(), report=False)
metrics, ranks = {}, {}
for name in names:
    result = run(RunSpec(learner=name, days=days), log=log, progress=False)
    ranks[name], metrics[name] = result.ranks, result.metrics()
np.savez(out + ".npz", **ranks)
open(out + ".json", "w").write(json.dumps(metrics))
"""


def run_profile(profile: str, days: str, learners: list[str], folder: Path
                ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """Ranks and metrics of every learner replayed under ``profile``'s CPU features."""
    out = folder / profile
    env = {**os.environ, **PROFILES[profile]}
    subprocess.run([sys.executable, "-c", CHILD, str(out), days, *learners], env=env,
                   check=True)
    with np.load(f"{out}.npz") as ranks:
        return dict(ranks), json.loads(Path(f"{out}.json").read_text())


def found_features() -> set[str]:
    """The NumPy SIMD features this CPU has beyond NumPy's baseline."""
    from numpy._core._multiarray_umath import __cpu_features__ as features
    return {name for name, on in features.items() if on}


def main() -> None:
    from livereplay.learners.registry import BUILTIN

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", default="32-42",
                        help="evaluated days of the embedded sample (default: the test days)")
    parser.add_argument("--learners", default=",".join(BUILTIN),
                        help="comma-separated learners (default: every built-in one)")
    args = parser.parse_args()
    learners = args.learners.split(",")
    have = found_features()
    for name, settings in PROFILES.items():  # NumPy refuses to disable what the CPU lacks
        if "NPY_DISABLE_CPU_FEATURES" in settings:
            kept = [f for f in settings["NPY_DISABLE_CPU_FEATURES"].split() if f in have]
            settings["NPY_DISABLE_CPU_FEATURES"] = " ".join(kept)
    with tempfile.TemporaryDirectory() as folder:
        runs = {profile: run_profile(profile, args.days, learners, Path(folder))
                for profile in PROFILES}
    reference_ranks, reference_metrics = runs["native"]
    print(f"days {args.days}; CPU features beyond NumPy's baseline: "
          f"{' '.join(sorted(have)) or 'none'}")
    print(f"{'learner':14} {'events':>7} " + " ".join(f"{p:>28}" for p in PROFILES if p != "native"))
    for name in learners:
        cells = []
        for profile in PROFILES:
            if profile == "native":
                continue
            ranks, metrics = runs[profile]
            same = np.array_equal(ranks[name], reference_ranks[name], equal_nan=True)
            if same:
                cells.append("identical")
                continue
            moved = np.mean(ranks[name] != reference_ranks[name])
            worst = max(abs(value - metrics[name][split][metric])
                        for split, values in reference_metrics[name].items()
                        for metric, value in values.items())
            cells.append(f"{moved:.2%} ranks, max |Δ| {worst:.4f}")
        print(f"{name:14} {len(reference_ranks[name]):7d} " + " ".join(f"{c:>28}" for c in cells))


if __name__ == "__main__":
    main()
