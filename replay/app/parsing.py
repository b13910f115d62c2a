"""The command line's small languages, each read in one place: parameter values
(``--param NAME=VALUE``, search spaces), days (``--days D1-D2``, ``days:D1-D2``) and the
ranges of numeric options (argparse ``type=`` functions, whose errors the command line
prints as ``--jobs must be an integer >= 1, not '0'``).

>>> parse_value("72"), parse_value("0.1"), parse_value("log")
(72, 0.1, 'log')
>>> parse_days("32-42"), parse_days("7")
((32, 42), (7, 7))
>>> integer_at_least(1)("4"), fraction("0.5"), positive_number("2.5")
(4, 0.5, 2.5)
"""
from __future__ import annotations

import argparse
import ast
import math
from typing import Any, Callable, Sequence

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


def integer_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer of at least ``minimum``."""
    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, not {text!r}")
        return value

    return read


def _number(text: str, accepted: Callable[[float], bool], expected: str) -> float:
    """``text`` as a float where ``accepted``, else the argparse error naming ``expected``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not accepted(value):
        raise argparse.ArgumentTypeError(f"must be {expected}, not {text!r}")
    return value


def fraction(text: str) -> float:
    """An argparse ``type``: a number in (0, 1]."""
    return _number(text, lambda value: 0 < value <= 1, "in (0, 1]")


def positive_number(text: str) -> float:
    """An argparse ``type``: a number above 0 (``inf`` included)."""
    return _number(text, lambda value: value > 0, "a number > 0")
