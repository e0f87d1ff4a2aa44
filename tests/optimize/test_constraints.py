import pytest
import sympy
import torch

from losslens.objective import AnalyticObjective
from losslens.optimize import projections as P
from losslens.optimize.constraints import feasible_set, make_problem, parse_constraints
from losslens.validation import InputError


def test_standard_forms_are_exact():
    x, y = sympy.symbols("x y", real=True)
    (le,) = parse_constraints("x^2 + y^2 <= 2", ["x", "y"])
    (ge,) = parse_constraints("x >= 0.1*y", ["x", "y"])
    (eq,) = parse_constraints("x + y = 1", ["x", "y"])
    assert le.kind == "ineq" and sympy.expand(le.sympy - (x ** 2 + y ** 2 - 2)) == 0
    assert ge.kind == "ineq" and sympy.expand(ge.sympy - (sympy.Rational(1, 10) * y - x)) == 0
    assert eq.kind == "eq" and eq.standard() == "x + y - 1 = 0"
    assert parse_constraints("x < 1", ["x"])[0].strict


def test_chains_unicode_and_conjunctions_give_several_constraints():
    x, y = sympy.symbols("x y", real=True)
    p = make_problem("x^2 + y^2", ["0 ≤ x <= 1 and y ≥ x", "x + y == 1"])
    assert [c.kind for c in p.constraints] == ["ineq", "ineq", "ineq", "eq"]
    want = [-x, x - 1, x - y, x + y - 1]
    assert all(sympy.expand(c.sympy - w) == 0 for c, w in zip(p.constraints, want))
    assert [c.text for c in p.constraints] == ["0 ≤ x", "x <= 1", "y ≥ x", "x + y == 1"]
    s = feasible_set(make_problem("x^2 + y^2", ["-1 <= x <= 1", "y <= 2"]))
    assert s.kind == "box" and s.lo.tolist()[0] == -1 and s.hi.tolist() == [1, 2]


def test_problem_values_and_violation():
    p = make_problem("x^2 + y^2", ["x + y = 1", "x <= 0.25"])
    x = torch.tensor([1.0, 1.0], dtype=torch.float64)
    assert p.c(x).tolist() == [1.0, 0.75] and p.violation(x) == 1.0
    assert p.eq_mask.tolist() == [True, False]
    assert p.violation(torch.tensor([0.25, 0.75], dtype=torch.float64)) == 0.0


def test_variables_join_and_vars_order():
    assert make_problem("x^2", ["y + z = 1"]).names == ("x", "y", "z")
    assert make_problem("x^2", ["y + x = 1"], vars="y,x").names == ("y", "x")
    assert make_problem(AnalyticObjective("b*a", "b,a"), ["c >= 0"]).names == ("b", "a", "c")
    assert make_problem("rosenbrock", ["x + y <= 1"]).names == ("x", "y")
    assert make_problem("x", ["1 <= 2"]).violation(torch.zeros(1, dtype=torch.float64)) == 0.0


@pytest.mark.parametrize("constraints, kind, check", [
    (["x + y = 1", "x - y = 0"], "affine", lambda s: torch.allclose(s.project(torch.zeros(2, dtype=torch.float64)),
                                                                     torch.tensor([0.5, 0.5], dtype=torch.float64))),
    (["x + 2*y <= 3"], "halfspace", lambda s: s.b == 3.0),
    (["x >= -1", "x <= 1", "y <= 2"], "box", lambda s: s.lo.tolist()[0] == -1 and s.hi.tolist() == [1, 2]),
    (["x + y = 1", "x >= 0", "y >= 0"], "simplex", lambda s: s.total == 1.0),
    (["(x - 1)^2 + (y + 2)^2 <= 4"], "l2", lambda s: s.center.tolist() == [1, -2] and s.radius == 2),
    (["3*x^2 + 3*y^2 <= 12"], "l2", lambda s: s.radius == 2),
    (["abs(x - 1) + abs(y) <= 2"], "l1", lambda s: s.center.tolist() == [1, 0] and s.radius == 2),
    (["2*abs(x) + 2*abs(y) <= 2"], "l1", lambda s: s.radius == 1),
])
def test_feasible_set_detection(constraints, kind, check):
    s = feasible_set(make_problem("x^2 + y^2", constraints))
    assert s is not None and s.kind == kind and check(s)


@pytest.mark.parametrize("constraints", [
    [], ["x*y >= 1"], ["x^2 + 2*y^2 <= 1"], ["x + y <= 1", "x >= 0"], ["x^2 + y^2 >= 1"], ["abs(x) + 2*abs(y) <= 1"],
    ["x >= 2", "x <= 1"], ["x + y = 1", "x >= 0"], ["x^2 + y = 1"],
])
def test_sets_without_projection_are_not_detected(constraints):
    assert feasible_set(make_problem("x^2 + y^2", constraints)) is None


@pytest.mark.parametrize("text, message", [
    ("", "constraint is empty"),
    ("x+y", "has no relation"),
    ("x<=", "has an empty right side"),
    (">= 2", "has an empty left side"),
    ("x<y<z and", "has an empty relation around 'and'"),
    ("x <= 1 or x >= 2", "uses 'or'"),
    ("0 <= <= 1", "has an empty middle side"),
    ("x != 1", "uses '!='"),
    ("x <= foo(y)", "unknown function 'foo'"),
    ("x <= __import__('os')", "unknown function '__import__'"),
])
def test_malformed_relations(text, message):
    with pytest.raises(InputError, match=message):
        make_problem("x^2", [text])


def test_too_many_constraints():
    with pytest.raises(InputError, match="65 constraints given, at most 64"):
        make_problem("x", ["x >= 0"] * 65)
    with pytest.raises(InputError, match="66 constraints given, at most 64"):
        make_problem("x", ["0 <= x <= 1"] * 33)


def test_l1_projection_set_from_problem_is_exact():
    s = feasible_set(make_problem("x^2 + y^2", ["abs(x) + abs(y) <= 1"]))
    assert isinstance(s, P.L1Ball)
    assert s.project(torch.tensor([0.8, 0.6], dtype=torch.float64)).tolist() == pytest.approx([0.6, 0.4])
