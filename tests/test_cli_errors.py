"""Every subcommand given an invalid option value stops with one line on stderr, starting
``livereplay: error:``, and exit status 2: never a traceback, never argparse's usage block."""
import pytest

from livereplay.app.cli import main

BAD = {
    "stats": [
        (["--data", "missing.csv"], "missing.csv: no such file"),
        (["--compare", "one.csv"], "--compare: expected 2 arguments"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
    "run": [
        (["--learner", "nope"], "unknown learner 'nope'"),
        (["--users-sample", "2"], "--users-sample must be in (0, 1], not '2'"),
        (["--users-sample", "0"], "--users-sample must be in (0, 1], not '0'"),
        (["--users-sample", "half"], "--users-sample must be in (0, 1], not 'half'"),
        (["--seed", "-1"], "--seed must be an integer >= 0, not '-1'"),
        (["--seed", "1.5"], "--seed must be an integer >= 0, not '1.5'"),
        (["--bootstrap", "-1"], "--bootstrap must be an integer >= 0, not '-1'"),
        (["--window", "5:3"], "window [5, 3) is empty"),
        (["--window", "ab"], "cannot read --window 'ab' (expected A:B)"),
        (["--window", "7000:8000"], "window [7000, 6148) is empty"),
        (["--days", "x"], "cannot read --days 'x' (expected D1-D2 with D1 <= D2)"),
        (["--days", "5-3"], "cannot read --days '5-3'"),
        (["--days", "1-2", "--window", "1:2"], "not allowed with argument"),
        (["--checkpoint-every", "0"], "--checkpoint-every must be an integer >= 1, not '0'"),
        (["--checkpoint-minutes", "0"], "--checkpoint-minutes must be a number > 0, not '0'"),
        (["--checkpoint-minutes", "nan"], "--checkpoint-minutes must be a number > 0, not 'nan'"),
        (["--resume"], "--resume needs --checkpoint DIR"),
        (["--protocol", "nope"], "unknown protocol 'nope'"),
        (["--availability", "nope"], "--availability: invalid choice: 'nope'"),
        (["--param", "oops"], "--param 'oops': expected NAME=VALUE"),
    ],
    "compare": [
        (["--jobs", "0"], "--jobs must be an integer >= 1, not '0'"),
        (["--jobs", "-2"], "--jobs must be an integer >= 1, not '-2'"),
        (["--bootstrap", "-1"], "--bootstrap must be an integer >= 0, not '-1'"),
        (["--seed", "-1"], "--seed must be an integer >= 0, not '-1'"),
        (["--users-sample", "2"], "--users-sample must be in (0, 1], not '2'"),
        (["--window", "5:3"], "window [5, 3) is empty"),
        (["--days", "x"], "cannot read --days 'x'"),
        (["--checkpoint-every", "0"], "--checkpoint-every must be an integer >= 1, not '0'"),
        (["--learners", ","], "--learners names no learner"),
        (["--learners", "repeat,nope"], "unknown learner 'nope'"),
        (["--test-metric", "nope"], "--test-metric 'nope': expected one of"),
        (["--engine", "nope"], "--engine: invalid choice: 'nope'"),
    ],
    "tune": [
        ([], "the following arguments are required: --learners"),
        (["--learners", "mf", "--param", "lr=0.1:0.2", "--trials", "0"],
         "--trials must be an integer >= 1, not '0'"),
        (["--learners", "mf", "--param", "lr=0.1:0.2", "--grid-points", "1"],
         "--grid-points must be an integer >= 2, not '1'"),
        (["--learners", "mf", "--param", "lr=0.1:0.2", "--jobs", "0"],
         "--jobs must be an integer >= 1, not '0'"),
        (["--learners", "mf", "--param", "lr=0.1:0.2", "--seeds", "x"],
         "--seeds 'x': expected integers"),
        (["--learners", "mf", "--param", "lr=0.1:0.2", "--select", "nope"],
         "--select 'nope': expected SPLIT:METRIC"),
        (["--learners", "mf", "--param", "lr=0.1:0.2", "--strategy", "nope"],
         "--strategy: invalid choice: 'nope'"),
        (["--learners", "mf", "--param", "lr=0.2:0.1"], "LOW must be below HIGH"),
        (["--learners", "pop"], "no search space for 'pop'"),
        (["--learners", "mf", "--space", "missing.toml"], "cannot read the search space"),
        (["--learners", "nope", "--param", "lr=0.1:0.2"], "unknown learner 'nope'"),
    ],
    "learners": [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["extra"], "unrecognized arguments: extra"),
    ],
    "protocols": [
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
    "simulate": [
        (["--scale", "0", "--out", "x.csv"], "scale must lie in (0, 1]"),
        (["--scale", "2", "--out", "x.csv"], "scale must lie in (0, 1]"),
        (["--seed", "-1", "--out", "x.csv"], "--seed must be a non-negative integer, not -1"),
        (["--policy", "pop", "--seeds", "0"], "--seeds must be a positive integer, not 0"),
        (["--policy", "pop", "--jobs", "0"], "--jobs must be a positive integer, not 0"),
        (["--seeds", "x"], "--seeds: invalid int value: 'x'"),
        (["--preset", "nope"], "--preset: invalid choice: 'nope'"),
        (["--set", "oops", "--out", "x.csv"], "--set"),
        (["--set", "no_such_parameter=1", "--out", "x.csv"], "no_such_parameter"),
        (["--policy", "nope"], "unknown learner 'nope'"),
        (["--out", "missing/x.csv"], "--out missing/x.csv: no such directory"),
        ([], "give --out FILE"),
    ],
    "import": [
        ([], "the following arguments are required: FORMAT"),
        (["kuailive", "nowhere", "--out", "log.csv"], "nowhere: no such folder"),
        (["kuailive", "nowhere"], "the following arguments are required: --out"),
        (["kuailive", "nowhere", "--out", "log.csv", "--step-minutes", "0"],
         "--step-minutes must be an integer >= 1, not '0'"),
        (["events", "watch.csv", "--user", "u", "--item", "i", "--start", "t",
          "--time-unit", "s", "--out", "log.csv"], "one of the arguments --stop --duration"),
        (["events", "watch.csv", "--user", "u", "--item", "i", "--start", "t", "--stop", "e",
          "--time-unit", "h", "--out", "log.csv"], "--time-unit: invalid choice: 'h'"),
        (["events", "missing.csv", "--user", "u", "--item", "i", "--start", "t", "--stop", "e",
          "--time-unit", "s", "--out", "log.csv"], "missing.csv: no such file"),
    ],
    "data": [
        (["check", "missing.csv", "--dataset", "twitch-100k"], "missing.csv: no such file"),
        (["check", "missing.csv", "--dataset", "nope"], "--dataset: invalid choice: 'nope'"),
        (["check", "missing.csv"], "the following arguments are required: --dataset"),
    ],
    "ope": [
        (["--feedback", "nowhere", "--policy", "pop", "--seed", "-1"],
         "--seed must be an integer >= 0, not '-1'"),
        (["--feedback", "nowhere", "--policy", "pop", "--bootstrap", "0"],
         "--bootstrap must be an integer >= 1, not '0'"),
    ],
    None: [
        ([], "the following arguments are required: COMMAND"),
        (["nope"], "invalid choice: 'nope'"),
    ],
}
CASES = [pytest.param([command] + argv if command else argv, message,
                      id=f"{command} {' '.join(argv)}")
         for command, cases in BAD.items() for argv, message in cases]


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    """Each case runs in a fresh folder with its own cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIVEREPLAY_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("argv,message", CASES)
def test_an_invalid_option_is_one_line_and_status_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("livereplay: error: ") and message in err, err
