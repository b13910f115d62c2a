"""The results tables on the embedded sample in README.md and docs/ are what
benchmarks/sample_tables.py computes now: to the byte, but for the TensorFlow learners'
figures, which must lie within their checked-in intervals."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def sample_tables():
    spec = importlib.util.spec_from_file_location("sample_tables",
                                                  ROOT / "benchmarks" / "sample_tables.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_tables_are_what_the_code_computes():
    run = subprocess.run([sys.executable, "benchmarks/sample_tables.py", "--check", "--jobs", "2"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "tables checked" in run.stdout and "(0 out of date;" in run.stdout


def test_only_a_tensorflow_learners_figures_may_move_and_only_within_their_intervals():
    module = sample_tables()
    assert set(module.TENSORFLOW) <= set(module.BUILTIN)
    checked = ("caption: 1,000 events\n\n| learner | hr@1 | hr@10 |\n|---|---:|---:|\n"
               "| `repeat` | 0.1500 ±0.0100 | 0.3000 ±0.0200 |\n"
               "| `liverec` | 0.1600 ±0.0100* | 0.3000 ±0.0200* |\n")
    assert module.disagreements(checked, checked) == ([], 0.0)
    within = checked.replace("0.1600 ±0.0100*", "0.1690 ±0.0110")
    assert module.disagreements(checked, within)[0] == []
    assert module.disagreements(checked, within)[1] == pytest.approx(0.9)
    for wrong in (checked.replace("0.1600 ±0.0100*", "0.1710 ±0.0100*"),  # outside its interval
                  checked.replace("0.1600 ±0.0100*", "0.1600 ±0.0130*"),  # half-width +30%
                  checked.replace("0.1500 ±0.0100", "0.1501 ±0.0100"),  # a NumPy learner
                  checked.replace("1,000 events", "1,001 events"),  # the caption
                  checked.replace("`liverec`", "`lstm`"),  # another learner's row
                  checked + "| `blend` | 0.1 ±0.0 | 0.2 ±0.0 |\n"):  # a row more
        assert len(module.disagreements(checked, wrong)[0]) == 1


def test_every_table_of_the_readme_and_the_results_page_is_generated():
    used = sample_tables().used_tables([ROOT / "README.md", ROOT / "docs" / "results.md"])
    assert used[ROOT / "README.md"] == ["span"]
    assert used[ROOT / "docs" / "results.md"] == ["span", "others", "log", "next", "holdout"]


def test_a_table_typed_by_hand_is_found_and_rewritten(tmp_path):
    module = sample_tables()
    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- table: span -->\n| a | 0.1 |\n<!-- end table -->\noutro\n")
    fresh = {"span": "| a | 0.2 |\n"}
    assert module.update([page], fresh, write=False) == [page]
    assert "0.1" in page.read_text()
    assert module.update([page], fresh, write=True) == [page]
    assert page.read_text() == "intro\n<!-- table: span -->\n| a | 0.2 |\n<!-- end table -->\noutro\n"
    assert module.update([page], fresh, write=False) == []
