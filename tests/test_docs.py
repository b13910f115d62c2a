"""The documentation builds, and every example in it runs.

Code blocks in README.md and docs/**/*.md follow one convention (docs/getting-started.md
states it too, in a comment at the top of its source):

- ```bash blocks run with bash (``set -e``), page by page, each page in a fresh temporary
  folder, in the order of the page;
- ```python blocks run in the order of the page, in one namespace per page, in the same
  folder; a python block whose first line is a comment naming a file (``# my_learners.py``)
  is also saved under that name before it runs, so that later blocks can name its classes
  as ``module:Class`` (the folder is on ``sys.path``, as for a ``python`` started there);
- ```shell blocks are shown and never run: they install packages, need a file the user
  downloads (100k_a.csv, the full release), or take minutes;
- ```toml, ```json and ```text blocks are shown, never run.

Every example must be cheap (seconds, on the embedded sample): the examples of every page
together run in about a minute on two cores.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RUN = {"bash", "python"}
SHOWN = {"shell", "toml", "json", "text"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<lang>[^`\s]*)[^`]*$")


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # where the block's code starts in its page (1-based)


def pages() -> list[Path]:
    """README.md and every page of the site."""
    return [ROOT / "README.md", *sorted(p for p in DOCS.rglob("*.md")
                                        if "_tools" not in p.relative_to(DOCS).parts)]


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    found, lines, i = [], page.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            j += 1
        assert j < len(lines), f"{page.name}:{i + 1}: a code block is never closed"
        code = "\n".join(line[len(indent):] if line.startswith(indent) else line
                         for line in lines[i + 1:j])
        found.append(Block(opening["lang"].lower(), textwrap.dedent(code) + "\n", i + 2))
        i = j + 1
    return found


def name(page: Path) -> str:
    return str(page.relative_to(ROOT))


RUNNABLE = [page for page in pages() if any(b.lang in RUN for b in blocks(page))]

# Runs in a fresh process per page, in the page's folder: python blocks in one namespace,
# bash blocks with bash -e; the first failure is reported with its page and line and exits 1.
DRIVER = r"""
import json, os, re, subprocess, sys, traceback
page, found = sys.argv[1], json.load(open(sys.argv[2]))
sys.path.insert(0, os.getcwd())
namespace = {"__name__": "__main__"}
for block in found:
    where = f"{page}:{block['line']}"
    print(f"--- {where} ({block['lang']})", flush=True)
    if block["lang"] == "bash":
        done = subprocess.run(["bash", "-e", "-c", block["code"]])
        if done.returncode:
            print(f"{where}: the bash block exited with status {done.returncode}", flush=True)
            sys.exit(1)
        continue
    first = block["code"].splitlines()[0] if block["code"].strip() else ""
    saved = re.match(r"^#\s*([\w./-]+\.py)\s*$", first)
    if saved:
        with open(saved.group(1), "w") as file:
            file.write(block["code"])
    try:
        exec(compile(block["code"], where, "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        print(f"{where}: the python block failed", flush=True)
        sys.exit(1)
    sys.stdout.flush()
"""


def environment(folder: Path) -> dict[str, str]:
    """This interpreter as ``python``, its scripts (``livereplay``) on the PATH, and a cache
    of parsed logs shared by the pages (so the embedded sample is parsed once)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python"  # a script, not a link: a virtual environment stays active
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    path = [str(bin_dir), str(Path(sys.executable).parent), sysconfig.get_path("scripts"),
            os.environ.get("PATH", "")]
    return {**os.environ, "PATH": os.pathsep.join(path),
            "LIVEREPLAY_CACHE": str(folder / "cache"), "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1"}


def run_page(page: Path, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The page's bash and python blocks, in order, in ``folder`` (see ``DRIVER``)."""
    folder.mkdir()
    listing = folder.parent / f"{folder.name}-blocks.json"
    listing.write_text(json.dumps([asdict(b) for b in blocks(page) if b.lang in RUN]))
    return subprocess.run([sys.executable, "-c", DRIVER, name(page), str(listing)],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def page_runs(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess]:
    """Every selected page's examples, run two pages at a time (each page runs alone in its
    own process and folder; the two cores of a small machine both work)."""
    selected = [item.callspec.params["page"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_examples_run"]
    top = tmp_path_factory.mktemp("examples")
    env = environment(top)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {name(page): pool.submit(run_page, page, top / f"page{i}", env)
                for i, page in enumerate(selected)}
        return {page: run.result() for page, run in runs.items()}


def test_pages_are_found_and_parsed():
    found = {name(page) for page in pages()}
    assert {"README.md", "docs/index.md", "docs/getting-started.md",
            "docs/extending/learner.md", "docs/extending/protocol.md"} <= found
    assert not (DOCS / "design.md").exists(), "the contracts are pages of the site, not a file"
    readme = blocks(ROOT / "README.md")
    assert {"bash", "python", "shell"} <= {b.lang for b in readme}


@pytest.mark.parametrize("page", pages(), ids=name)
def test_every_block_names_its_language(page):
    unknown = [f"{name(page)}:{b.line}: ```{b.lang}" for b in blocks(page)
               if b.lang not in RUN | SHOWN]
    assert not unknown, ("a block that is neither run (bash, python) nor shown (shell, toml, "
                         f"json, text): {unknown}")


def test_the_readme_keeps_its_quick_start():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    shown = "".join(b.code for b in blocks(ROOT / "README.md") if b.lang == "shell")
    assert "pip install . && livereplay compare\n" in shown
    assert 'pip install ".[test]" && python -m pytest\n' in shown
    assert "docs/assets/sample_span.png" in readme
    assert re.search(r"<!-- table: span -->\n(.*\n)*?<!-- end table -->", readme)


def test_the_results_page_has_every_generated_table():
    results = (DOCS / "results.md").read_text(encoding="utf-8")
    names = re.findall(r"<!-- table: (\w+) -->", results)
    assert names == ["span", "others", "log", "next", "holdout"]
    assert results.count("<!-- end table -->") == len(names)


@pytest.mark.parametrize("page", RUNNABLE, ids=name)
def test_examples_run(page, page_runs):
    done = page_runs[name(page)]
    assert done.returncode == 0, (done.stdout + done.stderr)[-8000:]


def test_mkdocs_build_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed: pip install '.[docs]' to build the site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "changelog" / "index.html").read_text().count("Unreleased")
