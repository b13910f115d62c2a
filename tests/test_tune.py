"""livereplay.app.tune: the search space, grid / random / Optuna searches, the pick on the
selection period, its re-runs on the report period, the files, and resuming from out/runs."""
import csv
import json
import shutil
import sys

import pytest

from livereplay.app import executors
from livereplay.errors import ReplayError
from livereplay.app.executors import execute, spec_key, spec_record
from livereplay.app.runner import RunSpec
from livereplay.app.tune import (OPTUNA_MISSING, Choice, Range, parse_seeds, parse_select,
                             parse_space, search_points, tune)

BASE = RunSpec(cache=False, bootstrap=0)
EARLY = {"select": "days:3-3:hr@10", "report": "days:4-4"}  # early days: a short warm-up


@pytest.fixture
def runs(monkeypatch):
    """The params of every run started in this process from now on."""
    started = []

    def counted(spec, **options):
        started.append(dict(spec.params))
        return real(spec, **options)

    real = executors.run
    monkeypatch.setattr(executors, "run", counted)
    return started


def test_parse_space_reads_every_form(tmp_path):
    toml = tmp_path / "space.toml"
    toml.write_text('[recent-pop]\nhalf_life = "36:288:log"\nk = [1, 2]\nfixed = 0.5\n'
                    '[mf]\ndim = "16,32"\n')
    space = parse_space(["dim=16,32,64", "lr=0.01:0.1:log", "rate=0.01:0.1", "updates=1:4",
                         "name=a,b", "repeat.only=7", "k=3,4"], toml, ["recent-pop", "repeat"])
    assert space["recent-pop"] == {
        "half_life": Range(36, 288, log=True), "k": Choice((3, 4)), "fixed": Choice((0.5,)),
        "dim": Choice((16, 32, 64)), "lr": Range(0.01, 0.1, log=True),
        "rate": Range(0.01, 0.1), "updates": Range(1, 4), "name": Choice(("a", "b"))}
    assert space["repeat"]["only"] == Choice((7,)) and "only" not in space["recent-pop"]
    assert space["recent-pop"]["updates"].integer and not space["recent-pop"]["rate"].integer
    assert space["recent-pop"]["half_life"].grid(4) == (36, 72, 144, 288)
    assert space["recent-pop"]["rate"].grid(3) == (0.01, 0.055, 0.1)


@pytest.mark.parametrize("params,toml,message", [
    (["dim"], None, "--param 'dim': expected [LEARNER.]NAME=a,b,c or LOW:HIGH[:log]"),
    (["lr=0.1:0.01"], None, "--param 'lr=0.1:0.01': LOW must be below HIGH"),
    (["lr=0:1:log"], None, "--param 'lr=0:1:log': a log range needs LOW > 0"),
    (["lr=a:b"], None, "--param 'lr=a:b': LOW and HIGH must be numbers"),
    (["lr=1:2:exp"], None, "--param 'lr=1:2:exp': expected LOW:HIGH or LOW:HIGH:log"),
    (["dim=16,,32"], None, "--param 'dim=16,,32': an empty value (expected a,b,c or LOW:HIGH"),
    (["mf.dim=1,2"], None, "--param 'mf.dim=1,2': 'mf' is not a tuned learner (pop)"),
    (["x=1", "x=2"], None, "--param 'x=2': pop.x is given twice"),
    ([], None, "no search space for 'pop': give --param NAME=a,b,c or LOW:HIGH[:log] or a [pop]"),
    ([], "[pop]\nx = {a = 1}\n", ': pop.x: expected "a,b,c or LOW:HIGH[:log]", a list or a'),
    ([], "[pop\n", "cannot read the search space "),
])
def test_parse_space_rejects_bad_entries_in_one_line(params, toml, message, tmp_path):
    path = None
    if toml is not None:
        path = tmp_path / "space.toml"
        path.write_text(toml)
    with pytest.raises(ReplayError) as error:
        parse_space(params, path, ["pop"])
    assert message in str(error.value) and "\n" not in str(error.value)


def test_parse_select_reads_a_split_or_days_and_a_metric():
    assert [str(part) for part in parse_select("validation:ndcg@10")] == ["validation", "ndcg@10"]
    assert [str(part) for part in parse_select("days:20-31:mrr")] == ["days:20-31", "mrr"]
    for bad, message in [("test:hr@10", "expected validation or days:D1-D2"),
                         ("validation:hr@3", "METRIC one of hr@1, hr@5, hr@10"),
                         ("days:9-2:mrr", "expected validation or days:D1-D2")]:
        with pytest.raises(ReplayError, match=message):
            parse_select(bad)


def test_parse_seeds():
    assert parse_seeds("2,0,2") == [2, 0]
    with pytest.raises(ReplayError, match="--seeds '0,x': expected integers such as 0,1,2"):
        parse_seeds("0,x")
    with pytest.raises(ReplayError, match="--select-seeds 'x': expected integers"):
        parse_seeds("x", "--select-seeds")


def test_grid_tune_picks_the_best_validation_value_and_writes_the_files(tmp_path, runs):
    values = (6, 36, 144)
    space = parse_space([f"half_life={','.join(map(str, values))}"], None, ["recent-pop"])
    out = tmp_path / "out"
    report = tune(BASE, ["recent-pop"], space, seeds=[0, 1], out=out, quiet=True)

    direct = execute([RunSpec(learner="recent-pop", protocol="holdout", period="validation",
                              params={"half_life": h}, cache=False, bootstrap=0)
                      for h in values], progress=False)
    scores = [result.metrics()["all"]["hr@10"] for result in direct]
    assert [t.value for t in report.trials] == scores and len(set(scores)) == 3
    pick = values[scores.index(max(scores))]
    assert report.best["recent-pop"].params == {"half_life": pick}
    test = execute([RunSpec(learner="recent-pop", protocol="holdout", params={"half_life": pick},
                            cache=False, bootstrap=0)], progress=False)[0]
    assert report.test_values("recent-pop") == [test.metrics()["all"]["hr@10"]] * 2

    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [(r["stage"], r["seed"], r["evaluation"]) for r in rows] == [
        ("trial", "0", "validation")] * 3 + [("test", "0", "test"), ("test", "1", "test")]
    saved = json.loads((out / "results.json").read_text())
    assert saved["picks"]["recent-pop"]["params"] == {"half_life": pick}
    assert saved["provenance"]["strategy"] == "grid" and saved["provenance"]["seeds"] == [0, 1]
    assert saved["provenance"]["space"]["recent-pop"]["half_life"] == {
        "kind": "choice", "values": list(values)}
    assert len(saved["trials"]) == 3 and len(saved["tests"]) == 2
    table = (out / "results.md").read_text()
    assert f"| recent-pop | {values.index(pick)} | half_life={pick} |" in table
    for name in ("search_recent-pop.png", "test_metric.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    runs.clear()  # a second tune into the same folder runs nothing again
    again = tune(BASE, ["recent-pop"], space, seeds=[0, 1], out=out, quiet=True)
    assert runs == [] and [t.value for t in again.trials] == scores


def test_trials_run_with_every_selection_seed_and_are_chosen_on_their_mean(tmp_path, runs):
    space = parse_space(["dim=2,4"], None, ["mf"])
    report = tune(BASE, ["mf"], space, seeds=[0], select_seeds=[0, 1], out=tmp_path,
                  quiet=True, **EARLY)
    assert len(runs) == 2 * 2 + 1
    for trial in report.trials:
        values = [result.metrics()["all"]["hr@10"] for result in trial.results]
        assert [result.seed for result in trial.results] == [0, 1]
        assert trial.value == pytest.approx(sum(values) / 2)
    assert any(len({r.metrics()["all"]["hr@10"] for r in t.results}) == 2 for t in report.trials)
    assert report.best["mf"] is max(report.trials, key=lambda t: t.value)
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert [(r["stage"], r["seed"]) for r in rows] == [("trial", "0"), ("trial", "1")] * 2 + [
        ("test", "0")]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["provenance"]["select_seeds"] == [0, 1]
    assert [run["seed"] for run in saved["trials"][0]["runs"]] == [0, 1]
    assert "hr@10 (mean) with seeds 0, 1," in (tmp_path / "results.md").read_text()


def test_random_search_is_seeded(tmp_path, runs):
    space = parse_space(["half_life=10:1000:log", "recent-pop.steps=1:4"], None,
                        ["recent-pop"])
    points = search_points(space, "random", 5, seed=0)["recent-pop"]
    assert points == search_points(space, "random", 5, seed=0)["recent-pop"]
    assert points != search_points(space, "random", 5, seed=1)["recent-pop"]
    assert all(10 <= p["half_life"] <= 1000 and p["steps"] in (1, 2, 3, 4) for p in points)

    space = parse_space(["half_life=10:1000:log"], None, ["recent-pop"])
    first = tune(BASE, ["recent-pop"], space, strategy="random", trials=3, seeds=[0],
                 out=tmp_path, quiet=True, **EARLY)
    assert len(first.trials) == 3 and len(runs) == 4
    again = tune(BASE, ["recent-pop"], space, strategy="random", trials=3, seeds=[0],
                 out=tmp_path, quiet=True, **EARLY)
    assert [t.params for t in again.trials] == [t.params for t in first.trials]
    assert len(runs) == 4  # the same trials, loaded from out/runs


def test_optuna_runs_the_budget_reproducibly_and_resumes_as_if_never_stopped(tmp_path, runs):
    space = parse_space(["half_life=10:1000:log"], None, ["recent-pop"])
    options = dict(strategy="optuna", trials=3, seeds=[0], jobs=2, quiet=True, **EARLY)
    one = tune(BASE, ["recent-pop"], space, out=tmp_path / "one", **options)
    two = tune(BASE, ["recent-pop"], space, out=tmp_path / "two", **options)
    assert [t.number for t in one.trials] == [0, 1, 2]
    assert [(t.params, t.value) for t in one.trials] == [(t.params, t.value) for t in two.trials]
    assert len({t.params["half_life"] for t in one.trials}) == 3

    # as if stopped before the last trial finished, then given a budget of 4
    last = RunSpec(learner="recent-pop", days=(3, 3), params=one.trials[2].params, cache=False,
                   bootstrap=0)
    shutil.rmtree(tmp_path / "one" / "runs" / spec_key(spec_record(last)))
    runs.clear()
    more = tune(BASE, ["recent-pop"], space, out=tmp_path / "one",
                **{**options, "trials": 4, "jobs": 1})
    assert [(t.params, t.value) for t in more.trials[:3]] == [
        (t.params, t.value) for t in one.trials]
    assert runs[:2] == [one.trials[2].params, more.trials[3].params] and len(runs) <= 3


def test_optuna_missing_is_one_line_naming_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "optuna", None)
    space = parse_space(["half_life=10:1000:log"], None, ["recent-pop"])
    with pytest.raises(ReplayError) as error:
        tune(BASE, ["recent-pop"], space, strategy="optuna", trials=2, out=tmp_path, quiet=True)
    assert str(error.value) == OPTUNA_MISSING == \
        "--strategy optuna needs Optuna: pip install 'livereplay[tune]'"


def test_bad_tune_options_are_one_line_errors(tmp_path):
    space = parse_space(["half_life=1:100"], None, ["recent-pop"])
    for options, message in [({"strategy": "bayes"}, "--strategy 'bayes': expected one of"),
                             ({"strategy": "random"}, "--strategy random needs --trials N"),
                             ({"trials": 3}, "the grid of recent-pop has 5 points, more than "
                                             "--trials 3"),
                             ({"report": "days:x"}, "--report 'days:x': expected test or"),
                             ({"grid_points": 1}, "--grid-points must be at least 2")]:
        with pytest.raises(ReplayError, match=message):
            tune(BASE, ["recent-pop"], space, out=tmp_path, quiet=True, **options)


@pytest.mark.parametrize("param,message", [
    ("halflife=1:100", r"--param recent-pop.halflife: recent-pop has no hyper-parameter "
                       r"'halflife' \(it takes half_life\)"),
    ("seed=0,1", "--param recent-pop.seed: seeds are --seed and --seeds, not a search"),
])
def test_a_parameter_the_learner_does_not_take_stops_the_tune_before_any_run(tmp_path, param,
                                                                             message):
    with pytest.raises(ReplayError, match=message):
        tune(BASE, ["recent-pop"], parse_space([param], None, ["recent-pop"]), out=tmp_path,
             quiet=True)
    assert not (tmp_path / "runs").exists()
