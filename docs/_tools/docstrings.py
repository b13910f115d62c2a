"""A griffe extension (``extensions:`` of mkdocstrings' python handler in mkdocs.yml) that
reads livereplay's docstrings as Markdown: doctest examples become fenced code blocks,
Sphinx roles (``:class:`~livereplay.results.Result```) become code spans, and a ``<`` in
prose (``<p_u, q_s>``) stays text rather than starting an HTML tag."""
from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def _fence_doctests(text: str) -> str:
    """Each run of ``>>>`` lines, with their continuations and output, in a ``pycon`` fence."""
    lines, out, inside, indent = text.splitlines(), [], False, ""
    for line in lines:
        stripped = line.lstrip()
        if not inside and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            if out and out[-1].strip():
                out.append("")
            out.append(f"{indent}```pycon")
            inside = True
        elif inside and not stripped:
            out.append(f"{indent}```")
            inside = False
        out.append(line)
    if inside:
        out.append(f"{indent}```")
    return "\n".join(out)


CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")


def _escape_angles(text: str) -> str:
    """``<`` outside fenced blocks and code spans as ``&lt;``."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            parts, last = [], 0
            for span in CODE.finditer(line):
                parts += [line[last:span.start()].replace("<", "&lt;"), span.group(0)]
                last = span.end()
            line = "".join(parts) + line[last:].replace("<", "&lt;")
        out.append(line)
    return "\n".join(out)


def markdown(text: str) -> str:
    """A docstring written for Sphinx and doctest, as Markdown."""
    return _escape_angles(ROLE.sub(_role, _fence_doctests(text)))


class MarkdownDocstrings(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
