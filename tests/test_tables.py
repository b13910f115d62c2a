"""The results tables on the embedded sample in README.md and docs/ are what
benchmarks/sample_tables.py computes now, to the byte."""
import importlib.util
import subprocess
import sys
from pathlib import Path

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
    assert "tables checked" in run.stdout and "(0 out of date)" in run.stdout


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
