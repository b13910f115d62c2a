"""livereplay compare: the table, CSV, JSON and plots, sequential or in parallel."""
import csv
import json

from livereplay.cli import main

ARGS = ["--learners", "pop,repeat", "--window", "5000:5200", "--no-cache", "--quiet"]


def test_compare_writes_table_csv_json_and_plots(tmp_path):
    out = tmp_path / "out"
    assert main(["compare", *ARGS, "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [(r["learner"], r["split"]) for r in rows] == [
        (learner, split) for learner in ("pop", "repeat") for split in ("all", "repeat", "new")]
    table = (out / "results.md").read_text()
    assert table.count("\n| pop |") == 3 and "hr@10" in table
    saved = json.loads((out / "results.json").read_text())
    provenance = saved["provenance"]
    assert provenance["data"]["file"] == "twitch_sample_a.csv"
    assert len(provenance["data"]["blake2b"]) == 32 and provenance["seed"] == 0
    assert "numpy" in provenance["packages"] and provenance["machine"]["cpus"] >= 1
    assert [r["learner"] for r in saved["results"]] == ["pop", "repeat"]
    for plot in ("hit_rate_per_day.png", "metrics_by_split.png", "events_per_second.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_parallel_jobs_give_the_same_metrics(tmp_path):
    main(["compare", *ARGS, "--out", str(tmp_path / "one")])
    main(["compare", *ARGS, "--out", str(tmp_path / "two"), "--jobs", "2"])
    metrics = [[r["metrics"] for r in json.loads((tmp_path / d / "results.json").read_text())
                ["results"]] for d in ("one", "two")]
    assert metrics[0] == metrics[1]


def test_compare_runs_the_holdout_protocol(tmp_path, capsys):
    out = tmp_path / "h"
    assert main(["compare", "--learners", "pop,repeat", "--protocol", "holdout", "--no-cache",
                 "--out", str(out)]) == 0
    assert "| repeat | all | 809 |" in capsys.readouterr().out
