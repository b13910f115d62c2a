"""livereplay compare: the table, CSV, JSON and plots, sequential or in parallel; coverage,
intervals and paired tests against a baseline."""
import csv
import json

import pytest

from livereplay.app.cli import main

ARGS = ["--learners", "pop,repeat", "--window", "5000:5200", "--availability", "log", "--no-cache",
        "--quiet"]


def test_compare_writes_table_csv_json_and_plots(tmp_path):
    out = tmp_path / "out"
    assert main(["compare", *ARGS, "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [(r["learner"], r["split"]) for r in rows] == [
        (learner, split) for learner in ("pop", "repeat") for split in ("all", "repeat", "new")]
    table = (out / "results.md").read_text()
    assert table.count("\n| pop |") == 3 and "hr@10" in table
    assert table.startswith("`starts`, candidates `log` (coverage:")
    saved = json.loads((out / "results.json").read_text())
    provenance = saved["provenance"]
    assert provenance["data"]["file"] == "twitch_sample_a.csv"
    assert len(provenance["data"]["blake2b"]) == 32 and provenance["seed"] == 0
    assert "numpy" in provenance["packages"] and provenance["machine"]["cpus"] >= 1
    assert [r["learner"] for r in saved["results"]] == ["pop", "repeat"]
    for plot in ("hit_rate_per_day.png", "metrics_by_split.png", "events_per_second.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_parallel_jobs_give_the_same_metrics_and_plots(tmp_path):
    main(["compare", *ARGS, "--out", str(tmp_path / "one"), "--jobs", "1"])
    main(["compare", *ARGS, "--out", str(tmp_path / "two"), "--jobs", "2"])  # drawn aside
    metrics = [[r["metrics"] for r in json.loads((tmp_path / d / "results.json").read_text())
                ["results"]] for d in ("one", "two")]
    assert metrics[0] == metrics[1]
    for plot in ("hit_rate_per_day.png", "metrics_by_split.png"):  # not the speeds'
        assert (tmp_path / "one" / plot).read_bytes() == (tmp_path / "two" / plot).read_bytes()


def test_compare_runs_the_holdout_protocol(tmp_path, capsys):
    out = tmp_path / "h"
    assert main(["compare", "--learners", "pop,repeat", "--protocol", "holdout", "--no-cache",
                 "--out", str(out)]) == 0
    assert "| repeat | all | 809 |" in capsys.readouterr().out


def test_compare_reports_coverage_intervals_and_paired_tests(tmp_path):
    out = tmp_path / "ci"
    assert main(["compare", "--learners", "repeat,pop,random", *ARGS[2:], "--out", str(out),
                 "--bootstrap", "200", "--test-metric", "mrr"]) == 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["provenance"]["bootstrap"] == 200
    for result in saved["results"]:
        for split, metrics in result["metrics"].items():
            assert metrics["coverage"] == 1.0  # log candidates: every target is live
            assert set(metrics["ci"]) == {"hr@1", "hr@5", "hr@10", "ndcg@1", "ndcg@5",
                                          "ndcg@10", "mrr", "coverage"}
            for name, (low, high) in metrics["ci"].items():
                assert low <= metrics[name] <= high
    paired = saved["paired"]
    assert paired["baseline"] == "repeat"
    tests = {(t["learner"], t["split"], t["metric"]): t for t in paired["metric_tests"]}
    assert len(tests) == len(paired["metric_tests"]) == 2 * 3 * 7
    pop = tests["pop", "all", "mrr"]
    assert set(pop) == {"learner", "split", "metric", "difference", "ci", "p_value",
                        "significant"}
    assert pop["ci"][0] <= pop["difference"] <= pop["ci"][1] < 0 and pop["significant"]

    rows = {(r["learner"], r["split"]): r for r in csv.DictReader(open(out / "results.csv"))}
    header = list(next(iter(rows.values())))
    assert header[:15] == ["learner", "protocol", "availability", "split", "n", "hr@1", "hr@5",
                           "hr@10", "ndcg@1", "ndcg@5", "ndcg@10", "mrr", "events_per_second",
                           "seconds", "peak_rss_mb"]
    assert {"coverage", "hr@1_low", "mrr_high", "coverage_low", "difference", "difference_low",
            "difference_high", "p_value", "significant"} <= set(header)
    assert rows["repeat", "all"]["difference"] == rows["repeat", "all"]["p_value"] == ""
    row = rows["pop", "all"]
    assert float(row["difference"]) == pytest.approx(pop["difference"])
    assert float(row["mrr_low"]) < float(row["mrr"]) < float(row["mrr_high"])
    assert row["significant"] == "True" and float(row["p_value"]) == pop["p_value"]

    table = (out / "results.md").read_text()
    assert "| coverage |" in table and "| Δmrr vs repeat |" in table
    assert f"| {pop['difference']:+.4f}* |" in table
    assert "* its 95% paired bootstrap interval excludes 0" in table


def test_compare_without_baseline_or_bootstrap(tmp_path, capsys):
    out = tmp_path / "plain"
    assert main(["compare", "--learners", "pop,random", *ARGS[2:-1], "--out", str(out),
                 "--bootstrap", "0"]) == 0
    captured = capsys.readouterr()
    assert "no paired tests: the baseline 'repeat' is not among the learners" in captured.err
    saved = json.loads((out / "results.json").read_text())
    assert saved["paired"] is None and "ci" not in saved["results"][0]["metrics"]["all"]
    row = next(csv.DictReader(open(out / "results.csv")))
    assert row["coverage"] == "1.0" and row["hr@10_low"] == row["difference"] == ""
    assert "±" not in captured.out and "vs repeat" not in captured.out
    assert main(["compare", "--learners", "pop,repeat", *ARGS[2:], "--out", str(out),
                 "--baseline", "none"]) == 0
    assert json.loads((out / "results.json").read_text())["paired"] is None
    assert main(["compare", *ARGS, "--out", str(out), "--test-metric", "auc"]) == 2
