"""The limits of the machine, each reached with one clear line: memory a sweep would need,
folders that cannot be written, a disk that fills during a cache write, and two sweeps
writing into the same folder."""
import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import livereplay.cache
from livereplay.app import executors
from livereplay.app.cli import main
from livereplay.app.runner import RunSpec
from livereplay.cache import load_log
from livereplay.data import default_data_path, read_csv
from livereplay.folders import LOCK_FILE, locked_folder

SWEEP = ["--days", "41-42", "--bootstrap", "0", "--quiet"]
LOCKER = ("import sys, time; from pathlib import Path; from livereplay.folders import "
          "locked_folder\nwith locked_folder(Path(sys.argv[1])):\n    print('held', flush=True)"
          "\n    time.sleep(120)")


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIVEREPLAY_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A folder that cannot be written: read-only, and, as permissions do not bind root,
    every file or folder made in it fails with EACCES as it would for another user."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)

    def refuse(real):
        def call(path, *args, **kwargs):
            if Path(path).resolve().is_relative_to(folder.resolve()):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real(path, *args, **kwargs)
        return call

    monkeypatch.setattr(os, "open", refuse(os.open))
    monkeypatch.setattr(os, "mkdir", refuse(os.mkdir))
    yield folder
    folder.chmod(0o755)


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    return err.strip()


def test_a_sweep_that_would_not_fit_in_memory_stops_before_any_run(monkeypatch, capsys):
    monkeypatch.setattr(executors, "available_memory", lambda: 1 << 30)
    assert main(["compare", "--learners", "pop,repeat,mf", "--jobs", "3", "--out", "out",
                 *SWEEP]) == 2
    per_run = executors.run_memory(RunSpec(learner="mf"), read_csv(default_data_path()))
    assert one_line(capsys) == (
        f"livereplay: error: this sweep needs about {3 * per_run / 2**30:.1f} GB (3 runs at "
        f"once, each {per_run / 2**30:.2f} GB for mf on 52,141 rows, 2,151 users and 4,705 "
        "streamers) but 1.0 GB are available: run it with --jobs 1")
    assert not any(Path("out/runs").iterdir())


def test_the_memory_estimate_covers_a_real_run_without_overstating_it(tmp_path):
    """The estimate of a baseline's run on the sample against the peak memory of that run,
    alone in a process (the interpreter included), the log opened from the cache as a sweep's
    runs find it loaded."""
    load_log(default_data_path())
    # started by a shell in the background: a child of this process would inherit its peak
    # memory (Linux keeps it across exec)
    run = subprocess.run(["sh", "-c", '"$0" -m livereplay.app.cli "$@" & wait $!',
                          sys.executable, "run", "--learner", "repeat", *SWEEP, "--json",
                          "repeat.json"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    peak = json.loads((tmp_path / "repeat.json").read_text())["peak_rss_mb"] * 2**20
    estimate = executors.run_memory(RunSpec(learner="repeat"), read_csv(default_data_path()))
    assert peak <= estimate <= 2 * peak


def test_one_run_that_may_not_fit_is_tried_with_a_warning(monkeypatch):
    monkeypatch.setattr(executors, "available_memory", lambda: 100 << 20)
    log = read_csv(default_data_path())
    warning = r"this run may need about 0\.\d\d GB for mf .*, but 0\.1 GB are available"
    with pytest.warns(UserWarning, match=warning):
        executors.check_memory({"k": RunSpec(learner="mf")},
                               {executors._log_key(RunSpec()): log}, jobs=1)
    monkeypatch.setattr(executors, "available_memory", lambda: None)  # not known: no check
    executors.check_memory({"k": RunSpec(learner="mf")}, {executors._log_key(RunSpec()): log},
                           jobs=10_000)


def test_available_memory_is_what_the_machine_reports():
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        pytest.skip("no /proc/meminfo on this system")
    reported = next(int(line.split()[1]) * 1024 for line in meminfo.read_text().splitlines()
                    if line.startswith("MemAvailable:"))
    assert abs(executors.available_memory() - reported) < 0.1 * reported


@pytest.mark.parametrize("command", [
    ["compare", "--learners", "pop"],
    ["tune", "--learners", "recent-pop", "--param", "half_life=36,72"],
])
def test_a_read_only_out_folder_is_one_line_naming_it(read_only, capsys, command):
    assert main([*command, "--out", str(read_only), *SWEEP]) == 2
    assert one_line(capsys) == (f"livereplay: error: cannot write into --out {read_only}: "
                                "Permission denied")


def test_a_read_only_cache_warns_in_one_line_and_the_command_goes_on(read_only, capsys):
    assert main(["stats", "--cache-dir", str(read_only), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert re.search(r"^Num interactions: +52141$", captured.out, re.M)
    assert captured.err.startswith(f"livereplay: warning: could not write the cache in "
                                   f"{read_only}: [Errno 13] Permission denied")
    assert len(captured.err.splitlines()) == 1, captured.err


def test_a_full_disk_during_a_cache_write_leaves_no_entry_and_the_load_goes_on(
        tmp_path, monkeypatch):
    cache = tmp_path / "cache"

    def fill_the_disk(folder, arrays):
        np.save(folder / "user.npy", np.arange(10))  # some of the entry is written first
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "stream.npy"))

    monkeypatch.setattr(livereplay.cache, "save_arrays", fill_the_disk)
    with pytest.warns(UserWarning, match=f"could not write the cache in {cache}: .*No space"):
        log = load_log(default_data_path(), cache_dir=cache)
    assert list(cache.iterdir()) == []  # neither an entry nor its staging folder
    expected = read_csv(default_data_path())
    assert log.n_rows == expected.n_rows and np.array_equal(log.user, expected.user)
    monkeypatch.undo()
    load_log(default_data_path(), cache_dir=cache)
    assert len(list(cache.iterdir())) == 1  # with room again, the entry is written


def test_a_second_sweep_into_the_same_folder_stops_naming_the_first(tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", LOCKER, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["compare", "--learners", "pop", "--out", str(out), *SWEEP]) == 2
        assert one_line(capsys) == (
            f"livereplay: error: --out {out} is in use by another sweep (pid {holder.pid}): "
            "wait for it to end, or give another --out")
    finally:
        holder.kill()
        holder.wait()
    with locked_folder(out):  # the lock went with the process
        assert (out / LOCK_FILE).read_text() == f"{os.getpid()}\n"


def test_the_lock_is_released_when_the_sweep_ends(tmp_path):
    out = tmp_path / "out"
    assert main(["compare", "--learners", "pop", "--out", str(out), *SWEEP]) == 0
    with locked_folder(out):
        pass


def test_a_sweep_whose_out_folder_fills_stops_in_one_line_leaving_no_partial_run(
        tmp_path, monkeypatch, capsys):
    def fill_the_disk(folder, arrays):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "ranks.npy"))

    monkeypatch.setattr(executors, "save_arrays", fill_the_disk)
    assert main(["compare", "--learners", "pop", "--jobs", "1", "--out", "out", *SWEEP]) == 1
    assert one_line(capsys).startswith("livereplay: error: [Errno 28] No space left on device")
    assert list(Path("out/runs").iterdir()) == []
