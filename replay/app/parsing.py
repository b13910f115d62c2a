"""The command line's small languages, each read in one place: parameter values
(``--param NAME=VALUE``, search spaces) and days (``--days D1-D2``, ``days:D1-D2``).

>>> parse_value("72"), parse_value("0.1"), parse_value("log")
(72, 0.1, 'log')
>>> parse_days("32-42"), parse_days("7")
((32, 42), (7, 7))
"""
from __future__ import annotations

import ast
from typing import Any, Sequence

from ..errors import ReplayError


def parse_value(text: str) -> Any:
    """A Python literal (number, string in quotes, tuple, bool, None), or the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs, each value read by :func:`parse_value`.

    >>> parse_params(["half_life=72", "name=x"])
    {'half_life': 72, 'name': 'x'}
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ReplayError(f"--param {pair!r}: expected NAME=VALUE")
        params[key] = parse_value(value)
    return params


def parse_days(text: str, option: str = "--days") -> tuple[int, int]:
    """``D1-D2`` (inclusive, D1 <= D2) or a single day ``D``; ``option`` names it in errors."""
    first, dash, last = text.partition("-")
    last = last if dash else first
    if not (first.isdigit() and last.isdigit() and int(first) <= int(last)):
        raise ReplayError(f"cannot read {option} {text!r} (expected D1-D2 with D1 <= D2)")
    return int(first), int(last)
