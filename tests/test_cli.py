"""The livereplay command line, as a user runs it."""
import json
import subprocess
import sys

import pytest

from replay.cli import main

WINDOW = ["--window", "5000:5300"]


def test_stats_prints_the_seed_notebook_figures(capsys, tmp_path):
    assert main(["stats", "--quiet", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Num time periods:" in out and "6148" in out
    assert "Num interactions:" in out and "52141" in out
    assert "Estimated watch time (hrs):" in out
    assert "Available per step (mean):" in out and "Repeat share of rows:" in out


def test_run_writes_the_json_result_and_prints_a_table(capsys, tmp_path):
    out_json = tmp_path / "r.json"
    assert main(["run", "--learner", "pop", *WINDOW, "--json", str(out_json),
                 "--no-cache"]) == 0
    printed = capsys.readouterr().out
    assert "hr@10" in printed and "repeat" in printed and "new" in printed
    result = json.loads(out_json.read_text())
    assert result["learner"] == "pop" and result["protocol"] == "starts"
    assert result["availability"] == "log" and result["window"] == [5000, 5300]
    assert set(result["metrics"]) == {"all", "repeat", "new"}
    assert set(result["metrics"]["all"]) == {"n", "hr@1", "hr@5", "hr@10", "ndcg@1", "ndcg@5",
                                             "ndcg@10", "mrr"}
    assert result["objective"] is None
    assert result["metrics"]["all"]["n"] == (result["metrics"]["repeat"]["n"]
                                            + result["metrics"]["new"]["n"])
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


def test_learners_lists_names_first(capsys):
    assert main(["learners"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert {"random", "pop", "repeat", "recent-pop"} <= set(names)


def test_custom_learner_from_an_import_path(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_policy.py").write_text(
        "import numpy as np\n"
        "from learners.base import Learner, known\n"
        "class Newest(Learner):\n"
        "    def score(self, users, candidates):\n"
        "        return candidates[None, :].astype(float)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["run", "--learner", "my_policy:Newest", *WINDOW, "--no-cache"]) == 0
    assert "my_policy:Newest" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["run", "--learner", "nope"], "unknown learner 'nope'"),
    (["run", "--window", "7000:8000"], "window [7000, 6148) is empty"),
    (["run", "--window", "ab"], "cannot read --window 'ab'"),
    (["run", "--users-sample", "2"], "--users-sample must be in (0, 1]"),
    (["run", "--param", "oops"], "--param 'oops': expected NAME=VALUE"),
    (["run", "--learner", "pop", "--param", "bogus=1"], "cannot build learner 'pop'"),
    (["stats", "--data", "missing.csv"], "missing.csv: no such file"),
])
def test_bad_arguments_are_one_line_errors_with_status_2(capsys, argv, message):
    assert main(argv + ["--no-cache"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_bad_file_exits_2_without_traceback_and_without_tensorflow(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,1,a,0,2\n1,2,b,3,x\n")
    script = ("import sys; from replay.cli import main; code = main(sys.argv[1:]); "
              "assert 'tensorflow' not in sys.modules; sys.exit(code)")
    bad_run = subprocess.run([sys.executable, "-c", script, "stats", "--data", str(bad)],
                             capture_output=True, text=True)
    assert bad_run.returncode == 2
    assert bad_run.stderr.strip() == f"livereplay: error: {bad}: line 2: non-integer time: stop 'x'"
    good_run = subprocess.run([sys.executable, "-c", script, "stats", "--no-cache"],
                              capture_output=True, text=True)
    assert good_run.returncode == 0, good_run.stderr
