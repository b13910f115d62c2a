"""livereplay: replay live-streaming logs in time order and evaluate online recommenders.

The core (data, candidates, the replay loop, protocols, ranks and metrics) is this package;
the learners are ``livereplay.learners``, the simulator ``livereplay.sim``, and the application
that wires them together (command line, runs, comparisons, tuning, sweeps) ``livereplay.app``.
The names below are imported on first use, so that importing the package stays cheap:

>>> from livereplay import RunSpec, run
>>> result = run(RunSpec(learner="pop", days=(35, 35), cache=False))
>>> result.metrics()["all"]["n"], round(result.metrics()["all"]["hr@10"], 4)
(1257, 0.1416)
"""
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("livereplay")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "unknown"

_HOMES = {"Learner": "contract", "Step": "contract", "Rows": "contract", "known": "contract",
          "grow": "contract", "Log": "data", "read_csv": "data", "load_log": "cache",
          "replay": "engine", "Result": "results", "RunSpec": "app.runner", "run": "app.runner",
          "compare": "app.compare"}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)
