"""Tuning learners' hyper-parameters: grid, seeded random or Optuna TPE search, a pick on one
split, and the picks re-run on another with several seeds.

:func:`tune` runs every trial through :func:`livereplay.app.executors.execute`, so trials run in
parallel locally or on Ray, and stores them under ``out/runs/``: an interrupted tune resumes
without repeating finished trials. It writes ``results.md``, ``results.csv``,
``results.json`` and plots into ``out``. The search space comes from ``--param`` strings or
a TOML file, read by :func:`parse_space`.
"""
from __future__ import annotations

import itertools
import json
import math
import re
import time
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import ReplayError
from ..folders import locked_folder
from ..metrics import METRICS
from ..results import Result
from .compare import provenance
from .executors import execute
from .parsing import parse_days, parse_value
from .runner import RunSpec
from .tables import markdown_table, write_results

STRATEGIES = ("grid", "random", "optuna")
OPTUNA_MISSING = "--strategy optuna needs Optuna: pip install 'livereplay[tune]'"
RANGE_FORMS = "a,b,c or LOW:HIGH[:log]"


@dataclass(frozen=True)
class Choice:
    """One of a few values (a single value fixes the parameter)."""

    values: tuple[Any, ...]

    def grid(self, points: int) -> tuple[Any, ...]:
        return self.values

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def distribution(self, optuna: Any) -> Any:
        return optuna.distributions.CategoricalDistribution(self.values)


@dataclass(frozen=True)
class Range:
    """A number between ``low`` and ``high`` (inclusive), uniform or log-uniform; integers
    when both bounds are ints."""

    low: int | float
    high: int | float
    log: bool = False

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    def grid(self, points: int) -> tuple[int | float, ...]:
        """``points`` values evenly spaced (on a log scale for a log range), ints rounded and
        deduplicated, floats to 6 significant digits."""
        values = (np.geomspace if self.log else np.linspace)(self.low, self.high, points)
        if self.integer:
            return tuple(dict.fromkeys(int(round(v)) for v in values))
        return tuple(float(f"{v:.6g}") for v in values)

    def sample(self, rng: np.random.Generator) -> int | float:
        """A uniform draw, log-uniform for a log range (integers of a log range: a draw over
        [low - 0.5, high + 0.5] rounded, so each integer gets the draws that round to it)."""
        if not self.log:
            return (int(rng.integers(self.low, self.high + 1)) if self.integer
                    else float(rng.uniform(self.low, self.high)))
        pad = 0.5 if self.integer else 0.0
        value = math.exp(rng.uniform(math.log(self.low - pad), math.log(self.high + pad)))
        return min(self.high, max(self.low, round(value))) if self.integer else value

    def distribution(self, optuna: Any) -> Any:
        kind = optuna.distributions.IntDistribution if self.integer else \
            optuna.distributions.FloatDistribution
        return kind(self.low, self.high, log=self.log)


ParamSpec = Choice | Range
Space = dict[str, dict[str, ParamSpec]]


def parse_param_spec(text: str, where: str) -> ParamSpec:
    """``a,b,c`` (a choice), ``LOW:HIGH`` (uniform) or ``LOW:HIGH:log`` (log-uniform);
    ``where`` names the entry in errors."""
    if ":" not in text or "," in text:
        items = text.split(",")
        if not all(item.strip() for item in items):
            raise ReplayError(f"{where}: an empty value (expected {RANGE_FORMS})")
        return Choice(tuple(dict.fromkeys(parse_value(item.strip()) for item in items)))
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[2:] not in ([], ["log"]):
        raise ReplayError(f"{where}: expected LOW:HIGH or LOW:HIGH:log")
    low, high = (parse_value(part) for part in parts[:2])
    if not all(type(bound) in (int, float) for bound in (low, high)):
        raise ReplayError(f"{where}: LOW and HIGH must be numbers")
    if not low < high:
        raise ReplayError(f"{where}: LOW must be below HIGH")
    log = len(parts) == 3
    if log and low <= 0:
        raise ReplayError(f"{where}: a log range needs LOW > 0")
    if type(low) is int and type(high) is int:
        return Range(low, high, log)
    return Range(float(low), float(high), log)


def _toml_spec(value: Any, where: str) -> ParamSpec:
    if isinstance(value, str):
        return parse_param_spec(value, where)
    if isinstance(value, list) and value:
        return Choice(tuple(dict.fromkeys(value)))
    if isinstance(value, (int, float)):
        return Choice((value,))
    raise ReplayError(f'{where}: expected "{RANGE_FORMS}", a list or a number')


def parse_space(params: Sequence[str], toml_file: str | Path | None,
                learners: Sequence[str]) -> Space:
    """Learner -> parameter -> :data:`ParamSpec`, from a TOML file ``{learner: {param: spec}}``
    (its tables of other learners are skipped), then ``--param`` strings, which win:
    ``NAME=SPEC`` for every learner, ``LEARNER.NAME=SPEC`` for one. A SPEC is a string as
    :func:`parse_param_spec` reads it; in TOML also a list (a choice) or a number (fixed).
    Every learner needs at least one parameter.

    >>> space = parse_space(["half_life=36,72,144", "recent-pop.scale=0.01:1:log", "k=1:4"],
    ...                     None, ["recent-pop"])
    >>> space["recent-pop"]
    {'half_life': Choice(values=(36, 72, 144)), 'scale': Range(low=0.01, high=1.0, log=True),
     'k': Range(low=1, high=4, log=False)}
    >>> space["recent-pop"]["k"].grid(3), space["recent-pop"]["scale"].grid(3)
    ((1, 2, 4), (0.01, 0.1, 1.0))
    >>> parse_space(["lr=0.1:0.01"], None, ["mf"])
    Traceback (most recent call last):
    ...
    livereplay.errors.ReplayError: --param 'lr=0.1:0.01': LOW must be below HIGH
    """
    space: Space = {learner: {} for learner in learners}
    if toml_file is not None:
        try:
            with open(toml_file, "rb") as f:
                tables = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ReplayError(f"cannot read the search space {toml_file}: {error}") from None
        for learner, table in tables.items():
            if learner not in space:
                continue
            if not isinstance(table, dict):
                raise ReplayError(f"{toml_file}: {learner}: expected a table of parameters")
            for name, value in table.items():
                space[learner][name] = _toml_spec(value, f"{toml_file}: {learner}.{name}")
    given: set[tuple[str, str]] = set()
    for item in params:
        where = f"--param {item!r}"
        key, equals, text = item.partition("=")
        prefix, dot, name = key.rpartition(".")
        if not equals or not name.isidentifier():
            raise ReplayError(f"{where}: expected [LEARNER.]NAME={RANGE_FORMS}")
        if dot and prefix not in space:
            raise ReplayError(f"{where}: {prefix!r} is not a tuned learner "
                              f"({', '.join(learners)})")
        spec = parse_param_spec(text, where)
        for learner in [prefix] if dot else learners:
            if (learner, name) in given:
                raise ReplayError(f"{where}: {learner}.{name} is given twice")
            given.add((learner, name))
            space[learner][name] = spec
    for learner, entries in space.items():
        if not entries:
            raise ReplayError(f"no search space for {learner!r}: give --param NAME={RANGE_FORMS}"
                              f" or a [{learner}] table")
    return space


@dataclass(frozen=True)
class Evaluation:
    """Where a metric is read: a split of the holdout protocol, or a window of days with the
    base spec's protocol and candidates."""

    period: str | None = None
    days: tuple[int, int] | None = None

    def __str__(self) -> str:
        return self.period or f"days:{self.days[0]}-{self.days[1]}"

    def spec(self, base: RunSpec) -> RunSpec:
        """``base`` evaluated here."""
        if self.period:
            return replace(base, protocol="holdout", period=self.period, availability=None,
                           window=None, days=None)
        if base.protocol == "holdout":
            raise ReplayError(f"{self}: a window of days needs --protocol starts or next "
                              "(holdout fixes its own window)")
        return replace(base, days=self.days, window=None, period=None)


def parse_evaluation(text: str, splits: Sequence[str], option: str) -> Evaluation:
    """One of ``splits`` or ``days:D1-D2``; ``option`` names the argument in errors."""
    if text in splits:
        return Evaluation(period=text)
    kind, colon, days = text.partition(":")
    try:
        if kind == "days" and colon:
            return Evaluation(days=parse_days(days))
    except ReplayError:
        pass
    raise ReplayError(f"{option} {text!r}: expected {' or '.join(splits)} or days:D1-D2 "
                      "(D1 <= D2)")


def parse_select(text: str) -> tuple[Evaluation, str]:
    """``SPLIT:METRIC``, SPLIT ``validation`` or ``days:D1-D2``, METRIC one of
    :data:`METRICS` (maximised)."""
    where, _, metric = text.rpartition(":")
    if metric not in METRICS:
        raise ReplayError(f"--select {text!r}: expected SPLIT:METRIC with METRIC one of "
                          f"{', '.join(METRICS)}")
    return parse_evaluation(where, ("validation",), "--select"), metric


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """``--seeds 0,1,2``: distinct seeds in their order (``option`` names it in errors)."""
    try:
        seeds = list(dict.fromkeys(int(item) for item in text.split(",")))
    except ValueError:
        raise ReplayError(f"{option} {text!r}: expected integers such as 0,1,2") from None
    return seeds


@dataclass
class Trial:
    """One set of parameters of one learner, its runs on the selection split (one per
    selection seed) and their mean selection metric."""

    learner: str
    number: int
    params: dict[str, Any]
    value: float
    results: list[Result]


@dataclass
class TuneReport:
    """Every trial, the best trial per learner, its test results (one per seed) and the
    files written."""

    metric: str
    trials: list[Trial]
    best: dict[str, Trial]
    tests: dict[str, list[Result]]
    files: list[Path] = field(default_factory=list)

    def test_values(self, learner: str) -> list[float]:
        """The test metric of the learner's pick, one value per seed."""
        return [result.metrics()["all"][self.metric] for result in self.tests[learner]]


def _describe(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                     for name, value in params.items())


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ReplayError(OPTUNA_MISSING) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# runs trials given as (learner, params) and returns each one's (value, runs)
Evaluate = Callable[[list[tuple[str, dict[str, Any]]]], list[tuple[float, list[Result]]]]


def _optuna_trials(space: Space, trials: int, seed: int, jobs: int,
                   evaluate: Evaluate) -> list[Trial]:
    """Optuna's TPE sampler (seeded) per learner, asked and told in rounds of ``jobs`` trials
    per learner. A seeded study asks the same trials after the same tells, so a resumed tune
    replays its stored trials into the study in their order (asked again, told their stored
    results without running them) and then asks what the uninterrupted tune would have."""
    optuna = _import_optuna()
    studies = {learner: optuna.create_study(direction="maximize",
                                            sampler=optuna.samplers.TPESampler(seed=seed))
               for learner in space}
    distributions = {learner: {name: spec.distribution(optuna) for name, spec in params.items()}
                     for learner, params in space.items()}
    found = []
    while asked := [(learner, studies[learner].ask(distributions[learner]))
                    for learner in space
                    for _ in range(min(jobs, trials - len(studies[learner].trials)))]:
        evaluated = evaluate([(learner, trial.params) for learner, trial in asked])
        for (learner, trial), (value, results) in zip(asked, evaluated):
            studies[learner].tell(trial, value)
            found.append(Trial(learner, trial.number, trial.params, value, results))
    return sorted(found, key=lambda trial: (list(space).index(trial.learner), trial.number))


def search_points(space: Space, strategy: str, trials: int | None, seed: int,
                  grid_points: int = 5) -> dict[str, list[dict[str, Any]]]:
    """Learner -> the parameter sets of the grid (ranges discretised into ``grid_points``
    values) or of ``trials`` random draws (a generator seeded by ``seed`` per learner)."""
    points = {}
    for learner, params in space.items():
        if strategy == "grid":
            grid = [dict(zip(params, values)) for values in
                    itertools.product(*(spec.grid(grid_points) for spec in params.values()))]
            if trials is not None and len(grid) > trials:
                raise ReplayError(f"the grid of {learner} has {len(grid)} points, more than "
                                  f"--trials {trials}: raise --trials or lower --grid-points")
            points[learner] = grid
        else:
            rng = np.random.default_rng(seed)
            points[learner] = [{name: spec.sample(rng) for name, spec in params.items()}
                               for _ in range(trials)]
    return points


def check_space(space: Mapping[str, Mapping[str, ParamSpec]]) -> None:
    """A one-line error for a parameter that a learner does not take (before any run),
    naming those it takes (its :meth:`~livereplay.contract.Learner.get_params`)."""
    from livereplay.learners.registry import make_learner

    for learner, params in space.items():
        takes = set(make_learner(learner).get_params()) - {"seed"}
        for name in params:
            if name == "seed":
                raise ReplayError(f"--param {learner}.seed: seeds are --seed and --seeds, "
                                  "not a search")
            if name not in takes:
                raise ReplayError(f"--param {learner}.{name}: {learner} has no hyper-parameter "
                                  f"{name!r} (it takes {', '.join(sorted(takes))})")


def tune(base: RunSpec, learners: Sequence[str], space: Mapping[str, Mapping[str, ParamSpec]],
         *, strategy: str = "grid", trials: int | None = None,
         select: str = "validation:hr@10", report: str = "test",
         seeds: Sequence[int] = (0, 1, 2), select_seeds: Sequence[int] | None = None,
         engine: str = "local", jobs: int = 1,
         address: str | None = None, out: str | Path = "livereplay-tune", quiet: bool = False,
         grid_points: int = 5) -> TuneReport:
    """Tune each learner of ``learners`` over its ``space`` and write the outputs into ``out``.

    Trials are ``base`` with the trial's parameters (over ``base.params``), run once per seed
    of ``select_seeds`` (default: ``base.seed`` alone) on ``select`` (``SPLIT:METRIC``,
    :func:`parse_select`) without bootstrap, a trial's value being the mean over its seeds
    (several seeds tell a setting that is better from one a seed favoured); the best trial
    per learner (the first of equals) is re-run on ``report``
    (``test`` or ``days:D1-D2``) once per seed of ``seeds``. ``strategy``: ``grid`` (every
    point; ``trials``, when given, must cover it), ``random`` or ``optuna`` (``trials`` per
    learner, sampled with seed ``base.seed``). Runs go through :func:`execute` with
    ``engine``, ``jobs`` and ``address``, stored under ``out/runs``.
    """
    began = time.perf_counter()
    if strategy not in STRATEGIES:
        raise ReplayError(f"--strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    if trials is None and strategy != "grid":
        raise ReplayError(f"--strategy {strategy} needs --trials N")
    if trials is not None and trials < 1:
        raise ReplayError(f"--trials must be at least 1, got {trials}")
    if grid_points < 2:
        raise ReplayError(f"--grid-points must be at least 2, got {grid_points}")
    if not learners:
        raise ReplayError("--learners names no learner")
    select_seeds = [base.seed] if select_seeds is None else list(select_seeds)
    if not seeds or not select_seeds:
        raise ReplayError(f"--{'seeds' if not seeds else 'select-seeds'} names no seed")
    missing = [learner for learner in learners if not space.get(learner)]
    if missing:
        raise ReplayError(f"no search space for {', '.join(missing)}")
    space = {learner: dict(space[learner]) for learner in learners}
    check_space(space)
    selection, metric = parse_select(select)
    testing = parse_evaluation(report, ("test", "validation"), "--report")
    trial_base = replace(selection.spec(base), bootstrap=0)
    test_base = testing.spec(base)
    out = Path(out)

    def run_specs(specs: list[RunSpec]) -> list[Result]:
        return execute(specs, engine=engine, jobs=jobs, address=address, store=out / "runs",
                       progress=False if quiet else None)

    def evaluate(trials: list[tuple[str, dict[str, Any]]]) -> list[tuple[float, list[Result]]]:
        """Each (learner, params) run with every selection seed: (mean metric, runs)."""
        results = run_specs([replace(trial_base, learner=learner, seed=seed,
                                     params={**base.params, **params})
                             for learner, params in trials for seed in select_seeds])
        size = len(select_seeds)
        runs = [results[i:i + size] for i in range(0, len(results), size)]
        return [(float(np.mean([r.metrics()["all"][metric] for r in trial_runs])), trial_runs)
                for trial_runs in runs]

    with locked_folder(out):  # one sweep at a time writes into out
        if strategy == "optuna":
            found = _optuna_trials(space, trials, base.seed, jobs, evaluate)
        else:
            points = search_points(space, strategy, trials, base.seed, grid_points)
            listed = [(learner, number, params) for learner, sets in points.items()
                      for number, params in enumerate(sets)]
            evaluated = evaluate([(learner, params) for learner, _, params in listed])
            found = [Trial(learner, number, params, value, results) for (learner, number, params),
                     (value, results) in zip(listed, evaluated)]
        best = {learner: max((t for t in found if t.learner == learner), key=lambda t: t.value)
                for learner in learners}
        tested = run_specs([replace(test_base, learner=learner, seed=seed,
                                    params={**base.params, **best[learner].params})
                            for learner in learners for seed in seeds])
        tests = {learner: tested[i * len(seeds):(i + 1) * len(seeds)]
                 for i, learner in enumerate(learners)}
        outcome = TuneReport(metric, found, best, tests)
        options = {"strategy": strategy, "budget": trials, "grid_points": grid_points,
                   "select": str(selection), "report": str(testing), "metric": metric,
                   "seeds": list(seeds), "select_seeds": select_seeds, "engine": engine}
        made = provenance(base, list(learners), jobs, time.perf_counter() - began)
        outcome.files = _write(outcome, out, space, options, made, quiet)
    return outcome


def _write(report: TuneReport, out: Path, space: Space, options: dict[str, Any],
           made: dict[str, Any], quiet: bool) -> list[Path]:
    """results.md, results.csv, results.json and the plots; the table printed unless quiet."""
    out.mkdir(parents=True, exist_ok=True)
    metric, seeds, select_seeds = report.metric, options["seeds"], options["select_seeds"]
    chosen = f"{options['select']} {metric}" + (" (mean)" if len(select_seeds) > 1 else "")
    tested = f"{options['report']} {metric}"
    trials = markdown_table(["learner", "trial", "params", chosen],
                            [[t.learner, t.number, _describe(t.params), f"{t.value:.4f}"]
                             for t in report.trials], align="lrlr")
    summary, picks = {}, []
    for learner, trial in report.best.items():
        values = report.test_values(learner)
        summary[learner] = {"mean": float(np.mean(values)), "min": min(values),
                            "max": max(values)}
        picks.append([learner, trial.number, _describe(trial.params), f"{trial.value:.4f}",
                      *(f"{summary[learner][key]:.4f}" for key in ("mean", "min", "max"))])
    table = "\n".join([
        f"Tuning ({options['strategy']}): trials selected on {chosen} with seed"
        f"{'s' * (len(select_seeds) > 1)} {', '.join(map(str, select_seeds))}, the best "
        f"of each learner re-run on {options['report']} with seeds "
        f"{', '.join(map(str, seeds))}.", "", trials,
        markdown_table(["learner", "trial", "params", chosen, f"{tested} mean", "min", "max"],
                       picks, align="lrlrrrr")])

    rows = [{"stage": "trial", "learner": t.learner, "trial": t.number,
             "seed": result.seed, "params": json.dumps(t.params), "evaluation":
             options["select"], "metric": metric, "value": result.metrics()["all"][metric],
             "n": result.n_events, "seconds": round(result.seconds, 3)}
            for t in report.trials for result in t.results]
    rows += [{"stage": "test", "learner": learner, "trial": report.best[learner].number,
              "seed": result.seed, "params": json.dumps(report.best[learner].params),
              "evaluation": options["report"], "metric": metric,
              "value": result.metrics()["all"][metric], "n": result.n_events,
              "seconds": round(result.seconds, 3)}
             for learner, results in report.tests.items() for result in results]
    files = write_results(out, table, rows, {
        "provenance": {**made, **options,
                       "space": {learner: {name: {"kind": type(spec).__name__.lower(),
                                                  **asdict(spec)}
                                           for name, spec in params.items()}
                                 for learner, params in space.items()}},
        "trials": [{"learner": t.learner, "trial": t.number, "params": t.params,
                    "value": t.value, "runs": [{"seed": result.seed,
                                                "metrics": result.metrics()["all"],
                                                "seconds": round(result.seconds, 3)}
                                               for result in t.results]}
                   for t in report.trials],
        "picks": {learner: {"trial": t.number, "params": t.params, "value": t.value}
                  for learner, t in report.best.items()},
        "tests": [{"learner": learner, "seed": result.seed, "result": result.to_dict()}
                  for learner, results in report.tests.items() for result in results],
        "summary": summary})
    files += _plot(report, out, space, chosen, tested)
    if not quiet:
        print(table, end="")
        print(f"\nwrote {out}/" + ", ".join(path.name for path in files))
    return files


def _plot(report: TuneReport, out: Path, space: Space, chosen: str, tested: str) -> list[Path]:
    """One png per learner (the selection metric against each parameter the trials vary,
    the pick starred, the fixed ones in the title) and the test metric per learner (mean,
    min-max over seeds, each seed a cross)."""
    from .plots import pyplot, save

    plt = pyplot()
    paths = []
    for learner, best in report.best.items():
        trials = [t for t in report.trials if t.learner == learner]
        varied = [name for name in best.params
                  if len({str(t.params[name]) for t in trials}) > 1] or list(best.params)
        fixed = [f"{name}={best.params[name]}" for name in best.params if name not in varied]
        fig, axes = plt.subplots(1, len(varied), figsize=(4 * len(varied), 3.5),
                                 squeeze=False, sharey=True)
        for ax, name in zip(axes[0], varied):
            xs = [t.params[name] for t in trials]
            numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs)
            labels = list(dict.fromkeys(map(str, xs)))
            position = (lambda x: x) if numeric else (lambda x: labels.index(str(x)))
            ax.scatter([position(x) for x in xs], [t.value for t in trials], alpha=0.7)
            ax.scatter([position(best.params[name])], [best.value], marker="*", s=180,
                       color="C3", label="pick")
            if getattr(space[learner][name], "log", False):
                ax.set_xscale("log")
            if not numeric:
                ax.set_xticks(range(len(labels)), labels)
            ax.set_xlabel(name)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel(chosen)
        axes[0][0].legend(fontsize="small")
        fig.suptitle(f"{learner} ({', '.join(fixed)})" if fixed else learner)
        stem = re.sub(r"[^\w.-]", "_", learner)
        paths.append(save(fig, out / f"search_{stem}.png"))

    fig, ax = plt.subplots(figsize=(1.5 + 1.2 * len(report.tests), 4))
    for i, learner in enumerate(report.tests):
        values = report.test_values(learner)
        mean = float(np.mean(values))
        ax.errorbar([i], [mean], yerr=[[mean - min(values)], [max(values) - mean]], fmt="o",
                    capsize=5, color="C0")
        ax.scatter([i] * len(values), values, marker="x", color="C1", zorder=3)
    ax.set_xticks(range(len(report.tests)), list(report.tests))
    ax.set_ylabel(f"{tested} (mean, min-max over seeds)")
    ax.grid(axis="y", alpha=0.3)
    paths.append(save(fig, out / "test_metric.png"))
    return paths

