"""One installed namespace, layers that point one way (import-linter), and a command line that
starts fast."""
import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import livereplay

PACKAGE = Path(livereplay.__file__).parent
ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"livereplay": "replay", "livereplay/learners": "learners", "livereplay/sim": "sim"}
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def installed_layout(destination: Path) -> Path:
    """The repository's sources laid out as installed (one ``livereplay`` folder), so that the
    linter sees the same packages whether the project is installed in place or not."""
    for target, folder in FOLDERS.items():
        shutil.copytree(ROOT / folder, destination / target,
                        ignore=shutil.ignore_patterns("__pycache__", "sample"))
    return destination


def lint_imports(sources: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts of pyproject.toml, checked on ``sources``."""
    return subprocess.run([sys.executable, "-c", LINT, "pyproject.toml", "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(sources)})


def test_the_layers_contract_holds(tmp_path):
    run = lint_imports(installed_layout(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 kept, 0 broken" in run.stdout


@pytest.mark.parametrize("module,forbidden", [
    ("sim/closed_loop.py", "livereplay.app.executors"),   # the simulator on the application
    ("learners/mf.py", "livereplay.sim.world"),           # learners on the simulator
    ("sim/world.py", "livereplay.learners.baselines"),    # the simulator on learners
    ("engine.py", "livereplay.learners.registry"),        # the core on learners
])
def test_a_forbidden_import_breaks_the_contract(tmp_path, module, forbidden):
    sources = installed_layout(tmp_path)
    with open(sources / "livereplay" / module, "a") as file:
        file.write(f"\nimport {forbidden}\n")
    run = lint_imports(sources)
    assert run.returncode == 1 and "0 kept, 1 broken" in run.stdout, run.stdout + run.stderr
    assert f"-> {forbidden}" in run.stdout


def module_imports(path: Path, package: str) -> set[str]:
    """Absolute names of the modules a source file imports at module level."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def core_modules() -> dict[str, Path]:
    return {f"livereplay.{p.stem}": p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def test_the_core_has_no_import_cycles():
    modules = core_modules()
    graph = {name: {m for m in module_imports(path, "livereplay") if m in modules and m != name}
             for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(name, trail):
        assert state.get(name) != 1, f"import cycle: {' -> '.join(trail + [name])}"
        if state.get(name) == 2:
            return
        state[name] = 1
        for child in sorted(graph[name]):
            visit(child, trail + [name])
        state[name] = 2

    for name in sorted(graph):
        visit(name, [])
    assert graph["livereplay.contract"] <= {"livereplay.arrays", "livereplay.history"}


@pytest.mark.parametrize("name", ["replay", "learners", "sim"])
def test_the_folders_are_not_installed_as_top_level_packages(tmp_path, name):
    run = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 1 and f"No module named '{name}'" in run.stderr


def test_help_and_stats_load_neither_tensorflow_simpy_nor_matplotlib(tmp_path):
    script = ("import sys; from livereplay.app.cli import main; main(sys.argv[1:]); "
              "heavy = {'tensorflow', 'simpy', 'matplotlib'} & set(sys.modules); "
              "assert not heavy, heavy")
    for argv in (["--help"], ["stats", "--no-cache", "--quiet"]):
        run = subprocess.run([sys.executable, "-c", script, *argv], cwd=tmp_path,
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
