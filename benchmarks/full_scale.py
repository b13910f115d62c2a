"""The full Twitch release's scale on one machine: seconds, throughput, peak memory and hit
rates of simulating, parsing, opening and replaying a 124M-row log, beside the same figures
at 3M rows, written into a generated page.

For each log (a simulated ``twitch-full`` log at ``--scale``, and a simulated ``twitch-100k``
log of 3M rows for comparison), each step runs as its own command in a fresh process, so its
peak resident memory is its own:

- simulate: ``livereplay simulate --preset P --seed 0 --out FILE`` (skipped when the file
  is already in ``--folder``: logs are reused between runs). The simulator's schedule is
  removed: the release has none, and the log is read as the release would be;
- cold parse: ``livereplay stats`` with an empty cache (parse, the three indexes, the cache);
- warm open: opening the cached log (memory-mapped) before any replay;
- stats: ``livereplay stats`` through the cache;
- compare: ``livereplay compare --learners ... --protocol starts --jobs N``; its runs are
  the ``starts`` replays (each run's seconds and peak memory as the run records them);
- replays: ``livereplay run`` of each learner on the other protocols (``next``,
  ``holdout``; and on ``starts`` too with ``--jobs 0``, which skips the compare).

Replays at full scale take hours, so every measurement is kept as it ends, one JSON file
each, in ``benchmarks/measured/full-scale/`` (``--kept``), which is part of the repository:
later invocations, on any machine, add to them (``--again`` measures again what is kept).
The page's table is made from every measurement kept there, each with its machine and date;
it goes into the block ``measured: full-scale`` of docs/full-release.md.

    python benchmarks/full_scale.py --folder runs-full --learners pop,repeat,mf   # 124M rows
    python benchmarks/full_scale.py --folder runs-full --learners fpmc --protocols starts \\
        --jobs 0 --no-baseline                                                 # one more model
    python benchmarks/full_scale.py --folder runs-full-0.1 --scale 0.1 \\
        --kept runs-full-0.1/measured --no-write                    # 12M rows, printed only
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from speed import LIVEREPLAY
from speed import timed as timed_command

from livereplay import __version__
from livereplay.app.tables import markdown_table, update_blocks
from livereplay.schedule import schedule_path

def timed(command: list[str]) -> tuple[float, float, float]:
    """(seconds, peak MB) of a command in a fresh process, and the machine's load average
    (1 minute) as it starts: other jobs on the machine slow a measurement down."""
    load = os.getloadavg()[0]
    return (*timed_command(command), load)


PAGE = Path(__file__).resolve().parent.parent / "docs" / "full-release.md"
KEPT = Path(__file__).resolve().parent / "measured" / "full-scale"
PROTOCOLS = ("starts", "next", "holdout")
# Opens a cached log with its indexes and prints seconds, peak MB, rows, users, streamers.
OPEN = ("import resource, sys, time; t = time.perf_counter(); "
        "from livereplay.cache import load_log; log = load_log(sys.argv[1], cache_dir=sys.argv[2]); "
        "log.live; log.spans; "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
        "log.n_rows, log.n_users, log.n_streamers)")


class Kept:
    """The measurements kept in a folder, one JSON file each, named by what was measured;
    commands name the runs' folder ``root`` as ``DIR``."""

    def __init__(self, folder: Path, root: Path, again: bool) -> None:
        self.root, self.folder, self.again = root, folder, again
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, log: str, what: str) -> Path:
        return self.folder / f"{log} {what}.json".replace("/", "_").replace(" ", "_")

    def has(self, log: str, what: str) -> bool:
        return not self.again and self.path(log, what).exists()

    def keep(self, row: dict[str, Any]) -> None:
        """Keep a measurement, its command with the folder written ``DIR``."""
        row |= {"command": row["command"].replace(str(self.root), "DIR"),
                "version": __version__, "machine": machine(), "date": date.today().isoformat()}
        self.path(row["log"], row["what"]).write_text(json.dumps(row, indent=1) + "\n")
        print(line(row), flush=True)

    def rows(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.folder.glob("*.json"))]


def machine() -> str:
    """The machine in words: architecture, cores and memory."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GB"


def row(log: str, what: str, count: int | None, unit: str, seconds: float, mb: float,
        load: float, command: list[str] | str,
        metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """One measurement: what ran on which log, how much, how long, its peak and hit rates;
    the command as a user types it."""
    if isinstance(command, list):
        command = " ".join(["livereplay", *command[len(LIVEREPLAY):]])
    return {"log": log, "what": what, "count": count, "unit": unit, "seconds": seconds,
            "peak_mb": mb, "hr@1": metrics and metrics["hr@1"],
            "hr@10": metrics and metrics["hr@10"], "load": load, "command": command}


def measure(folder: Path, kept: Kept, preset: str, scale: float, learners: list[str],
            protocols: list[str], jobs: int, next_sample: dict[str, float]) -> None:
    """Measure every step on one simulated log that is not kept yet, keeping each as it
    ends."""
    name = f"{preset}-scale{scale:g}-seed0"
    log = f"{preset} x{scale:g}"
    data, cache, out = folder / f"{name}.csv", folder / f"{name}-cache", folder / name
    out.mkdir(parents=True, exist_ok=True)
    if not data.exists():
        command = [*LIVEREPLAY, "simulate", "--quiet", "--preset", preset, "--scale", str(scale),
                   "--seed", "0", "--out", str(data)]
        seconds, mb, load = timed(command)
        schedule_path(data).unlink(missing_ok=True)
        kept.keep(row(log, "simulate", None, "", seconds, mb, load, command))
    stats = [*LIVEREPLAY, "stats", "--quiet", "--data", str(data), "--cache-dir", str(cache)]
    if not kept.has(log, "cold parse") or not cache.exists():
        shutil.rmtree(cache, ignore_errors=True)
        cold, cold_mb, cold_load = timed(stats)
        open_load = os.getloadavg()[0]
        opened = subprocess.run([sys.executable, "-c", OPEN, str(data), str(cache)], check=True,
                                capture_output=True, text=True).stdout.split()
        open_seconds, open_mb, n_rows = float(opened[0]), float(opened[1]), int(float(opened[2]))
        warm, warm_mb, warm_load = timed(stats)
        kept.keep(row(log, "cold parse", n_rows, "rows", cold, cold_mb, cold_load, stats))
        kept.keep(row(log, "warm open", n_rows, "rows", open_seconds, open_mb, open_load,
                      "# warm open: livereplay.cache.load_log(FILE, cache_dir=...) and its "
                      "indexes, in a fresh process"))
        kept.keep(row(log, "stats", n_rows, "rows", warm, warm_mb, warm_load, stats))
    common = ["--data", str(data), "--cache-dir", str(cache), "--bootstrap", "0"]
    compared = [learner for learner in learners if not kept.has(log, f"{learner} starts")]
    if jobs and "starts" in protocols and compared:
        command = [*LIVEREPLAY, "compare", "--quiet", *common, "--learners", ",".join(compared),
                   "--protocol", "starts", "--availability", "log", "--jobs", str(jobs),
                   "--out", str(out / "compare")]
        seconds, mb, load = timed(command)
        kept.keep(row(log, f"compare {','.join(compared)} --jobs {jobs}", None, "", seconds, mb,
                      load, command))
        for r in json.loads((out / "compare" / "results.json").read_text())["results"]:
            kept.keep(row(log, f"{r['learner']} starts", r["metrics"]["all"]["n"], "events",
                          r["seconds"], r["peak_rss_mb"], load, command, r["metrics"]["all"]))
    for protocol in protocols:
        if protocol == "starts" and jobs:
            continue
        for learner in learners:
            share = next_sample.get(learner, 1.0) if protocol == "next" else 1.0
            what = f"{learner} {protocol}" + (f" (users x{share:g})" if share < 1 else "")
            if kept.has(log, what):
                continue
            result = out / f"{learner}-{protocol}.json"
            sample = ["--users-sample", str(share)] if share < 1 else []
            availability = ["--availability", "log"] if protocol == "starts" else []
            command = [*LIVEREPLAY, "run", "--quiet", *common, "--learner", learner,
                       "--protocol", protocol, *availability, *sample, "--json", str(result)]
            _, mb, load = timed(command)
            r = json.loads(result.read_text())
            kept.keep(row(log, what, r["metrics"]["all"]["n"], "events", r["seconds"], mb, load,
                          command, r["metrics"]["all"]))


def line(r: dict[str, Any]) -> str:
    counted = f"{r['count']:,} {r['unit']}" if r["count"] else ""
    rate = f"{r['count'] / r['seconds']:,.0f}" if r["count"] else ""
    return (f"{r['log']:<20}{r['what']:<40}{counted:>18}{r['seconds']:>10.1f}{rate:>12}"
            f"{r['peak_mb']:>9.0f}")


STEPS = ("simulate", "cold parse", "warm open", "stats", "compare")


def place(r: dict[str, Any]) -> tuple:
    """Where a measurement goes in the table: the full release first, then each log's steps
    in the order they run, then its replays by protocol and learner."""
    what = r["what"]
    step = next((i for i, name in enumerate(STEPS) if what.startswith(name)), None)
    if step is None:
        step = len(STEPS) + PROTOCOLS.index(what.split()[1])
    return not r["log"].startswith("twitch-full"), r["log"], step, what


def page(rows: list[dict[str, Any]]) -> str:
    """The generated block: what was measured, how, on which machine and when."""
    def figure(value: float | None) -> str:
        return "" if value is None else f"{value:.4f}"

    table = markdown_table(
        ["log", "what", "count", "seconds", "per second", "peak MB", "hr@1", "hr@10", "load",
         "date"],
        [[r["log"], r["what"], f"{r['count']:,} {r['unit']}" if r["count"] else "",
          f"{r['seconds']:,.1f}", f"{r['count'] / r['seconds']:,.0f}" if r["count"] else "",
          f"{r['peak_mb']:,.0f}", figure(r["hr@1"]), figure(r["hr@10"]),
          "" if r.get("load") is None else f"{r['load']:.1f}", r["date"]]
         for r in sorted(rows, key=place)], align="llrrrrrrrl")
    machines = sorted({r["machine"] for r in rows})
    versions = sorted({r["version"] for r in rows})
    commands = "\n".join(dict.fromkeys(r["command"] for r in sorted(rows, key=place)))
    return (f"Measured by `python benchmarks/full_scale.py` with livereplay "
            f"{', '.join(versions)} on {'; '.join(machines)}, each "
            f"step in a fresh process; rates are events (or rows) per second of the step's "
            f"own time; peak MB is the process's peak resident memory (for the runs of a "
            f"compare, as each run records it: its own on logs of ten million rows or more, "
            f"where each run has a fresh process, else the compare's so far); load is the machine's load average as the step started (other "
            f"jobs on the machine slow a step down, never its memory). `starts` runs rank "
            f"among the streamers live at the step (`--availability log`), as the paper "
            f"does.\n\n"
            f"{table}\n<details><summary>The commands</summary>\n\n```shell\n{commands}\n```\n\n"
            f"</details>\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path,
                        help="where the simulated logs, caches and results go (tens of GB at "
                             "full scale; logs there are reused); needed to measure")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the full release's users and streamers (default 1)")
    parser.add_argument("--learners", default="pop,repeat,mf")
    parser.add_argument("--protocols", default="starts,next",
                        help=f"replayed protocols, among {','.join(PROTOCOLS)}")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes of the compare (default 1: one run at a time, each in "
                             "a fresh process at full scale; 0: no compare, the starts replays "
                             "as single runs)")
    parser.add_argument("--next-sample", action="append", default=[], metavar="LEARNER=F",
                        help="evaluate a seeded share F of the users in LEARNER's next replay "
                             "(it still learns from every row), e.g. mf=0.1: at full scale "
                             "mf's next replay ranks 364M events among ~9,150 streamers each, "
                             "hours of dense scoring (repeatable)")
    logs = parser.add_mutually_exclusive_group()
    logs.add_argument("--no-baseline", action="store_true",
                      help="skip the figures at 3M rows (the twitch-100k preset)")
    logs.add_argument("--baseline-only", action="store_true",
                      help="only the figures at 3M rows")
    parser.add_argument("--kept", type=Path, default=KEPT,
                        help="where measurements are kept and the page is made from (default: "
                             "benchmarks/measured/full-scale, in the repository)")
    parser.add_argument("--again", action="store_true",
                        help="measure again the steps already kept in the folder")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the page")
    parser.add_argument("--page-only", action="store_true",
                        help="measure nothing: write the page from the measurements kept")
    parser.add_argument("--check", action="store_true",
                        help="measure nothing: fail if the page is not what the measurements "
                             "kept give")
    args = parser.parse_args()
    learners = args.learners.split(",")
    protocols = args.protocols.split(",")
    if unknown := set(protocols) - set(PROTOCOLS):
        parser.error(f"--protocols: unknown {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(PROTOCOLS)}")
    try:
        next_sample = {name: float(share) for name, share in
                       (item.split("=") for item in args.next_sample)}
    except ValueError:
        parser.error("--next-sample takes LEARNER=F, e.g. mf=0.1")
    if args.folder is None and not (args.page_only or args.check):
        parser.error("--folder is needed to measure (or give --page-only or --check)")
    kept = Kept(args.kept, args.folder or Path("DIR"), args.again)
    logs = ([] if args.baseline_only else [("twitch-full", args.scale)]) \
        + ([] if args.no_baseline else [("twitch-100k", 1.0)])
    if args.check:
        if update_blocks([PAGE], {"full-scale": page(kept.rows())}, "measured", write=False):
            sys.exit(f"{PAGE.name} is not what the measurements kept give: run "
                     "python benchmarks/full_scale.py --page-only")
        print(f"{PAGE.name}: the full-scale table is what the measurements kept give")
        return
    print(f"{'log':<20}{'what':<40}{'count':>18}{'seconds':>10}{'per second':>12}{'peak MB':>9}")
    for preset, scale in [] if args.page_only else logs:
        measure(args.folder, kept, preset, scale, learners, protocols, args.jobs, next_sample)
    if args.page_only:
        for measured in kept.rows():
            print(line(measured))
    text = page(kept.rows())
    if not args.no_write:
        update_blocks([PAGE], {"full-scale": text}, "measured", write=True)


if __name__ == "__main__":
    main()
