"""livereplay.app.executors: every engine gives the same results, a store resumes a sweep (even one
killed mid-way) without repeating finished runs, and errors stay one line."""
import dataclasses
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from livereplay.app import executors
from livereplay.data import default_data_path
from livereplay.app.cli import main
from livereplay.errors import ReplayError
from livereplay.app.executors import RAY_MISSING, code_digest, execute, spec_key, spec_record
from livereplay.learners.baselines import Popularity
from livereplay.app.runner import RunSpec
from livereplay.app.tune import parse_space, tune

SPECS = [RunSpec(learner="pop", window=(300, 600), bootstrap=0, cache=False),
         RunSpec(learner="repeat", window=(300, 600), bootstrap=50, seed=3, cache=False),
         RunSpec(learner="recent-pop", days=(3, 4), params={"half_life": 72}, bootstrap=0,
                 cache=False)]


def stored_runs(store):
    """The runs a store holds whole (not the staging folder of one being written)."""
    return list(store.glob("[!.]*/meta.json"))


def assert_same_run(ours, theirs, *, same_execution=False):
    """Every field of two results equal (arrays with their dtypes) and the bootstrap intervals
    too; the time, memory and engine of the run only when it is ``same_execution``."""
    measured = () if same_execution else ("seconds", "peak_rss_mb", "engine")
    for item in dataclasses.fields(ours):
        a, b = getattr(ours, item.name), getattr(theirs, item.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), item.name
        elif item.name == "extra":
            assert ({k: v for k, v in a.items() if k not in measured}
                    == {k: v for k, v in b.items() if k not in measured})
        elif item.name not in measured:
            assert a == b and type(a) is type(b), item.name
    assert ours.intervals == theirs.intervals


@pytest.fixture(scope="module")
def local():
    return execute(SPECS, progress=False)


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def runs(monkeypatch):
    """The learners run in this process from now on, in order."""
    started = []

    def counted(spec, **options):
        started.append(spec.learner)
        return real(spec, **options)

    real = executors.run
    monkeypatch.setattr(executors, "run", counted)
    return started


def test_ray_and_local_processes_give_the_same_results(local, ray_instance):
    for engine in ("ray", "local"):
        results = execute(SPECS, engine=engine, jobs=2, progress=False)
        assert [r.learner for r in results] == ["pop", "repeat", "recent-pop"]
        for ours, theirs in zip(results, local):
            assert_same_run(ours, theirs)
            assert ours.extra["engine"] == engine
            assert ours.extra["machine"] == platform.node() and ours.seconds > 0
            assert ours.peak_rss_mb > 0
    assert local[1].intervals and local[1].metrics()["all"]["n"] == 2282


def test_a_bad_spec_on_ray_raises_its_one_line_error(ray_instance):
    with pytest.raises(ReplayError, match=r"window \[7000, 6148\) is empty") as error:
        execute([RunSpec(learner="pop", window=(7000, 7100), cache=False)], engine="ray",
                progress=False)
    assert "\n" not in str(error.value) and type(error.value) is ReplayError


class DiesOnce(Popularity):
    """``pop``, but the first process that starts it (while ``marker`` is absent) dies."""

    def __init__(self, *, seed: int = 0, marker: str = "") -> None:
        super().__init__(seed=seed)
        self.marker = marker

    def reset(self) -> None:
        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        super().reset()


def test_a_run_whose_ray_worker_dies_is_retried(local, ray_instance, tmp_path):
    spec = dataclasses.replace(SPECS[0], learner=f"{__name__}:DiesOnce",
                               params={"marker": str(tmp_path / "died")})
    with pytest.raises(ray_instance.exceptions.WorkerCrashedError):
        execute([spec], engine="ray", retries=0, progress=False)
    os.remove(tmp_path / "died")
    result, = execute([spec], engine="ray", progress=False)
    assert (tmp_path / "died").exists() and np.array_equal(result.ranks, local[0].ranks)


def test_tune_runs_its_trials_on_ray(ray_instance, local, tmp_path):
    space = parse_space(["half_life=72"], None, ["recent-pop"])
    report = tune(SPECS[2], ["recent-pop"], space, select="days:3-4:hr@10",
                  report="days:3-4", seeds=[0], engine="ray", jobs=2, out=tmp_path,
                  quiet=True)
    assert report.trials[0].results[0].extra["engine"] == "ray"
    assert report.trials[0].value == local[2].metrics()["all"]["hr@10"]


def test_compare_on_ray_writes_the_same_metrics_as_on_local_processes(ray_instance, tmp_path):
    options = ["--learners", "pop,repeat,random", "--window", "5000:5200", "--no-cache",
               "--quiet", "--jobs", "2", "--bootstrap", "200"]
    for engine in ("local", "ray"):
        assert main(["compare", *options, "--engine", engine, "--out", str(tmp_path / engine)]) == 0
    local_json, ray_json = (json.loads((tmp_path / e / "results.json").read_text())
                            for e in ("local", "ray"))
    assert [r["metrics"] for r in ray_json["results"]] == [r["metrics"] for r in local_json["results"]]
    assert ray_json["paired"] == local_json["paired"]
    assert ray_json["provenance"]["engine"] == "ray"
    assert [r["engine"] for r in ray_json["results"]] == ["ray"] * 3


def test_without_ray_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ReplayError) as error:
        execute(SPECS[:1], engine="ray", progress=False)
    assert str(error.value) == RAY_MISSING
    assert RAY_MISSING == "--engine ray needs Ray: pip install 'livereplay[ray]'"


def test_bad_engine_or_jobs_are_one_line_errors():
    with pytest.raises(ReplayError, match="--engine 'dask': expected one of local, ray"):
        execute(SPECS, engine="dask")
    with pytest.raises(ReplayError, match="--jobs must be at least 1"):
        execute(SPECS, jobs=0)


def test_the_key_names_the_data_by_its_content_and_ignores_how_it_is_loaded(tmp_path):
    copy = tmp_path / "copy.csv"
    shutil.copy(default_data_path(), copy)
    spec = SPECS[0]
    same = [dataclasses.replace(spec, data=copy, cache=True, cache_dir=tmp_path),
            dataclasses.replace(spec, window=[300, 600])]
    assert {spec_key(spec_record(s)) for s in [spec, *same]} == {spec_key(spec_record(spec))}
    for other in (dataclasses.replace(spec, seed=1), dataclasses.replace(spec, bootstrap=1),
                  dataclasses.replace(spec, params={"x": 1}), spec.with_learner("repeat")):
        assert spec_key(spec_record(other)) != spec_key(spec_record(spec))


def test_the_key_names_the_code_by_its_sources(tmp_path, monkeypatch):
    """A stored run is not reused by other code: the key holds a digest of the sources,
    which changes with any file of the packages it covers."""
    package = tmp_path / "plugin"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text("WEIGHT = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = code_digest(("plugin",))
    (package / "model.py").write_text("WEIGHT = 2\n")
    code_digest.cache_clear()
    assert code_digest(("plugin",)) != before
    assert spec_record(SPECS[0])["code"] == code_digest()


def test_the_store_reuses_runs_and_runs_a_corrupt_one_again(local, runs, tmp_path, capsys):
    store = tmp_path / "runs"
    first = execute(SPECS, store=store, progress=False)
    for ours, theirs in zip(first, local):
        assert_same_run(ours, theirs)
    # costliest first: repeat counts twice a popularity's replay
    assert runs == ["repeat", "pop", "recent-pop"] and len(stored_runs(store)) == 3
    assert all(isinstance(result.ranks, np.memmap) for result in first)  # not held in memory
    for ours, theirs in zip(execute([*SPECS, SPECS[0]], store=store, progress=False),
                            [*first, first[0]]):
        assert_same_run(ours, theirs, same_execution=True)
    assert len(runs) == 3  # all loaded

    broken = store / spec_key(spec_record(SPECS[1])) / "ranks.npy"
    broken.write_bytes(broken.read_bytes()[:300])
    (store / ".writing-stray").mkdir()  # as a run killed while it was written leaves it
    results = execute(SPECS, store=store, progress=False)
    assert runs[3:] == ["repeat"]
    assert_same_run(results[1], local[1])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and broken.parent.name in err[0] and "ranks.npy" in err[0] and err[0].endswith("running it again")


def test_equal_specs_run_once(runs):
    results = execute([SPECS[0], SPECS[0]], progress=False)
    assert runs == ["pop"] and results[0] is results[1]


SWEEP = [RunSpec(learner=name, window=(5000, 5300), bootstrap=0, cache=False)
         for name in ("pop", "repeat", "recent-pop", "random")]
SWEEP_SCRIPT = """
import sys
from livereplay.app.executors import execute
from livereplay.app.runner import RunSpec

execute({specs!r}, store=sys.argv[1], progress=False)
"""


def test_a_sweep_killed_mid_way_resumes_without_repeating_finished_runs(runs, tmp_path):
    store = tmp_path / "runs"
    sweep = subprocess.Popen([sys.executable, "-c", SWEEP_SCRIPT.format(specs=SWEEP),
                              str(store)], cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not stored_runs(store):
        assert sweep.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    finished = len(stored_runs(store))
    assert 1 <= finished < len(SWEEP)

    resumed = execute(SWEEP, store=store, progress=False)
    assert len(runs) == len(SWEEP) - finished
    runs.clear()
    for ours, theirs in zip(resumed, execute(SWEEP, progress=False)):
        assert_same_run(ours, theirs)


def test_a_sweep_starts_its_costliest_runs_first_and_returns_them_in_order():
    specs = {name: RunSpec(learner=name, window=(300, 302), bootstrap=0, cache=False)
             for name in ("pop", "mf", "blend", "no-such-learner", "liverec", "repeat")}
    started = list(executors._costliest_first(specs))
    assert started == ["blend", "liverec", "mf", "repeat", "pop", "no-such-learner"]
    results = execute([specs["pop"], specs["mf"]], jobs=1, progress=False)
    assert [r.learner for r in results] == ["pop", "mf"]


def test_processes_started_from_a_process_running_tensorflow_give_the_same_results():
    from livereplay.learners.tf_common import tensorflow

    tensorflow().constant(1.0) + 1.0  # TensorFlow's thread pools now run here
    specs = [RunSpec(learner=name, window=(300, 330), bootstrap=0, cache=False)
             for name in ("pop", "mf")]
    alone = execute(specs, jobs=1, progress=False)
    for ours, theirs in zip(execute(specs, jobs=2, progress=False), alone):
        np.testing.assert_array_equal(ours.ranks, theirs.ranks)


def test_on_large_logs_each_run_of_a_one_at_a_time_sweep_has_a_fresh_process(
        local, runs, monkeypatch):
    monkeypatch.setattr(executors, "ISOLATED_ROWS", 50_000)  # the sample's 52,141 rows
    isolated = execute(SPECS, jobs=1, progress=False)
    assert runs == []  # no run went through this process's executors.run
    for ours, theirs in zip(isolated, local):
        assert_same_run(ours, theirs)
    monkeypatch.setattr(executors, "ISOLATED_ROWS", 60_000)
    execute(SPECS[:2], jobs=1, progress=False)
    assert sorted(runs) == ["pop", "repeat"]
