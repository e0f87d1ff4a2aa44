"""Old option spellings (renamed for one name per concept across commands) still work for one release, unseen."""
import json
import re

import pytest
from typer.testing import CliRunner

from losslens.cli import app
from losslens.cli._app import OPTION_ALIASES, rename_aliases

from json_cases import stable

runner = CliRunner()


def document(*args):
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return stable(json.loads(r.stdout))        # without wall-clock seconds and the default memory budget


@pytest.mark.parametrize("command", [["constrained", "x^2 + y^2", "--st", "x + y = 1"],
                                     ["weight-decay", "(x - 2)^2 + y^2", "--lam", "2"]])
def test_x0_is_start(command):
    new = document(*command, "--start", "3,-1")
    assert new == document(*command, "--x0", "3,-1") == document(*command, "--x0=3,-1")


def test_the_old_spelling_reaches_the_solver():
    d = document("constrained", "x^2 + y^2", "--st", "x + y = 1", "--x0", "3,-1")
    assert d["x0"] == d["path"][0] == [3.0, -1.0]
    assert document("constrained", "x^2 + y^2", "--st", "x + y = 1")["path"][0] == [0.0, 0.0]


def test_subset_is_samples():
    args = ["landscape", "--model", "digits-linear", "--grid", "3"]
    new = document(*args, "--samples", "60")
    assert new == document(*args, "--subset", "60") and new["subset"] == 60


@pytest.mark.parametrize("command,old", [(c, old) for c, table in OPTION_ALIASES.items() for old in table])
def test_old_spellings_are_hidden_from_help(command, old):
    r = runner.invoke(app, [command, "--help"])
    shown = lambda name: re.search(re.escape(name) + r"(?![\w-])", r.output) is not None   # --output in --output-key
    assert r.exit_code == 0 and not shown(old) and shown(OPTION_ALIASES[command][old])


def test_basins_checkpoint_is_store(tmp_path):
    args = ["basins", "x^4 - 2*x^2", "--box=-2:2", "--starts", "16", "--steps", "50"]
    new = document(*args, "--store", str(tmp_path / "new.pt"))
    assert (tmp_path / "new.pt").exists()
    assert new == document(*args, "--checkpoint", str(tmp_path / "old.pt")) and (tmp_path / "old.pt").exists()


def test_aliases_only_where_listed_and_never_inside_values():
    opts = {"--start": True, "--st": True, "--json": False}
    aliases = {"--x0": "--start"}
    assert rename_aliases(["f", "--x0", "1,2"], opts, aliases) == ["f", "--start", "1,2"]
    assert rename_aliases(["--x0=1", "--json"], opts, aliases) == ["--start=1", "--json"]
    assert rename_aliases(["--st", "--x0", "f"], opts, aliases) == ["--st", "--x0", "f"]       # a value stays
    assert rename_aliases(["--", "--x0"], opts, aliases) == ["--", "--x0"]                      # a positional stays
    assert rename_aliases(["--x0", "1"], {"--x0": True, "--start": True}, aliases) == ["--x0", "1"]
    r = runner.invoke(app, ["optimize", "x^2", "--x0", "1"])                                   # never was optimize's
    assert r.exit_code == 2 and "No such option" in r.output


def test_hessian_steps_is_slq_steps():
    args = ["hessian", "--model", "digits-linear", "--samples", "60", "--max-hvps", "40", "--density", "--probes", "1"]
    new = document(*args, "--slq-steps", "4")
    assert new == document(*args, "--steps", "4") and new["density"]["steps"] == 4
    assert document(*args, "--slq-steps", "6")["density"]["steps"] == 6


@pytest.mark.parametrize("args,flag", [(["landscape", "--model", "digits-linear", "--samples", "10000000000"],
                                        "--samples"),
                                       (["hessian", "--slq-steps", "100000"], "--slq-steps"),
                                       (["hessian", "--steps", "100000"], "--slq-steps")])
def test_bound_messages_name_the_current_flag(args, flag):
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and f"{flag} == " in r.output
