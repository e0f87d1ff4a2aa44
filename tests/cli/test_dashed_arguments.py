"""Positional expressions and option values that start with ``-`` reach every command as typed."""
import json

import pytest
from typer.testing import CliRunner

from losslens.cli import app
from losslens.cli._app import main, split_dashed_positionals

runner = CliRunner()


def run_json(*args):
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_eval_leading_minus_is_a_maximum():
    d = run_json("eval", "-x^2-y^2", "--at", "0,0")
    assert d["kind"] == "max" and d["eigenvalues"] == [-2.0, -2.0] and d["expression"] == "-x^2-y^2"


def test_eval_option_first_and_negative_point():
    d = run_json("eval", "--at", "-1,2", "-x^2-y^2")
    assert d["point"] == [-1.0, 2.0] and d["value"] == -5.0 and d["gradient"] == [2.0, -4.0]


def test_main_entry_point_reads_a_leading_minus(capsys):
    assert main(["eval", "-x^2", "--at", "-3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["value"] == -9.0


@pytest.mark.parametrize("args, check", [
    (["convex", "-x^2"], lambda d: d["verdict"] == "concave"),
    (["convex-set", "-x^2-y^2>=-1"], lambda d: d["verdict"] == "convex"),
    (["points", "-x^2", "--box", "-1:1", "--time-budget", "5"],
     lambda d: d["counts"]["max"] == 1 and abs(d["points"][0]["point"][0]) < 1e-9),
    (["optimize", "-2*x+x^2", "--start", "-1"],
     lambda d: abs(d["points"][-1][0] - 1) < 1e-4 and d["verdict"] == "converged"),
    (["compare", "-2*x+x^2", "--start", "-1", "--methods", "gd", "--steps", "200"],
     lambda d: abs(d["runs"][0]["points"][-1][0] - 1) < 1e-4),
    (["basins", "-2*x+x^2", "--box=-3:3", "--starts", "3", "--steps", "300", "--lr", "0.1"],
     lambda d: [e["point"] for e in d["endpoints"]] == [[pytest.approx(1.0, abs=1e-4)]]),
    (["constrained", "-x-y", "--st", "x^2+y^2<=2"], lambda d: d["x"] == pytest.approx([1.0, 1.0], abs=1e-6)),
    (["constrained", "x^2+y^2", "--st", "-x-y<=-2"], lambda d: d["x"] == pytest.approx([1.0, 1.0], abs=1e-6)),
    (["weight-decay", "-x", "--lam", "1"], lambda d: d["constrained"] == pytest.approx([1.0], abs=1e-6)),
    (["landscape", "-x^2", "--box", "-1:1", "--grid", "3"], lambda d: d["values"] == [-1.0, 0.0, -1.0]),
    (["project", "--set", "l2", "--radius", "1", "--at", "-3,4"],
     lambda d: d["projection"] == pytest.approx([-0.6, 0.8])),
])
def test_every_expression_command_takes_a_leading_minus(args, check):
    assert check(run_json(*args))


def test_catalog_name_with_leading_minus_is_an_unknown_name_not_an_option():
    r = runner.invoke(app, ["catalog", "-rosenbrock"])
    assert r.exit_code == 2 and "No such option" not in r.output and "-rosenbrock" in r.output


def test_unknown_long_option_is_still_reported():
    r = runner.invoke(app, ["eval", "-x", "--att", "1"])
    assert r.exit_code == 2 and "No such option: --att" in r.output


def test_split_dashed_positionals():
    opts = {"--at": True, "--json": False}
    assert split_dashed_positionals(["x", "--at", "-1"], opts) == ["x", "--at", "-1"]      # nothing to move
    assert split_dashed_positionals(["-x", "--at", "-1", "--json"], opts) == ["--at", "-1", "--json", "--", "-x"]
    assert split_dashed_positionals(["--at=-1", "-x", "--", "-y"], opts) == ["--at=-1", "--", "-x", "-y"]
    assert split_dashed_positionals(["-x", "--bogus"], opts) == ["--bogus", "--", "-x"]
