"""Running many :class:`~livereplay.app.runner.RunSpec` at once: in this process, in local
processes, or as tasks on a Ray cluster, optionally resumable from a folder of finished runs.

:func:`execute` is what sweeps call (``compare``, ``tune``). Every engine parses each
distinct log once, in the calling process, with its availability and span indexes built, and
hands it to the runs: once to each local worker process (inherited by fork on Linux), through
the object store to Ray tasks (the workers read its arrays in place, without copying). Only the spec travels to a run, so
TensorFlow learners are built where they run. A run is a pure function of its spec and the
log's bytes, so every engine returns the same ranks.

Before local runs start, :func:`check_memory` stops a sweep whose runs at once would need
more memory than the machine has available.

With ``store``, each finished run is written at once, whole or not at all, to ``store/KEY/``,
where KEY is :func:`spec_key` (a hash of the spec with the log named by its content and
livereplay's code by its sources); a later sweep over the same folder with the same code
loads those runs instead of running them again.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import logging
import multiprocessing
import os
import platform
import shutil
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..cache import log_digest
from ..checkpoint import CheckpointPolicy, Checkpointer
from ..data import Log
from ..errors import ReplayError
from ..folders import open_arrays, save_arrays, staged_folder
from ..results import Result
from .runner import RunSpec, load_data, run

ENGINES = ("local", "ray")
#: A run's memory: a fixed part (TensorFlow's for any learner outside the numpy baselines)
#: and parts that grow with the log's rows and ids (users and streamers), set above the peak
#: of ``livereplay run`` alone in a process on the embedded sample (52,141 rows: 125 MB for
#: repeat, 590 MB for mf), on a simulated log of 300,833 rows (149 MB, 606 MB) and on the
#: simulated full release (124M rows, 15.5M users: 11.5 GB for mf; this gives 14.6 GB).
RUN_BYTES = {"baseline": 160 << 20, "other": 720 << 20}
RUN_BYTES_PER_ROW = 80
RUN_BYTES_PER_ID = 250
#: Logs from this many rows have each run of a one-at-a-time sweep in a fresh process.
ISOLATED_ROWS = 10_000_000
BASELINES_MODULE = "livereplay.learners.baselines"
RAY_MISSING = "--engine ray needs Ray: pip install 'livereplay[ray]'"
#: RunSpec fields that say how a log is loaded, not what it holds: they do not change a result.
LOADING_ONLY = ("cache", "cache_dir")
STORE_FORMAT = 2
META = "meta.json"

LogKey = tuple[str, bool]


def _digest(path: Path) -> str:
    try:
        return log_digest(path)
    except OSError as error:
        raise ReplayError(f"cannot read {path}: {error.strerror or error}") from None


#: the packages whose sources :func:`code_digest` covers
CODE_PACKAGES = ("livereplay", "livereplay.learners", "livereplay.sim")


@functools.cache
def code_digest(packages: tuple[str, ...] = CODE_PACKAGES) -> str:
    """BLAKE2b of the Python sources of ``packages`` (default: livereplay, its learners and
    its simulator), each file named by its package and path in it: a run stored by other
    code is not reused. A learner of one's own outside them is not covered.

    >>> len(code_digest())
    32
    """
    files: dict[Path, str] = {}
    for package in packages:
        for root in importlib.util.find_spec(package).submodule_search_locations:
            for path in sorted(Path(root).rglob("*.py")):
                files.setdefault(path.resolve(), f"{package}:{path.relative_to(root).as_posix()}")
    digest = hashlib.blake2b(digest_size=16)
    for path, name in sorted(files.items(), key=lambda item: item[1]):
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def spec_record(spec: RunSpec, digest: str | None = None) -> dict[str, Any]:
    """The spec as plain data that defines its result: every field but :data:`LOADING_ONLY`,
    the log named by the BLAKE2b ``digest`` of its bytes (computed when not given) instead
    of its path, so that the same run on a moved or copied file has the same record, and
    livereplay's code by :func:`code_digest`."""
    record = {name: value for name, value in dataclasses.asdict(spec).items()
              if name not in LOADING_ONLY}
    record["data"] = {"blake2b": digest or _digest(spec.data_path)}
    record["code"] = code_digest()
    return json.loads(json.dumps(record, sort_keys=True, default=str))


def spec_key(record: dict[str, Any]) -> str:
    """A stable hash (hex) of a :func:`spec_record`: the name of the run in a store."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _encode(value: Any) -> Any:
    """JSON-ready data from a Result field, tuples tagged so that they come back as tuples."""
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {key: _encode(v) for key, v in value.items()}
    return value.item() if isinstance(value, np.generic) else value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if value.keys() == {"__tuple__"}:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {key: _decode(v) for key, v in value.items()}
    return value


class RunStore:
    """A folder of finished runs, one folder ``KEY/`` per run: the array fields of its
    :class:`Result` as ``.npy`` files, opened memory-mapped (:mod:`livereplay.folders`), and
    ``meta.json`` with every other field, the run's :func:`spec_record` and its bootstrap
    intervals. Fields are read from ``dataclasses.fields(Result)``, so fields added to Result
    later are stored too."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.folder / key

    def save(self, key: str, record: dict[str, Any], result: Result) -> Result:
        """Write the run whole or not at all (a staging folder renamed into place) and return
        it as stored: its arrays mapped from the files, so that a sweep holding many runs
        keeps their events in the page cache, not in its own memory."""
        arrays, others = {}, {}
        for item in dataclasses.fields(Result):
            value = getattr(result, item.name)
            if isinstance(value, np.ndarray):
                arrays[item.name] = value
            else:
                others[item.name] = _encode(value)
        with staged_folder(self.path(key)) as staging:
            sizes = save_arrays(staging, arrays)
            (staging / META).write_text(json.dumps(
                {"format": STORE_FORMAT, "key": key, "spec": record, "fields": others,
                 "arrays": sizes, "intervals": _encode(result.intervals)}))
        stored = dataclasses.replace(result, **open_arrays(self.path(key), sizes))
        stored.__dict__["intervals"] = result.intervals
        return stored

    def load(self, key: str) -> Result | None:
        """The stored run, or None when there is none or it cannot be read (said in one line
        on stderr: it will be run again)."""
        path = self.path(key)
        if not path.is_dir():
            return None
        try:
            meta = json.loads((path / META).read_text())
            if meta.get("format") != STORE_FORMAT or meta.get("key") != key:
                raise ValueError(f"not a stored run of format {STORE_FORMAT} named {key}")
            values = {name: _decode(value) for name, value in meta["fields"].items()}
            values.update(open_arrays(path, meta["arrays"]))
            result = Result(**{item.name: values[item.name] for item in dataclasses.fields(Result)
                               if item.init and item.name in values})
            result.__dict__["intervals"] = _decode(meta["intervals"])  # computed with the run
        except (OSError, ValueError, KeyError, TypeError) as error:
            message = " ".join(str(error).split()) or type(error).__name__
            print(f"livereplay: unreadable stored run {path} ({message}); running it again",
                  file=sys.stderr)
            shutil.rmtree(path, ignore_errors=True)
            return None
        return result


def _log_key(spec: RunSpec) -> LogKey:
    return str(spec.data_path.resolve()), spec.skip_bad_rows


def _evaluate(spec: RunSpec, log: Log, engine: str, checkpoint: Checkpointer | None,
              progress: bool | None = False) -> Result:
    """One run where it is executed; the result records the engine and the machine. Its
    checkpoints, once it has finished, are removed (the store keeps the result)."""
    result = run(spec, log=log, progress=progress, checkpoint=checkpoint)
    if checkpoint is not None:
        shutil.rmtree(checkpoint.folder, ignore_errors=True)
    result.intervals  # the bootstrap runs with the run; its cached value travels back
    result.extra.update({"engine": engine, "machine": platform.node()})
    return result


_POOL_LOGS: dict[LogKey, Log] = {}


def _pool_start(logs: dict[LogKey, Log]) -> None:
    _POOL_LOGS.update(logs)


def _pool_evaluate(spec: RunSpec, checkpoint: Checkpointer | None,
                   progress: bool | None = False) -> Result:
    return _evaluate(spec, _POOL_LOGS[_log_key(spec)], "local", checkpoint, progress)


def process_pool(jobs: int, initializer: Callable[..., None] | None = None,
                 initargs: tuple = ()) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes. They are forked, inheriting this process's memory
    (the logs), unless this process has TensorFlow running: its thread pools do not survive
    a fork (a forked worker's first TensorFlow call would wait forever), so they then start
    from a fresh server process and receive ``initargs`` pickled."""
    context = multiprocessing.get_context("forkserver" if "tensorflow" in sys.modules else None)
    return ProcessPoolExecutor(max_workers=jobs, initializer=initializer, initargs=initargs,
                               mp_context=context)


def _run_local(pending: dict[str, RunSpec], logs: dict[LogKey, Log], jobs: int,
               progress: bool | None,
               checkpoints: CheckpointPolicy | None) -> Iterator[tuple[str, Result]]:
    """One run at a time (``jobs`` 1, each run with its own step bar) or in ``jobs``
    processes that receive the logs once each; yields (key, result) as runs finish.

    One at a time, runs go in this process, except on logs of :data:`ISOLATED_ROWS` rows or
    more: there each run has a fresh process of its own, so that what a run leaves behind
    (freed memory the allocator keeps, pages it touched) never adds to the next one's peak."""
    if jobs == 1 or len(pending) == 1:
        isolated = len(pending) > 1 and max(log.n_rows for log in logs.values()) >= ISOLATED_ROWS
        for key, spec in pending.items():
            checkpoint = checkpoints.for_run(key) if checkpoints else None
            if not isolated:
                yield key, _evaluate(spec, logs[_log_key(spec)], "local", checkpoint, progress)
                continue
            with process_pool(1, initializer=_pool_start, initargs=(logs,)) as pool:
                yield key, pool.submit(_pool_evaluate, spec, checkpoint, progress).result()
        return
    with process_pool(min(jobs, len(pending)), initializer=_pool_start,
                      initargs=(logs,)) as pool:
        futures = {pool.submit(_pool_evaluate, spec,
                               checkpoints.for_run(key) if checkpoints else None): key
                   for key, spec in pending.items()}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def connect_ray(address: str | None = None, cpus: int = 1) -> Any:
    """The ``ray`` module, connected: as it is when already initialised; to ``address`` (or
    ``$RAY_ADDRESS``) when given; else to a new local instance with ``cpus`` CPUs, which
    stays up until this process exits so that later sweeps reuse it."""
    try:
        import ray
    except ImportError:
        raise ReplayError(RAY_MISSING) from None
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
    return ray


def _run_ray(ray: Any, pending: dict[str, RunSpec], logs: dict[LogKey, Log], retries: int,
             checkpoints: CheckpointPolicy | None) -> Iterator[tuple[str, Result]]:
    """One Ray task per run, each log put once in the object store and passed by reference;
    a task whose worker is lost is retried ``retries`` times, an error it raises is not."""
    log_refs = {key: ray.put(log) for key, log in logs.items()}
    task = ray.remote(_evaluate).options(num_cpus=1, max_retries=retries,
                                         retry_exceptions=False)
    refs = {task.remote(spec, log_refs[_log_key(spec)], "ray",
                        checkpoints.for_run(key) if checkpoints else None): key
            for key, spec in pending.items()}
    waiting = list(refs)
    try:
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            try:
                result = ray.get(done[0])
            except ray.exceptions.RayTaskError as error:
                if isinstance(error.cause, ReplayError):
                    raise error.cause from None
                raise
            yield refs[done[0]], result
    finally:
        for ref in waiting:
            ray.cancel(ref)


def run_memory(spec: RunSpec, log: Log) -> int:
    """About the peak memory of the run ``spec`` on ``log`` (bytes): :data:`RUN_BYTES` of
    its learner's kind and the parts that grow with the log's rows, users and streamers."""
    from livereplay.learners.registry import learner_class

    try:
        kind = "baseline" if learner_class(spec.learner).__module__ == BASELINES_MODULE \
            else "other"
    except ReplayError:
        kind = "baseline"  # cannot be built: its run says why, and needs little
    return (RUN_BYTES[kind] + RUN_BYTES_PER_ROW * log.n_rows
            + RUN_BYTES_PER_ID * (log.n_users + log.n_streamers))


def available_memory() -> int | None:
    """The bytes this machine can give without swapping (``MemAvailable`` of /proc/meminfo,
    else the free physical pages), or None where neither is known."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(pending: dict[str, RunSpec], logs: dict[LogKey, Log], jobs: int) -> None:
    """A one-line :class:`ReplayError` when ``jobs`` (> 1) of the ``pending`` runs at once
    would need more memory than :func:`available_memory` (by :func:`run_memory` of the
    costliest), naming the estimate, what is available and the ``--jobs`` that fits; a
    warning when one run alone may not fit (the estimate errs high, so that run is tried)."""
    available = available_memory()
    costliest = max(pending.values(), key=lambda spec: run_memory(spec, logs[_log_key(spec)]))
    log = logs[_log_key(costliest)]
    per_run = run_memory(costliest, log)
    if available is None or jobs * per_run <= available:
        return
    each = (f"{per_run / 2**30:.2f} GB for {costliest.learner} on {log.n_rows:,} rows, "
            f"{log.n_users:,} users and {log.n_streamers:,} streamers")
    free = f"{available / 2**30:.1f} GB are available"
    if jobs == 1:
        warnings.warn(f"this run may need about {each}, but {free}", stacklevel=2)
        return
    raise ReplayError(f"this sweep needs about {jobs * per_run / 2**30:.1f} GB ({jobs} runs at "
                      f"once, each {each}) but {free}: run it with --jobs "
                      f"{max(1, available // per_run)}")


def _costliest_first(pending: dict[str, RunSpec]) -> dict[str, RunSpec]:
    """The runs in the order to start them: by their learners' ``relative_cost``, costliest
    first (longest processing time first: the processes then finish together), ties in the
    order given. A learner that cannot be built counts as cheap; its run says why."""
    from livereplay.learners.registry import learner_class

    def cost(spec: RunSpec) -> float:
        try:
            return float(getattr(learner_class(spec.learner), "relative_cost", 1.0))
        except ReplayError:
            return 1.0
    return dict(sorted(pending.items(), key=lambda item: -cost(item[1])))


def execute(specs: Sequence[RunSpec], *, engine: str = "local", jobs: int = 1,
            address: str | None = None, store: str | Path | None = None,
            progress: bool | None = None, retries: int = 3,
            checkpoints: CheckpointPolicy | None = None) -> list[Result]:
    """Run every spec and return the results in the order of ``specs``.

    engine   -- ``local``: in this process (``jobs`` 1) or in ``jobs`` processes; ``ray``: one
                Ray task per run (:func:`connect_ray`: ``address``, ``$RAY_ADDRESS``, or a
                local instance with ``jobs`` CPUs)
    store    -- a folder of finished runs (:class:`RunStore`): runs found there are loaded,
                the others saved as each finishes, so an interrupted sweep resumes
    progress -- one bar for the sweep (runs done / total, ETA): True, False, or None (only
                on a terminal)
    retries  -- Ray only: how often a run whose worker was lost is retried
    checkpoints -- each unfinished run checkpoints into its own folder and resumes from it
                when the sweep runs again or, on Ray, when a run lost with its node is
                retried; a relative folder is taken from this process's working folder. On
                Ray every node must see the folder at that path, or a retried run starts over

    Equal specs run once. Each result's ``extra`` records the ``engine`` and ``machine`` it
    ran on; its ``seconds`` and ``peak_rss_mb`` are those of the run.
    """
    if engine not in ENGINES:
        raise ReplayError(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if jobs < 1:
        raise ReplayError(f"--jobs must be at least 1, got {jobs}")
    digests = {path: _digest(path) for path in {spec.data_path for spec in specs}}
    records = [spec_record(spec, digests[spec.data_path]) for spec in specs]
    keys = [spec_key(record) for record in records]
    runs = RunStore(store) if store is not None else None
    if checkpoints is not None:  # where the runs write, not under each worker's own folder
        checkpoints = dataclasses.replace(checkpoints, folder=checkpoints.folder.absolute())
    results: dict[str, Result] = {}
    for key in dict.fromkeys(keys):
        stored = runs.load(key) if runs else None
        if stored is not None:
            results[key] = stored
    pending = _costliest_first({key: spec for key, spec in zip(keys, specs)
                                if key not in results})
    if results and progress is not False:
        print(f"livereplay: reusing {len(results)} finished run(s) from {store} (delete it to "
              "run them again)", file=sys.stderr)
    if not pending:
        return [results[key] for key in keys]
    ray = connect_ray(address, jobs) if engine == "ray" else None
    logs: dict[LogKey, Log] = {}
    for spec in pending.values():
        if _log_key(spec) not in logs:
            log = logs[_log_key(spec)] = load_data(spec)
            log.live, log.spans  # built once here, not in every run
    if ray is None:
        check_memory(pending, logs, min(jobs, len(pending)))
    record_of = dict(zip(keys, records))
    with tqdm(total=len(record_of), initial=len(results), desc="runs", unit="run",
              disable=None if progress is None else not progress, smoothing=0) as bar:
        finished = (_run_ray(ray, pending, logs, retries, checkpoints) if ray
                    else _run_local(pending, logs, jobs, progress, checkpoints))
        with closing(finished):
            for key, result in finished:
                results[key] = runs.save(key, record_of[key], result) if runs else result
                del result  # stored, its arrays are mapped from the store's files instead
                bar.update()
    return [results[key] for key in keys]
