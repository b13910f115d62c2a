"""One installed namespace, layers that point one way, and a command line that starts fast."""
import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import livereplay

PACKAGE = Path(livereplay.__file__).parent
APPLICATION = {"cli", "runner", "compare", "executors", "tune"}  # wire engine, learners, sim


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


def test_core_modules_never_import_learners_or_the_simulator():
    for name, path in core_modules().items():
        if name.split(".")[-1] in APPLICATION:
            continue
        source = path.read_text()
        assert "livereplay.learners" not in source and "livereplay.sim" not in source, name


@pytest.mark.parametrize("package,forbidden", [("learners", "livereplay.sim"),
                                               ("sim", "livereplay.learners")])
def test_learners_and_the_simulator_do_not_import_each_other(package, forbidden):
    folder = Path(importlib.import_module(f"livereplay.{package}").__file__).parent
    for path in folder.glob("*.py"):
        assert forbidden not in path.read_text(), path.name


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
    script = ("import sys; from livereplay.cli import main; main(sys.argv[1:]); "
              "heavy = {'tensorflow', 'simpy', 'matplotlib'} & set(sys.modules); "
              "assert not heavy, heavy")
    for argv in (["--help"], ["stats", "--no-cache", "--quiet"]):
        run = subprocess.run([sys.executable, "-c", script, *argv], cwd=tmp_path,
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
