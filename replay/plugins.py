"""Finding a plug-in class by name: a built-in name, an entry point, or ``module:Class``.

Learners (:mod:`livereplay.learners.registry`) and protocols (:mod:`livereplay.protocols`)
are both named this way. Built-in ones are listed by import path, so naming one imports
only its module (TensorFlow is loaded only when a TensorFlow learner is named).

>>> find("fractions:Fraction", {}, group="none", kind="class").__name__
'Fraction'
"""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any, Mapping

from .errors import ReplayError


def load(path: str, error: type[ReplayError] = ReplayError) -> Any:
    """The object at ``module:attribute``; a missing module or attribute is ``error``."""
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exception:
        raise error(f"cannot import module {module_name!r}: {exception}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise error(f"module {module_name!r} has no {attribute!r}") from None


def find(spec: str, builtin: Mapping[str, str], *, group: str, kind: str,
         error: type[ReplayError] = ReplayError) -> Any:
    """What ``spec`` names: a key of ``builtin`` (name -> ``module:attribute``), an entry
    point of ``group``, or a ``module:attribute`` path; else ``error`` listing the names."""
    if spec in builtin:
        return load(builtin[spec], error)
    for entry in entry_points(group=group, name=spec):
        return entry.load()
    if ":" in spec:
        return load(spec, error)
    known = [*builtin, *(entry.name for entry in entry_points(group=group))]
    raise error(f"unknown {kind} {spec!r}; known: {', '.join(known)} (or give module:Class)")


def names(builtin: Mapping[str, str], *, group: str) -> dict[str, str]:
    """Name -> where it comes from, for the built-in names and the entry points of ``group``."""
    found = dict(builtin)
    for entry in entry_points(group=group):
        found.setdefault(entry.name, entry.value)
    return found
