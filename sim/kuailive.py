"""A simulated log written as a KuaiLive folder: ``click.csv`` and ``room.csv`` in KuaiLive's
file names and columns, with times in milliseconds.

Each row becomes a click at a random moment of its start step whose watch time ends in the
row's last step, and each broadcast of the true schedule a room that starts in its first step
and ends in its last; importing the folder (:func:`livereplay.importers.import_kuailive`)
gives back the rows and the schedule exactly. Step 0 begins at ``origin_ms`` (a midnight
UTC, so that the importer's default origin is the same). The columns KuaiLive has and the
simulator does not know (``p_date``, ``live_type``, ``live_content_category``,
``live_name_id``) are filled with the room's date and zeros.

>>> import tempfile
>>> from livereplay.sim.presets import preset
>>> from livereplay.sim.world import simulate
>>> folder = write_kuailive_folder(simulate(preset("tiny"), seed=1), tempfile.mkdtemp())
>>> sorted(path.name for path in folder.iterdir())
['click.csv', 'room.csv']
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from livereplay.columns import write_table

from .world import SimulatedLog

STEP_MS = 600_000
ORIGIN_MS = 1_746_403_200_000  # 2025-05-05 00:00 UTC, within KuaiLive's own period


def write_kuailive_folder(log: SimulatedLog, folder: str | Path, *,
                          origin_ms: int = ORIGIN_MS, seed: int = 0) -> Path:
    """Write ``log`` and its schedule into ``folder`` as KuaiLive's ``click.csv`` and
    ``room.csv``; returns the folder. ``seed`` draws the moments within steps."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    start, end = _moments(log.start, log.stop, origin_ms, rng)
    clicks = pa.table({"user_id": log.user, "live_id": log.stream, "streamer_id": log.streamer,
                       "timestamp": start, "watch_live_time": end - start})
    schedule = log.schedule
    begin, finish = _moments(schedule.start, schedule.stop, origin_ms, rng)
    rooms = pa.table({
        "live_id": schedule.stream, "streamer_id": schedule.streamer,
        "start_timestamp": begin, "end_timestamp": finish,
        "p_date": pc.strftime(pa.array(begin.astype("datetime64[ms]")), format="%Y%m%d"),
        "live_type": np.zeros(len(begin), np.int64),
        "live_content_category": np.zeros(len(begin), np.int64),
        "live_name_id": np.zeros(len(begin), np.int64)})
    write_table(folder / "click.csv", clicks, header=True)
    write_table(folder / "room.csv", rooms, header=True)
    return folder


def _moments(start: np.ndarray, stop: np.ndarray, origin_ms: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Times (ms) in the first half of step ``start`` and the second half of step
    ``stop - 1``: the importer's steps of them are ``start`` and ``stop``."""
    half = STEP_MS // 2
    begin = origin_ms + start.astype(np.int64) * STEP_MS + rng.integers(0, half, len(start))
    end = origin_ms + stop.astype(np.int64) * STEP_MS - rng.integers(0, half, len(stop))
    return begin, end
