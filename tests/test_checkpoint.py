"""Checkpoint and resume: a replay stopped at any step and resumed gives the same bytes as one
never stopped; damaged checkpoints are skipped; writes are atomic."""
import errno
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from livereplay.checkpoint import Checkpointer
from livereplay.app.cli import main
from livereplay.contract import Learner
from livereplay.engine import replay
from livereplay.errors import ReplayError
from livereplay.learners.registry import BUILTIN, make_learner

WINDOW = (900, 1200)


def resumed_from_each_checkpoint(sample_log, name, tmp_path, protocol="starts"):
    """The full replay with a checkpoint every 97 steps (all kept), and the replays resumed
    from each of a few of them."""
    saver = Checkpointer(tmp_path / "all", identity=name, every_steps=80, every_minutes=None,
                         keep=1000)
    full = replay(sample_log, make_learner(name, seed=4), protocol=protocol, window=WINDOW,
                  checkpoint=saver)
    steps = sorted(int(p.stem.split("-")[1]) for p in saver.folder.glob("step-*.ckpt"))
    assert len(steps) >= 10
    for step in (steps[3], steps[len(steps) // 2], steps[-1]):
        for later in steps:
            if later > step:
                (saver.folder / f"step-{later}.ckpt").unlink(missing_ok=True)
        resumer = Checkpointer(saver.folder, identity=name, every_steps=80, every_minutes=None,
                               keep=1000, resume=True)
        # the learner given is fresh: the resumed replay must go on with the checkpointed one
        yield full, replay(sample_log, make_learner(name, seed=4), protocol=protocol,
                           window=WINDOW, checkpoint=resumer)


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_builtin_learner_resumed_from_a_checkpoint_gives_the_same_ranks(
        sample_log, name, tmp_path):
    for full, resumed in resumed_from_each_checkpoint(sample_log, name, tmp_path):
        np.testing.assert_array_equal(resumed.ranks, full.ranks)
        np.testing.assert_array_equal(resumed.users, full.users)
        assert resumed.metrics() == full.metrics()


def test_next_resumes_too(sample_log, tmp_path):
    for full, resumed in resumed_from_each_checkpoint(sample_log, "repeat", tmp_path, "next"):
        np.testing.assert_array_equal(resumed.ranks, full.ranks)
        assert resumed.objective == full.objective


def test_a_damaged_newest_checkpoint_is_reported_and_the_one_before_is_used(tmp_path, capsys):
    saver = Checkpointer(tmp_path, identity="x", every_steps=1, every_minutes=None)
    saver.save(5, {"at": 5})
    saver.save(9, {"at": 9})
    newest = tmp_path / "step-9.ckpt"
    newest.write_bytes(newest.read_bytes()[:-10])  # truncated
    resumer = Checkpointer(tmp_path, identity="x", resume=True)
    assert resumer.load() == {"at": 5}
    assert capsys.readouterr().err.strip() == (
        f"livereplay: ignoring checkpoint {newest}: truncated or corrupted (checksum mismatch)")
    assert Checkpointer(tmp_path, identity="another replay", resume=True).load() is None


def test_files_in_the_state_are_copied_beside_the_checkpoint_and_checked(tmp_path, capsys):
    def spill_file(content: bytes):
        file = tempfile.TemporaryFile()
        file.write(content)
        return file

    saver = Checkpointer(tmp_path, identity="x", every_steps=1, every_minutes=None, keep=2)
    for t in (1, 2, 3):
        saver.save(t, {"at": t, "files": [spill_file(b"a" * t * 1000), spill_file(b"b")]})
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # the oldest went with its copies
        "step-2.ckpt", "step-2.ckpt-0", "step-2.ckpt-1",
        "step-3.ckpt", "step-3.ckpt-0", "step-3.ckpt-1"]
    state = Checkpointer(tmp_path, identity="x", resume=True).load()
    first, second = state["files"]
    assert first.tell() == 3000  # read back, positioned at the end for further appends
    first.seek(0)
    assert first.read() == b"a" * 3000 and (second.seek(0), second.read()) == (0, b"b")
    copy = tmp_path / "step-3.ckpt-0"
    copy.write_bytes(copy.read_bytes()[:-1])  # a damaged copy: the checkpoint before is used
    assert Checkpointer(tmp_path, identity="x", resume=True).load()["at"] == 2
    assert capsys.readouterr().err.strip() == (
        f"livereplay: ignoring checkpoint {tmp_path / 'step-3.ckpt'}: step-3.ckpt-0 is "
        "truncated or corrupted")


def test_a_full_disk_is_one_line_and_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    saver = Checkpointer(tmp_path, identity="x", every_steps=1, every_minutes=None)
    saver.save(1, {"at": 1})

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(ReplayError, match="the disk is full; the previous checkpoints are intact"):
        saver.save(2, {"at": 2})
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-1.ckpt"]
    assert Checkpointer(tmp_path, identity="x", resume=True).load() == {"at": 1}


class Unpicklable(Learner):
    def reset(self):
        self.scorer_ = lambda candidates: np.zeros((1, len(candidates)))

    def score(self, users, candidates, t):
        return self.scorer_(candidates)


def test_a_learner_that_cannot_be_checkpointed_is_a_clear_error(sample_log, tmp_path):
    saver = Checkpointer(tmp_path, identity="x", every_steps=50, every_minutes=None)
    with pytest.raises(ReplayError, match="cannot checkpoint this replay: .*lambda"):
        replay(sample_log, Unpicklable(), window=WINDOW, checkpoint=saver)


def cli_run(*options: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "livereplay.app.cli", "run", "--quiet",
                             "--no-cache", *options], stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(folder, process, seconds=120, at_step=0):
    """Until the replay has checkpointed at ``at_step`` or later (while it runs)."""
    deadline = time.monotonic() + seconds
    while not any(int(path.stem.split("-")[1]) >= at_step
                  for path in folder.glob("step-*.ckpt")):
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("name", ["mf", "liverec"])
def test_a_run_killed_after_a_checkpoint_resumes_to_the_same_json(name, tmp_path):
    options = ["--learner", name, "--window", "1500:2600", "--checkpoint-every", "100"]
    assert main(["run", "--quiet", "--no-cache", *options[:4],
                 "--json", str(tmp_path / "whole.json")]) == 0
    folder = tmp_path / "checkpoints"
    killed = cli_run(*options, "--checkpoint", str(folder), "--json", str(tmp_path / "x.json"))
    rng = np.random.default_rng()
    # killed at a random step after a random checkpoint of the first ten, whatever the
    # machine's speed (a fixed delay outlasted the whole run on a fast machine)
    wait_for_checkpoint(folder, killed, at_step=100 * int(rng.integers(1, 11)))
    time.sleep(rng.uniform(0, 0.05))
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / "x.json").exists()
    assert main(["run", "--quiet", "--no-cache", *options, "--checkpoint", str(folder),
                 "--resume", "--json", str(tmp_path / "resumed.json")]) == 0
    whole, resumed = (json.loads((tmp_path / f).read_text()) for f in ("whole.json", "resumed.json"))
    assert resumed["metrics"] == whole["metrics"]


def test_sigterm_writes_a_checkpoint_and_exits_130(tmp_path):
    folder = tmp_path / "checkpoints"
    options = ["--learner", "blend", "--window", "4000:6148", "--checkpoint-every", "200"]
    stopped = cli_run(*options, "--checkpoint", str(folder))
    wait_for_checkpoint(folder, stopped)  # the replay is under way, however slow its start
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait() == 130
    step = int(re.search(r"stopped after step (\d+)", stopped.stderr.read())[1])
    assert step < 6147 and (folder / f"step-{step}.ckpt").exists()  # written on the signal


def test_a_compare_killed_mid_way_resumes_to_the_same_results(tmp_path):
    learners = "pop,repeat,mf,fpmc"
    options = ["--learners", learners, "--window", "1500:2600", "--no-cache", "--quiet",
               "--jobs", "1", "--checkpoint-every", "100", "--bootstrap", "100"]
    assert main(["compare", *options, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "killed"
    killed = subprocess.Popen([sys.executable, "-m", "livereplay.app.cli", "compare", *options,
                               "--out", str(out)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while len(list((out / "runs").glob("[!.]*/meta.json"))) < 2 or not list(out.glob("checkpoints/*/*.ckpt")):
        assert killed.poll() is None and time.monotonic() < deadline, killed.stderr.read()
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert main(["compare", *options, "--out", str(out)]) == 0
    whole, resumed = (json.loads((tmp_path / d / "results.json").read_text())
                      for d in ("whole", "killed"))
    assert [r["metrics"] for r in resumed["results"]] == [r["metrics"] for r in whole["results"]]
    assert resumed["paired"] == whole["paired"]
    assert not list(out.glob("checkpoints/*/*.ckpt"))  # finished runs leave no checkpoint
