"""Sweeps on a Ray cluster of a head and two worker nodes, each node its own processes on this
machine: the same results as the local engine, and no run lost or stored twice when a worker
node or the sweep's own process is killed in the middle; a run lost with its node resumes
from its last checkpoint on another node."""
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from livereplay.app.cli import main
from livereplay.app.executors import RunStore, execute, spec_key, spec_record
from livereplay.app.runner import RunSpec
from livereplay.checkpoint import CheckpointPolicy
from livereplay.learners.baselines import Popularity

from .test_executors import assert_same_run, stored_runs

#: each node's object store, the smallest Ray allows: the embedded log takes a few MB
NODE = {"num_cpus": 1, "object_store_memory": 75 * 2**20}
#: a node that stops answering is declared dead after 5 s (Ray's default: 15 s), so that
#: a run waiting for it is retried elsewhere without holding up the tests
HEALTH_CHECKS = {"health_check_period_ms": 1000, "health_check_failure_threshold": 5}
WINDOW = (300, 600)
CHECKPOINT_EVERY = 100
#: the folder from which this module imports as ``__name__``: the Ray workers import the
#: learner below from there (a driver's working folder is on its workers' import path)
ROOT = Path(__file__).resolve().parents[__name__.count(".")]


class Slow(Popularity):
    """``pop``, pausing ``pause`` seconds at each ranked step so that a test can act while a
    sweep runs; with a ``trace`` file, it appends ``NODE T`` there for every step T it ranks,
    NODE the Ray node it runs on."""

    relative_cost = 10.0  # a sweep starts it before the others

    def __init__(self, *, seed: int = 0, pause: float = 0.01, trace: str = "") -> None:
        super().__init__(seed=seed)
        self.pause, self.trace = pause, trace

    def score(self, users, candidates, t):
        if self.trace:
            import ray

            with open(self.trace, "a") as f:
                f.write(f"{ray.get_runtime_context().get_node_id()} {t}\n")
        time.sleep(self.pause)
        return super().score(users, candidates, t)


def slow_spec(seed: int, trace: Path) -> RunSpec:
    """:class:`Slow` on :data:`WINDOW` (the seed changes nothing but the run's key)."""
    return RunSpec(learner=f"{__name__}:Slow", window=WINDOW, seed=seed, bootstrap=0,
                   cache=False, params={"trace": str(trace)})


def ranked(trace: Path) -> list[tuple[str, int]]:
    """(node, step) for each step a :class:`Slow` run ranked, in order (complete lines: the
    run may be writing one)."""
    lines = trace.read_text().split("\n")[:-1] if trace.exists() else []
    return [(node, int(t)) for node, t in (line.split() for line in lines)]


def under_way(traces: list[Path], steps: list[int]) -> set[str]:
    """The nodes ranking a :class:`Slow` run now: the last node of each trace not yet at the
    last of ``steps``."""
    lines = [ranked(trace) for trace in traces]
    return {line[-1][0] for line in lines if line and line[-1][1] != steps[-1]}


@contextlib.contextmanager
def in_background(function, *args, **options):
    """``function`` called in a thread meanwhile: its future."""
    pool = ThreadPoolExecutor(1)
    try:
        yield pool.submit(function, *args, **options)
    finally:
        pool.shutdown(wait=False)  # a sweep a failed test leaves hanging ends with the cluster


def wait_for(condition, what: str, seconds: float = 60):
    """Poll ``condition`` until it returns something true, and return that."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)
    return value


def assert_same_store(ours: Path, theirs: Path) -> None:
    """Two stores hold the same runs, each with the same results."""
    keys = sorted(meta.parent.name for meta in stored_runs(ours))
    assert keys and keys == sorted(meta.parent.name for meta in stored_runs(theirs))
    for key in keys:
        assert_same_run(RunStore(ours).load(key), RunStore(theirs).load(key))


def assert_ranked_as_pop(result, pop) -> None:
    """A :class:`Slow` run ranked every event as ``pop`` did."""
    assert_same_run(dataclasses.replace(result, learner=pop.learner, extra=pop.extra), pop)


@dataclasses.dataclass
class LocalCluster:
    """A Ray cluster on this machine (``ray.cluster_utils.Cluster``), this process its driver."""

    nodes: Any  # ray.cluster_utils.Cluster, imported only where Ray is installed
    folder: Path

    @property
    def address(self) -> str:
        return self.nodes.address

    def add_workers(self, count: int) -> None:
        """``count`` worker nodes, started side by side in the cluster's folder, their working
        folder, as on machines of their own (a path relative to the driver's working folder
        does not reach them)."""
        with contextlib.chdir(self.folder):
            for _ in range(count):
                self.nodes.add_node(wait=False, **NODE)
        self.nodes.wait_for_nodes()

    def kill(self, node_id: str) -> None:
        """End every process of the worker node ``node_id`` with SIGKILL."""
        node, = (node for node in self.nodes.worker_nodes if node.node_id == node_id)
        self.nodes.remove_node(node, allow_graceful=False)


@pytest.fixture(scope="module")
def cluster():
    """A head without CPUs, so that every run goes to one of two worker nodes of one CPU.
    Its sockets, logs and address file go to a folder of its own ($RAY_TMPDIR), apart from a
    local instance another test process may start, and its ports are picked free."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    if ray.is_initialized():  # a local instance an earlier module left up
        ray.shutdown()
    folder = Path(tempfile.mkdtemp(prefix="lr-ray-"))  # short: socket paths are limited
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_TMPDIR", str(folder))
        env.delenv("RAY_ADDRESS", raising=False)
        with contextlib.chdir(folder):
            nodes = Cluster(initialize_head=True, head_node_args={
                **NODE, "num_cpus": 0, "include_dashboard": False,
                "dashboard_agent_listen_port": 0, "_system_config": HEALTH_CHECKS})
        local = LocalCluster(nodes, folder)
        try:
            local.add_workers(2)
            ray.init(address=nodes.address, log_to_driver=False)
            yield local
        finally:
            ray.shutdown()
            nodes.shutdown()
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def workers(cluster):
    """The cluster, given back with two worker nodes after the test killed some."""
    yield cluster
    cluster.add_workers(2 - len(cluster.nodes.worker_nodes))


@pytest.fixture(scope="module")
def pop():
    """``pop`` on :data:`WINDOW`, in this process."""
    result, = execute([RunSpec(learner="pop", window=WINDOW, bootstrap=0, cache=False)],
                      progress=False)
    return result


def ranked_steps(result) -> list[int]:
    """The steps at which a run ranked events, in order."""
    return sorted(set(result.steps.tolist()))


def test_compare_on_the_cluster_gives_the_local_results(cluster, tmp_path):
    options = ["compare", "--learners", "pop,repeat,random", "--window", "300:600",
               "--no-cache", "--quiet", "--bootstrap", "200"]
    assert main([*options, "--jobs", "1", "--out", str(tmp_path / "local")]) == 0
    assert main([*options, "--engine", "ray", "--address", cluster.address,
                 "--out", str(tmp_path / "ray")]) == 0
    assert_same_store(tmp_path / "ray" / "runs", tmp_path / "local" / "runs")
    local_json, ray_json = (json.loads((tmp_path / e / "results.json").read_text())
                            for e in ("local", "ray"))
    assert [r["metrics"] for r in ray_json["results"]] == [r["metrics"] for r in local_json["results"]]
    assert ray_json["paired"] == local_json["paired"] and ray_json["paired"]
    assert [r["engine"] for r in ray_json["results"]] == ["ray"] * 3


def test_tune_on_the_cluster_gives_the_local_results(cluster, tmp_path):
    options = ["tune", "--learners", "recent-pop", "--param", "half_life=36,432",
               "--select", "days:3-4:hr@10", "--report", "days:4-4", "--seeds", "0,1",
               "--bootstrap", "0", "--no-cache", "--quiet"]
    assert main([*options, "--jobs", "1", "--out", str(tmp_path / "local")]) == 0
    assert main([*options, "--engine", "ray", "--address", cluster.address,
                 "--out", str(tmp_path / "ray")]) == 0
    assert len(stored_runs(tmp_path / "ray" / "runs")) == 4  # two trials, a pick, two seeds
    assert_same_store(tmp_path / "ray" / "runs", tmp_path / "local" / "runs")
    local_json, ray_json = (json.loads((tmp_path / e / "results.json").read_text())
                            for e in ("local", "ray"))
    assert ray_json["provenance"]["engine"] == "ray"
    assert ray_json["picks"] == local_json["picks"]
    # the trials' values and the picks' report, without timings
    assert (tmp_path / "ray" / "results.md").read_bytes() == (
        tmp_path / "local" / "results.md").read_bytes()


def test_a_worker_node_killed_mid_sweep_loses_no_run(workers, pop, tmp_path):
    traces = [tmp_path / f"trace-{seed}" for seed in range(3)]  # more runs than nodes
    specs = [slow_spec(seed, trace) for seed, trace in enumerate(traces)]
    store = tmp_path / "runs"
    steps = ranked_steps(pop)
    nodes = {node.node_id for node in workers.nodes.worker_nodes}
    with in_background(execute, specs, engine="ray", store=store, progress=False) as sweep:
        wait_for(lambda: under_way(traces, steps) == nodes, "a run under way on each node")
        victim = min(under_way(traces, steps))
        workers.kill(victim)
        assert not sweep.done()
        results = sweep.result(timeout=120)
    for result in results:
        assert_ranked_as_pop(result, pop)
        assert result.extra["engine"] == "ray"
    # one finished record per run, and nothing else: no run stored twice, none half-written
    keys = sorted(spec_key(spec_record(spec)) for spec in specs)
    assert sorted(path.name for path in store.iterdir()) == keys
    assert len(stored_runs(store)) == len(specs)
    lost = [trace for trace in traces
            if [t for node, t in ranked(trace) if node == victim] not in ([], steps)]
    assert lost, "no run was under way on the killed node"
    for trace in lost:  # finished on the other node, from the start (no checkpoints)
        assert [t for node, t in ranked(trace) if node != victim] == steps
    hr10 = ", ".join(f"{result.metrics()['all']['hr@10']:.6f}" for result in results)
    print(f"{len(specs)} runs, {len(lost)} retried after their node was killed; hr@10 "
          f"{hr10} (pop: {pop.metrics()['all']['hr@10']:.6f})")  # shown with pytest -s


def test_a_run_whose_node_is_lost_resumes_from_its_checkpoint_on_another(
        workers, pop, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the relative folder below is taken from here, not from the
    # nodes' working folder
    trace = tmp_path / "trace"
    spec = slow_spec(0, trace)
    policy = CheckpointPolicy(Path("sweep", "checkpoints"), every_steps=CHECKPOINT_EVERY,
                              every_minutes=None)
    folder = tmp_path / "sweep" / "checkpoints" / spec_key(spec_record(spec))
    with in_background(execute, [spec], engine="ray", store=tmp_path / "sweep" / "runs",
                       progress=False, checkpoints=policy) as sweep:
        # after a checkpoint in the window and a few steps more, so that a run started over
        # would rank its first step again
        wait_for(lambda: ranked(trace) and ranked(trace)[-1][1] >= WINDOW[0] + 120,
                 "the run ranking the window")
        victim = ranked(trace)[-1][0]
        workers.kill(victim)
        saved = [int(path.stem.split("-")[1]) for path in folder.glob("step-*.ckpt")]
        assert saved, f"no checkpoint in {folder}"
        result, = sweep.result(timeout=120)
    assert_ranked_as_pop(result, pop)
    steps = ranked(trace)
    lost = [t for node, t in steps if node == victim]
    retried = [t for node, t in steps if node != victim]
    # the retry went on after the newest checkpoint of the lost node, inside the window, not
    # from the start, and ranked each later step once
    assert max(saved) >= WINDOW[0] and max(saved) < retried[0] <= lost[-1] + 1
    assert retried == [t for t in ranked_steps(pop) if t >= retried[0]]
    assert not folder.exists()  # removed once the result is stored


def test_a_compare_whose_driver_is_killed_finishes_when_run_again(cluster, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "livereplay.app.cli", "compare",
               "--learners", f"{__name__}:Slow,pop,repeat,random", "--window", "300:600",
               "--no-cache", "--bootstrap", "0", "--engine", "ray", "--address",
               cluster.address, "--out", str(out)]
    driver = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: stored_runs(out / "runs") or driver.poll() is not None,
                 "the first stored run")
        assert driver.poll() is None, driver.stderr.read()
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    finished = {meta: os.stat(meta) for meta in stored_runs(out / "runs")}
    assert 1 <= len(finished) < 4  # Slow, started first, takes the longest

    again = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    assert again.returncode == 0, again.stderr
    assert f"reusing {len(finished)} finished run(s)" in again.stderr
    assert len(stored_runs(out / "runs")) == 4
    for meta, before in finished.items():  # reused, not run and written again
        after = os.stat(meta)
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    report = json.loads((out / "results.json").read_text())
    slow, pop = (r["metrics"] for r in report["results"][:2])
    assert slow == pop
