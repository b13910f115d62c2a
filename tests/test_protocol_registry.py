"""Protocols by name: the built-in ones, ``module:Class`` from the command line, the options
each takes, and one-line errors for the rest."""
import json
import textwrap

import numpy as np
import pytest

from livereplay.app.cli import main
from livereplay.engine import replay
from livereplay.errors import ReplayError
from livereplay.learners.registry import make_learner
from livereplay.protocols import BUILTIN, Starts, available_protocols, make_protocol

HOURLY = textwrap.dedent('''
    from livereplay.protocols import Starts

    class HourlyStarts(Starts):
        """Session starts at the first step of each hour only."""

        name = "hourly-starts"

        def before_reveal(self, moment):
            return super().before_reveal(moment) if moment.t % 6 == 0 else None
''')


@pytest.fixture
def hourly(tmp_path, monkeypatch):
    """A protocol of one's own, importable as ``my_protocols:HourlyStarts``."""
    (tmp_path / "my_protocols.py").write_text(HOURLY)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_protocols:HourlyStarts"


def test_every_builtin_protocol_is_listed_with_its_defaults():
    assert list(available_protocols()) == list(BUILTIN) == ["starts", "next", "holdout"]
    assert (make_protocol("starts").availability, make_protocol("next").availability,
            make_protocol("holdout").availability) == ("span", "log", "log")
    assert make_protocol("holdout").period == "test" and make_protocol("starts").period is None


def test_a_custom_protocol_runs_by_name_from_the_command_line(hourly, tmp_path, sample_log):
    out = tmp_path / "hourly.json"
    assert main(["run", "--learner", "pop", "--protocol", hourly, "--days", "40-42",
                 "--bootstrap", "0", "--quiet", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["protocol"] == "hourly-starts" and result["availability"] == "span"
    every = replay(sample_log, make_learner("pop"), protocol=Starts(), window=(5760, 6148))
    hourly_steps = every.steps % 6 == 0
    assert 0 < result["metrics"]["all"]["n"] == hourly_steps.sum() < every.n_events
    assert result["metrics"]["all"]["hr@10"] == pytest.approx(
        float(np.mean(every.ranks[hourly_steps] < 10)))


def test_a_custom_protocol_takes_the_options_its_class_declares(hourly):
    with pytest.raises(ReplayError, match="period 'test' applies to the holdout protocol only"):
        make_protocol(hourly, period="test")
    assert make_protocol(hourly, availability="log").availability == "log"


@pytest.mark.parametrize("spec,message", [
    ("nope", "unknown protocol 'nope'; known: starts, next, holdout"),
    ("json:loads", "protocol 'json:loads' is not a subclass of livereplay.protocols.Protocol"),
    ("no_such_module:Thing", "cannot import module 'no_such_module'"),
])
def test_a_bad_protocol_name_is_a_one_line_error(capsys, spec, message):
    assert main(["run", "--protocol", spec, "--no-cache", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
