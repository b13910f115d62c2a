"""The livereplay command line, as a user runs it."""
import json
import subprocess
import sys

import pandas as pd
import pytest

from livereplay.app.cli import main
from livereplay.data import default_data_path
from livereplay.learners.registry import BUILTIN

WINDOW = ["--window", "5000:5300"]


def printed_values(out: str) -> dict[str, str]:
    """``Name: value`` lines of a command's output."""
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def test_stats_prints_the_figures_of_the_sample(capsys, tmp_path):
    assert main(["stats", "--quiet", "--cache-dir", str(tmp_path)]) == 0
    values = {k: v.strip() for k, v in printed_values(capsys.readouterr().out).items()}
    rows = pd.read_csv(default_data_path(), header=None,
                       names=["user", "stream", "streamer", "start", "stop"])
    assert int(values["Num time periods"]) == rows.stop.max() == 6148
    assert int(values["Num users"]) == rows.user.nunique()
    assert int(values["Num streamers"]) == rows.streamer.nunique()
    assert int(values["Num interactions"]) == len(rows)
    assert float(values["Estimated watch time (hrs)"]) == pytest.approx(
        (rows.stop - rows.start).sum() * 10 / 60)
    pairs = len(rows.drop_duplicates(["user", "streamer"]))
    assert float(values["Repeat share of rows"]) == round(1 - pairs / len(rows), 4)
    live = [rows[(rows.start <= t) & (rows.stop > t)].streamer.nunique() for t in range(0, 6148, 97)]
    assert int(values["Available per step (max)"]) >= max(live)


def test_run_prints_the_metrics_it_writes_to_json(capsys, tmp_path):
    out_json = tmp_path / "r.json"
    assert main(["run", "--learner", "pop", *WINDOW, "--json", str(out_json),
                 "--no-cache"]) == 0
    printed = capsys.readouterr().out.splitlines()
    result = json.loads(out_json.read_text())
    assert result["learner"] == "pop" and result["protocol"] == "starts"
    assert result["availability"] == "span" and result["window"] == [5000, 5300]
    assert result["objective"] is None
    metrics = result["metrics"]
    assert list(metrics) == ["all", "repeat", "new"]
    assert metrics["all"]["n"] == metrics["repeat"]["n"] + metrics["new"]["n"] == 2694
    header = printed[1].split()
    for line, split in zip(printed[2:5], ("all", "repeat", "new")):
        cells = dict(zip(header, line.split()))
        assert cells["split"] == split and int(cells["n"]) == metrics[split]["n"]
        for name in ("hr@1", "hr@10", "ndcg@10", "mrr"):
            assert float(cells[name]) == round(metrics[split][name], 4)
    for key in ("seconds", "events_per_second", "peak_rss_mb"):
        assert result[key] > 0


def test_next_protocol_reports_continuing_fresh_and_the_objective(tmp_path):
    out_json = tmp_path / "r.json"
    assert main(["run", "--protocol", "next", "--days", "35-35", "--json", str(out_json),
                 "--quiet", "--no-cache"]) == 0
    result = json.loads(out_json.read_text())
    assert set(result["metrics"]) == {"all", "continuing", "fresh"}
    assert result["window"] == [35 * 144, 36 * 144]
    assert 0 < result["objective"] < 1


def test_users_sample_evaluates_a_seeded_subset(tmp_path):
    def n_events(seed):
        out = tmp_path / f"{seed}.json"
        main(["run", *WINDOW, "--users-sample", "0.3", "--seed", str(seed), "--quiet",
              "--json", str(out), "--no-cache"])
        return json.loads(out.read_text())["metrics"]["all"]["n"]

    full = tmp_path / "full.json"
    main(["run", *WINDOW, "--quiet", "--json", str(full), "--no-cache"])
    total = json.loads(full.read_text())["metrics"]["all"]["n"]
    assert n_events(1) == n_events(1)
    assert 0.1 * total < n_events(1) < 0.5 * total
    assert n_events(1) != n_events(2)


def test_learners_lists_every_builtin_name_first_in_order(capsys):
    assert main(["learners"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names[:len(BUILTIN)] == list(BUILTIN)


def test_a_custom_learner_from_an_import_path_runs_against_the_contract(tmp_path, monkeypatch):
    """A learner written against livereplay.contract, loaded as module:Class, scoring like
    ``pop``, gives exactly pop's metrics."""
    (tmp_path / "my_policy.py").write_text(
        "from livereplay.contract import Learner, known\n"
        "class RowsSoFar(Learner):\n"
        "    def observe(self, step):\n"
        "        self.rows_ = step.history.streamer_rows().copy()\n"
        "    def score(self, users, candidates, t):\n"
        "        return known(self.rows_, candidates)[None, :]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for learner in ("my_policy:RowsSoFar", "pop"):
        assert main(["run", "--learner", learner, *WINDOW, "--no-cache", "--quiet",
                     "--json", str(tmp_path / f"{learner[:3]}.json")]) == 0
    custom, pop = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("my_", "pop"))
    assert custom["learner"] == "my_policy:RowsSoFar"
    assert custom["metrics"] == pop["metrics"] and custom["metrics"]["all"]["n"] == 2694


@pytest.mark.parametrize("argv,message", [
    (["run", "--learner", "nope"], "unknown learner 'nope'"),
    (["run", "--window", "7000:8000"], "window [7000, 6148) is empty"),
    (["run", "--window", "ab"], "cannot read --window 'ab'"),
    (["run", "--users-sample", "2"], "--users-sample must be in (0, 1]"),
    (["run", "--param", "oops"], "--param 'oops': expected NAME=VALUE"),
    (["run", "--learner", "pop", "--param", "bogus=1"], "cannot build learner 'pop'"),
    (["stats", "--data", "missing.csv"], "missing.csv: no such file"),
    (["run", "--protocol", "next", "--availability", "others"],
     "availability 'others' applies to the starts protocol only"),
    (["run", "--period", "validation"], "period 'validation' applies to the holdout protocol only"),
    (["run", "--protocol", "holdout", "--days", "3-4"], "the holdout protocol has fixed periods"),
])
def test_bad_arguments_are_one_line_errors_with_status_2(capsys, argv, message):
    assert main(argv + ["--no-cache"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_bad_file_exits_2_without_traceback_and_without_tensorflow(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,1,a,0,2\n1,2,b,3,x\n")
    script = ("import sys; from livereplay.app.cli import main; code = main(sys.argv[1:]); "
              "assert 'tensorflow' not in sys.modules; sys.exit(code)")
    bad_run = subprocess.run([sys.executable, "-c", script, "stats", "--data", str(bad)],
                             capture_output=True, text=True)
    assert bad_run.returncode == 2
    assert bad_run.stderr.strip() == f"livereplay: error: {bad}: line 2: non-integer time: stop 'x'"
    good_run = subprocess.run([sys.executable, "-c", script, "stats", "--no-cache"],
                              capture_output=True, text=True)
    assert good_run.returncode == 0, good_run.stderr
