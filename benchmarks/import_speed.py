"""Speed and peak memory of `livereplay import kuailive` on a simulated KuaiLive-shaped folder.

The folder is written once from a simulated log and its true schedule
(:func:`livereplay.sim.kuailive.write_kuailive_folder`), then imported by the command line
in a fresh process, whose peak resident memory is read when it ends; the imported log is
checked against the simulated one (same rows).

    python benchmarks/import_speed.py                              # about 6M clicks
    python benchmarks/import_speed.py --preset twitch-100k --scale 1
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from livereplay.data import read_csv
from livereplay.sim.kuailive import write_kuailive_folder
from livereplay.sim.presets import preset
from livereplay.sim.world import simulate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="twitch-full")
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("import-speed-work"),
                        help="folder of the KuaiLive-shaped folder and the import (reused)")
    args = parser.parse_args()
    folder = args.work / f"{args.preset}-{args.scale:g}-{args.seed}"
    simulated = None
    if not (folder / "room.csv").exists():
        began = time.perf_counter()
        simulated = simulate(preset(args.preset).scaled(args.scale), args.seed)
        write_kuailive_folder(simulated, folder)
        print(f"wrote {folder}: {len(simulated.user):,} clicks, "
              f"{len(simulated.schedule.start):,} rooms in {time.perf_counter() - began:.0f} s")
    out = args.work / f"{folder.name}.csv"
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "livereplay.app.cli", "import", "kuailive",
                    str(folder), "--out", str(out)], check=True)
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    clicks = sum(1 for _ in open(folder / "click.csv", "rb")) - 1
    rooms = sum(1 for _ in open(folder / "room.csv", "rb")) - 1
    print(f"import kuailive: {clicks:,} clicks and {rooms:,} rooms in {seconds:.1f} s "
          f"(process start included): {clicks / seconds:,.0f} clicks/s, "
          f"{(clicks + rooms) / seconds:,.0f} rows/s, peak memory {peak_mb:,.0f} MB")
    if simulated is not None:
        imported, expected = read_csv(out), simulated.to_log()
        same = all(np.array_equal(getattr(imported, c), getattr(expected, c))
                   for c in ("user", "stream", "streamer", "start", "stop"))
        print(f"imported rows equal the simulated ones: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
