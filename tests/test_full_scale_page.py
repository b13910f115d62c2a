"""The full-scale page of the docs is what the measurements kept in the repository give."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_full_scale_table_is_made_from_the_kept_measurements():
    kept = sorted((ROOT / "benchmarks" / "measured" / "full-scale").glob("*.json"))
    assert any(path.name.startswith("twitch-full") for path in kept)
    run = subprocess.run([sys.executable, "benchmarks/full_scale.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "is what the measurements kept give" in run.stdout
