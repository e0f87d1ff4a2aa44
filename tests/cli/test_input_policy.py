"""Inputs that used to end in an internal error, each with its exact expected answer or one-line refusal."""
import json

import pytest
import sympy
import torch
from typer.testing import CliRunner

from losslens import parse
from losslens.cli import app
from losslens.cli._app import MAX_ERROR_CHARS, one_line
from losslens.optimize.batch import hessians, values_and_grads
from losslens.optimize.methods import parse_schedule
from losslens.results import jsonable
from losslens.validation import InputError

runner = CliRunner()


def refused(args, match):
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and match in lines[0] and len(lines[0]) <= MAX_ERROR_CHARS, r.stderr
    return lines[0]


def test_constant_folded_by_sympy_has_zero_gradient():
    obj = parse("log(0*x+1) + 0*y")           # sympy folds it to the constant 0
    assert str(obj.expression.sympy) == "0"
    assert obj.grad([1.0, 2.0]).tolist() == [0.0, 0.0]
    v, g = values_and_grads(obj, torch.tensor([[1.0, 2.0], [3.0, -4.0]], dtype=torch.float64))
    assert v.tolist() == [0.0, 0.0] and g.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert hessians(obj, torch.zeros(2, 2, dtype=torch.float64)).abs().max().item() == 0.0


def test_optimize_a_constant_stops_at_once_without_claiming_a_minimum():
    r = runner.invoke(app, ["optimize", "log(0*x+1)", "--start", "1", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["gradient_norms"][0] == 0.0 and d["values"][0] == 0.0
    assert d["verdict"] == "plateau"


@pytest.mark.parametrize("spec, match", [
    ("step:step_size=0", "step_size='0' must be an integer >= 1"),
    ("cosine:T_max=0", "T_max='0' must be an integer >= 1"),
    ("exponential:gamma=nan", "gamma='nan' must be a finite number"),
    ("step:step_size=2,gamma=inf", "gamma='inf' must be a finite number"),
])
def test_schedule_zero_and_non_finite_parameters_are_refused(spec, match):
    with pytest.raises(InputError, match=match):
        parse_schedule(spec)
    refused(["optimize", "x^2", "--start", "1", "--schedule", spec], match)


def test_schedule_positive_parameters_still_parse():
    assert parse_schedule("step:step_size=1,gamma=0.5") == ("step", {"step_size": 1, "gamma": 0.5})


@pytest.mark.parametrize("seed", ["99999999999999999999999", "-1", str(2 ** 63)])
@pytest.mark.parametrize("command", [["optimize", "x^2", "--start", "1"], ["convex", "x^2"],
                                     ["basins", "x^2", "--box=-1:1", "--starts", "2", "--steps", "1"]])
def test_seed_out_of_range_is_refused_by_every_command(command, seed):
    refused([*command, "--seed", seed], f"--seed == {seed}, must be an integer in [0, 9223372036854775807]")


def test_largest_seed_is_accepted():
    r = runner.invoke(app, ["optimize", "x^2", "--start", "1", "--steps", "2", "--seed", str(2 ** 63 - 1), "--json"])
    assert r.exit_code == 0, r.output


def test_error_lines_are_capped():
    line = refused(["eval", "x", "--at", "1," + "9" * 5000 + "z"], "losslens: error: --at ==")
    assert len(line) == MAX_ERROR_CHARS and line.endswith("…")
    assert one_line("a\n  b\tc") == "a b c" and one_line("abcdef", 4) == "abc…"


def test_usage_errors_of_the_app_are_one_line():
    refused(["eval", "x", "--at"], "Option '--at' requires an argument")
    refused(["nosuchcommand"], "No such command")


def test_jsonable_non_finite_and_foreign_numbers():
    import numpy as np

    data = {"np_inf": np.float64("inf"), "oo": sympy.oo, "nan": sympy.nan, "zoo": sympy.zoo,
            "third": sympy.Rational(1, 3),
            "int": np.int64(3), "big": sympy.Integer(10) ** 30, "t": torch.tensor([1.0, float("nan")])}
    assert jsonable(data) == {"np_inf": None, "oo": None, "nan": None, "zoo": None, "third": 1 / 3, "int": 3,
                              "big": 10 ** 30, "t": [1.0, None]}
    json.dumps(jsonable(data), allow_nan=False)


def test_eval_overflow_is_not_finite_and_valid_json():
    r = runner.invoke(app, ["eval", "exp(x)", "--at", "1000", "--json"])
    assert r.exit_code == 0
    d = json.loads(r.stdout)
    assert d["kind"] == "not_finite" and d["value"] is None


@pytest.mark.parametrize("args, projection, distance", [
    (["--set", "simplex", "--at", "1e308"], [1.0], 1e308),                       # exact: 1e308 - 1 rounds to 1e308
    (["--set", "simplex", "--at", "1e308,-1e308,3"], [1.0, 0.0, 0.0], 2 ** 0.5 * 1e308),
    (["--set", "l1", "--radius", "1", "--at", "1e308,2"], [1.0, 0.0], 1e308),
])
def test_projection_of_huge_points_keeps_the_set(args, projection, distance):
    r = runner.invoke(app, ["project", *args, "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["projection"] == projection and d["distance"] == pytest.approx(distance, rel=1e-12)
