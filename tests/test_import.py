"""Importing timestamped watch logs and KuaiLive folders, the schedule beside a log,
availability ``schedule`` on every protocol, and ``livereplay data check``."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livereplay.app.cli import main
from livereplay.app.executors import spec_record
from livereplay.app.runner import RunSpec
from livereplay.cache import file_digest, load_log, log_digest
from livereplay.data import read_csv
from livereplay.datasets import PUBLISHED, Figure, check_log
from livereplay.engine import replay
from livereplay.errors import LogFormatError
from livereplay.importers import import_kuailive
from livereplay.learners.registry import make_learner
from livereplay.schedule import Schedule, schedule_path
from livereplay.sim.kuailive import write_kuailive_folder
from livereplay.sim.presets import preset
from livereplay.sim.world import SimulatedLog, simulate


@pytest.fixture(scope="module")
def simulated() -> SimulatedLog:
    return simulate(preset("tiny"), seed=1)


@pytest.fixture
def folder(simulated, tmp_path) -> Path:
    return write_kuailive_folder(simulated, tmp_path / "KuaiLive")


def same_log(a, b) -> None:
    """Equal rows, ids, names and schedule."""
    for name in ("user", "stream", "streamer", "start", "stop"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for name in ("user_names", "stream_names", "streamer_names"):
        assert getattr(a, name).cast("string").equals(getattr(b, name).cast("string")), name
    for name in ("streamer", "start", "stop", "offsets", "streamers"):
        assert np.array_equal(getattr(a.schedule, name), getattr(b.schedule, name)), name
    assert a.schedule.extra_names.cast("string").equals(b.schedule.extra_names)


def test_a_kuailive_folder_imports_to_the_simulators_own_rows_and_schedule(simulated, folder,
                                                                            tmp_path):
    report = import_kuailive(folder, tmp_path / "kuailive.csv")
    assert (report.rows, report.broadcasts, report.not_in_schedule) == (
        len(simulated.user), len(simulated.schedule.start), 0)
    same_log(read_csv(tmp_path / "kuailive.csv"), simulated.to_log())


def test_the_generic_importer_writes_the_same_files_as_the_kuailive_one(folder, tmp_path):
    assert main(["import", "kuailive", str(folder), "--out", str(tmp_path / "a.csv"),
                 "--quiet"]) == 0
    assert main(["import", "events", str(folder / "click.csv"), "--user", "user_id",
                 "--item", "streamer_id", "--broadcast", "live_id", "--start", "timestamp",
                 "--duration", "watch_live_time", "--time-unit", "ms", "--step-minutes", "10",
                 "--schedule", str(folder / "room.csv"), "--schedule-start", "start_timestamp",
                 "--schedule-stop", "end_timestamp", "--out", str(tmp_path / "b.csv"),
                 "--quiet"]) == 0
    for name in ("a.csv", "a.schedule.csv"):
        twin = name.replace("a", "b", 1)
        assert (tmp_path / name).read_bytes() == (tmp_path / twin).read_bytes()


def test_a_log_without_broadcasts_gets_one_per_streamers_overlapping_events(tmp_path):
    (tmp_path / "watch.csv").write_text(
        "viewer,channel,begin,end\n"
        "a,x,0,700\n"       # steps 0-1
        "b,x,650,1300\n"    # steps 1-2: overlaps a's, same broadcast
        "c,x,2400,2500\n"   # step 4: a gap at step 3, a new broadcast
        "a,y,100,200\n")
    assert main(["import", "events", str(tmp_path / "watch.csv"), "--user", "viewer",
                 "--item", "channel", "--start", "begin", "--stop", "end", "--time-unit", "s",
                 "--step-minutes", "10", "--out", str(tmp_path / "log.csv"), "--quiet"]) == 0
    assert (tmp_path / "log.csv").read_text().splitlines() == [
        "a,x:0,x,0,2", "b,x:0,x,1,3", "c,x:1,x,4,5", "a,y:0,y,0,1"]
    assert not schedule_path(tmp_path / "log.csv").exists()


def rewrite(path: Path, line: int, column: str, value: str) -> None:
    """Set ``column`` of the data line ``line`` (the header is line 1) of a CSV."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    rows[line - 1][rows[0].index(column)] = value
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


@pytest.mark.parametrize("file, line, column, value, message", [
    ("click.csv", 3, "timestamp", "17e11", "click.csv: line 3: non-integer timestamp '17e11'"),
    ("click.csv", 4, "timestamp", "-5", "click.csv: line 4: negative time: timestamp -5"),
    ("click.csv", 5, "watch_live_time", "-1",
     "click.csv: line 5: negative watch time: watch_live_time -1"),
    ("click.csv", 2, "timestamp", str(2 ** 63), f"click.csv: line 2: timestamp too large: {2 ** 63}"),
    ("click.csv", 6, "user_id", "", "click.csv: line 6: empty user_id"),
    ("room.csv", 7, "end_timestamp", "1746403200000",
     "room.csv: line 7: broadcast ends before it starts"),
    ("room.csv", 8, "live_id", "0", "room.csv: line 8: broadcast live_id '0' listed a second time"),
])
def test_bad_kuailive_input_is_one_line_naming_file_line_and_reason(folder, tmp_path, file, line,
                                                                    column, value, message):
    rewrite(folder / file, line, column, value)
    with pytest.raises(LogFormatError, match=message.replace("(", r"\(")) as error:
        import_kuailive(folder, tmp_path / "log.csv")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "log.csv").exists()


def test_missing_files_and_columns_are_named(folder, tmp_path):
    (folder / "room.csv").write_text((folder / "room.csv").read_text()
                                     .replace("end_timestamp", "ended"))
    with pytest.raises(LogFormatError, match="room.csv: no column 'end_timestamp'"):
        import_kuailive(folder, tmp_path / "log.csv")
    (folder / "room.csv").unlink()
    with pytest.raises(LogFormatError, match="room.csv: no such file"):
        import_kuailive(folder, tmp_path / "log.csv")
    with pytest.raises(LogFormatError, match="nowhere: no such folder"):
        import_kuailive(tmp_path / "nowhere", tmp_path / "log.csv")


def test_clicks_on_unlisted_rooms_or_other_streamers_are_counted_and_kept(simulated, folder,
                                                                          tmp_path):
    rewrite(folder / "click.csv", 2, "live_id", "999999")
    rewrite(folder / "click.csv", 3, "streamer_id", "999998")
    report = import_kuailive(folder, tmp_path / "log.csv")
    assert (report.rows, report.not_in_schedule, report.other_streamer) == (
        len(simulated.user), 1, 1)
    assert "1 rows watch a broadcast the schedule does not list (kept)" in report.describe()


def test_availability_schedule_on_every_protocol_from_the_command_line(simulated, tmp_path,
                                                                        capsys):
    simulated.write_csv(tmp_path / "sim.csv")
    for protocol in ("starts", "next", "holdout"):
        assert main(["run", "--data", str(tmp_path / "sim.csv"), "--protocol", protocol,
                     "--availability", "schedule", "--learner", "pop", "--bootstrap", "0",
                     "--cache-dir", str(tmp_path / "cache")]) == 0
        out = capsys.readouterr().out
        assert "candidates schedule" in out
        # every simulated row lies in its broadcast: the schedule holds every target
        coverage = out.split("\n")[2].split()[-1]
        assert coverage == "1.0000", (protocol, out)


def test_the_schedule_is_a_superset_of_what_viewers_show_and_ranks_more(simulated):
    log = simulated.to_log()
    live, on_air = log.live, log.schedule
    for t in range(0, log.n_steps, 37):
        assert set(live.at(t)) <= set(on_air.at(t))
    pop = {availability: replay(log, make_learner("pop"), availability=availability)
           for availability in ("log", "schedule")}
    assert pop["schedule"].metrics()["all"]["coverage"] == 1.0
    assert pop["schedule"].metrics()["all"]["hr@10"] < pop["log"].metrics()["all"]["hr@10"]


def test_availability_schedule_without_a_schedule_is_a_one_line_error(capsys):
    assert main(["run", "--availability", "schedule", "--no-cache"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("livereplay: error: availability schedule needs the log's schedule")
    assert error.count("\n") == 1


def test_a_schedule_comes_through_the_cache_and_a_changed_one_is_read_again(simulated,
                                                                           tmp_path):
    simulated.write_csv(tmp_path / "sim.csv")
    cold = load_log(tmp_path / "sim.csv", cache_dir=tmp_path / "cache")
    warm = load_log(tmp_path / "sim.csv", cache_dir=tmp_path / "cache")
    same_log(cold, warm)
    lines = schedule_path(tmp_path / "sim.csv").read_text().splitlines()
    schedule_path(tmp_path / "sim.csv").write_text("\n".join(lines[:-1]) + "\n")
    changed = load_log(tmp_path / "sim.csv", cache_dir=tmp_path / "cache")
    assert len(changed.schedule.start) == len(cold.schedule.start) - 1


def test_a_bad_schedule_file_names_its_line(simulated, tmp_path):
    simulated.write_csv(tmp_path / "sim.csv")
    rewrite(schedule_path(tmp_path / "sim.csv"), 4, "stop", "0")
    with pytest.raises(LogFormatError, match=r"sim.schedule.csv: line 4: stop <= start: 0 <= "):
        read_csv(tmp_path / "sim.csv")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 12), st.integers(1, 6)),
                min_size=1, max_size=25))
def test_the_schedule_index_is_the_brute_force_on_air_set(broadcasts):
    streamer, start, length = map(np.array, zip(*broadcasts))
    schedule = Schedule.build(streamer=streamer, start=start, stop=start + length,
                              extra_names=None)
    for t in range(schedule.n_steps + 2):
        expected = sorted({s for s, a, n in broadcasts if a <= t < a + n})
        assert schedule.at(t).tolist() == expected


def test_data_check_tells_the_right_file_from_a_wrong_one(sample_log, monkeypatch, tmp_path,
                                                          capsys):
    figures = {"rows": Figure(52_141), "users": Figure(2_151), "streamers": Figure(4_705),
               "steps": Figure(6_148)}
    monkeypatch.setitem(PUBLISHED, "embedded", figures)
    assert check_log(sample_log, "embedded").matches
    lines = Path(sample_log.source).read_text().splitlines()
    (tmp_path / "cut.csv").write_text("\n".join(lines[:-1]) + "\n")
    assert main(["data", "check", str(tmp_path / "cut.csv"), "--dataset", "twitch-100k",
                 "--no-cache"]) == 1
    verdict = capsys.readouterr().out.splitlines()[-1]
    assert verdict.startswith(f"{tmp_path / 'cut.csv'} is not twitch-100k: rows 52,140 "
                              "(published 3,051,733)")
    wrong = check_log(read_csv(tmp_path / "cut.csv"), "embedded")
    assert "rows" in [row.name for row in wrong.rows if not row.matches]


def test_rounded_published_figures_match_counts_that_round_to_them():
    users = PUBLISHED["twitch-full"]["users"]
    assert users.matches(15_512_345) and not users.matches(15_600_000) and str(users) == "15.5M"


def test_a_logs_digest_names_its_schedule_too(simulated, tmp_path):
    simulated.write_csv(tmp_path / "sim.csv")
    record = spec_record(RunSpec(data=tmp_path / "sim.csv"))
    beside = schedule_path(tmp_path / "sim.csv")
    assert log_digest(tmp_path / "sim.csv") == (f"{file_digest(tmp_path / 'sim.csv')}-"
                                                f"{file_digest(beside)}")
    beside.write_text(beside.read_text() + "0,extra,1,2\n")
    assert spec_record(RunSpec(data=tmp_path / "sim.csv")) != record  # a stored run is not reused
    beside.unlink()
    assert log_digest(tmp_path / "sim.csv") == file_digest(tmp_path / "sim.csv")
