"""MkDocs hooks of the documentation site (``hooks:`` in mkdocs.yml).

mkdocstrings reads livereplay's sources with griffe, which finds a package by walking the
folders of ``sys.path``. Two things can hide the installed layout from it, and this hook
removes both before any page is rendered:

- run as the ``mkdocs`` script, the scripts folder is first on ``sys.path``, and the
  ``livereplay`` command there looks like a module named ``livereplay``;
- in an editable install the folders ``replay/``, ``learners/`` and ``sim/`` stand for
  ``livereplay``, ``livereplay.learners`` and ``livereplay.sim``, which griffe does not
  join into one package: a temporary folder of links lays them out as installed.
"""
from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

_made: list[Path] = []


def on_startup(command: str, dirty: bool) -> None:
    scripts = os.path.realpath(sysconfig.get_path("scripts"))
    sys.path[:] = [p for p in sys.path if not p or os.path.realpath(p) != scripts]

    import livereplay
    import livereplay.learners
    import livereplay.sim

    root = Path(livereplay.__file__).parent
    parts = {"learners": Path(livereplay.learners.__file__).parent,
             "sim": Path(livereplay.sim.__file__).parent}
    if all(folder == root / name for name, folder in parts.items()):
        return  # installed as one package: griffe finds it as it is
    top = Path(tempfile.mkdtemp(prefix="livereplay-docs-"))
    _made.append(top)
    package = top / "livereplay"
    package.mkdir()
    for entry in root.iterdir():
        if entry.name not in parts and entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in parts.items():
        (package / name).symlink_to(folder)
    sys.path.insert(0, str(top))


def on_shutdown() -> None:
    while _made:
        shutil.rmtree(_made.pop(), ignore_errors=True)
