"""Learners' hyper-parameters: every built-in learner's are keyword arguments of its
constructor with defaults, documented in its class's docstring; ``get_params()`` gives them
back and ``clone()`` builds a new, unfitted learner with copies of them that replays to the
same ranks; a learner of one's own that breaks the convention is a clear error."""
from __future__ import annotations

import copy
import inspect

import griffe
import numpy as np
import pytest

from livereplay.contract import Learner
from livereplay.engine import replay
from livereplay.errors import LearnerError
from livereplay.learners.registry import BUILTIN, learner_class, make_learner

NAMES = list(BUILTIN)
# a value other than the default for some parameters of each learner that has any (small
# models, so that replaying the TensorFlow ones is cheap)
CHANGED = {
    "recent-pop": dict(half_life=12.0),
    "mf": dict(dim=8),
    "fpmc": dict(dim=8, previous=2),
    "lstm": dict(dim=8, length=4),
    "liverec": dict(dim=8, length=4, count_buckets=0),
    "blend": dict(model_params=dict(dim=8, length=4), max_rows=16),
}


def documented(cls: type) -> set[str]:
    """The names in the ``Parameters`` section of the class's docstring, read by the numpydoc
    parser that renders the documentation site."""
    sections = griffe.Docstring(inspect.cleandoc(cls.__doc__ or ""), parser="numpy").parse(
        warnings=False)
    return {parameter.name for section in sections
            if section.kind is griffe.DocstringSectionKind.parameters
            for parameter in section.value}


@pytest.mark.parametrize("name", NAMES)
def test_get_params_gives_every_parameter_of_the_signature(name: str) -> None:
    parameters = inspect.signature(learner_class(name)).parameters.values()
    assert all(p.kind is p.KEYWORD_ONLY and p.default is not p.empty for p in parameters)
    defaults = {p.name: p.default for p in parameters}
    assert "seed" in defaults
    assert make_learner(name, seed=7).get_params() == {**defaults, "seed": 7}
    changed = CHANGED.get(name, {})
    assert make_learner(name, seed=7, **changed).get_params() == {**defaults, **changed, "seed": 7}


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_is_documented(name: str) -> None:
    cls = learner_class(name)
    assert documented(cls) == set(inspect.signature(cls).parameters)


@pytest.mark.parametrize("name", NAMES)
def test_a_replayed_learner_clones_to_an_unfitted_one(name: str, sample_log) -> None:
    learner = make_learner(name, seed=5, **CHANGED.get(name, {}))
    replay(sample_log, learner, window=(0, 40))
    assert any(attribute.endswith("_") for attribute in vars(learner))
    clone = learner.clone()
    assert type(clone) is type(learner) and clone is not learner
    assert clone.get_params() == learner.get_params()
    assert [attribute for attribute in vars(clone) if attribute.endswith("_")] == []
    assert repr(clone) == repr(learner)


@pytest.mark.parametrize("name", NAMES)
def test_changing_a_clone_leaves_its_original_alone(name: str) -> None:
    """Parameters held in a mutable value (``blend``'s ``model_params``) are copied too."""
    learner = make_learner(name, seed=5, **CHANGED.get(name, {}))
    before = copy.deepcopy(learner.get_params())
    clone = learner.clone()
    for parameter, value in clone.get_params().items():
        if isinstance(value, dict):
            value["changed"] = True
        else:
            setattr(clone, parameter, "changed")
    assert learner.get_params() == before


@pytest.mark.parametrize("name", NAMES)
def test_an_unknown_parameter_is_an_error(name: str) -> None:
    with pytest.raises(TypeError, match="no_such_parameter"):
        learner_class(name)(no_such_parameter=1)
    with pytest.raises(LearnerError, match=f"cannot build learner '{name}': .*no_such_parameter"):
        make_learner(name, no_such_parameter=1)


@pytest.mark.parametrize("name", ["random", "pop", "recent-pop", "repeat-recent", "mf"])
def test_a_clone_replays_to_the_same_ranks(name: str, sample_log) -> None:
    learner = make_learner(name, seed=3, **CHANGED.get(name, {}))
    first = replay(sample_log, learner, window=(100, 400))
    again = replay(sample_log, learner.clone(), window=(100, 400))
    assert len(first.ranks) > 1000
    np.testing.assert_array_equal(again.ranks, first.ranks)
    np.testing.assert_array_equal(again.users, first.users)


class Constant(Learner):
    """No constructor of its own: it takes just a seed."""

    def score(self, users: np.ndarray, candidates: np.ndarray, t: int) -> np.ndarray:
        return np.zeros((1, len(candidates)))


def test_a_learner_without_a_constructor_takes_just_a_seed() -> None:
    learner = Constant(seed=4)
    assert learner.get_params() == {"seed": 4} and repr(learner) == "Constant(seed=4)"
    assert learner.clone().get_params() == {"seed": 4}
    with pytest.raises(TypeError):
        Constant(window=3)


def test_a_learner_that_does_not_score_cannot_be_built() -> None:
    class Mute(Learner):
        def observe(self, step) -> None:
            pass

    with pytest.raises(TypeError, match="score"):
        Mute()


class Unstored(Constant):
    def __init__(self, *, window: int = 6, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.steps = window


class Converted(Constant):
    def __init__(self, *, days: float = 1.0, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.days = days * 144  # steps, under the name of days: a clone would get 144 days


class Unnamed(Constant):
    def __init__(self, *, seed: int = 0, **options: float) -> None:
        super().__init__(seed=seed)
        self.options = options


@pytest.mark.parametrize("learner,method,message", [
    (Unstored(), "get_params", "Unstored takes the parameter 'window' but does not store it"),
    (Unstored(), "__repr__", "'window'"),
    (Converted(), "clone", "Converted does not store its parameter 'days' unchanged"),
    (Unnamed(), "get_params", r"Unnamed.__init__ takes \*\*options"),
])
def test_a_learner_that_breaks_the_convention_is_a_clear_error(learner: Learner, method: str,
                                                               message: str) -> None:
    with pytest.raises(TypeError, match=message):
        getattr(learner, method)()
