"""The examples in the docstrings of every installed module run and print what they say."""
import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ["livereplay", "livereplay.app", "livereplay.learners", "livereplay.sim"]
MODULES = sorted(info.name for package in PACKAGES
                 for info in pkgutil.iter_modules(importlib.import_module(package).__path__,
                                                  f"{package}.") if not info.ispkg)


def test_every_package_is_walked():
    assert {"livereplay.engine", "livereplay.app.cli", "livereplay.learners.mf",
            "livereplay.sim.world"} <= set(MODULES)
    assert "livereplay.learners" not in MODULES and len(MODULES) > 30


@pytest.mark.parametrize("name", [*PACKAGES, *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failures == 0
