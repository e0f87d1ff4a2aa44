"""The one relation grammar shared by constrained optimization, convex sets and ``where`` conditions."""
import pytest
import sympy

from losslens import objective, relations
from losslens.convexity import check_convexity, parse_set
from losslens.optimize.constraints import make_problem
from losslens.relations import (MAX_RELATIONS, Relation, conjunction, disjunction, names_of, to_constraint,
                                to_inequalities)
from losslens.validation import InputError

x, y = sympy.symbols("x y", real=True)


@pytest.mark.parametrize("text, expected", [
    ("x+y=1", [("x+y", "=", "1")]), ("x == 2", [("x", "=", "2")]), ("x^2+y^2<=2", [("x^2+y^2", "<=", "2")]),
    ("x >= y", [("x", ">=", "y")]), ("x < 1", [("x", "<", "1")]), ("1 > x", [("1", ">", "x")]),
    ("x=<1", [("x", "<=", "1")]), ("x=>1", [("x", ">=", "1")]), ("x ≤ 1", [("x", "<=", "1")]),
    ("x ≥ 1", [("x", ">=", "1")]),
    ("0 <= x <= 1", [("0", "<=", "x"), ("x", "<=", "1")]),
    ("x < y < z", [("x", "<", "y"), ("y", "<", "z")]),
    ("max(x, y) <= 1 and x >= 0", [("max(x, y)", "<=", "1"), ("x", ">=", "0")]),
    ("(x <= 1) <= 2", [("(x <= 1)", "<=", "2")]),    # relations only outside parentheses
    ("android <= 1 and x >= 0", [("android", "<=", "1"), ("x", ">=", "0")]),   # 'and' as a word only
])
def test_grammar(text, expected):
    assert [(r.lhs, r.op, r.rhs) for r in conjunction(text)] == expected


def test_disjunction_and_names():
    parts = disjunction("x <= 0 or x >= 1 and y == 2")
    assert [[(r.lhs, r.op, r.rhs) for r in p] for p in parts] == [[("x", "<=", "0")],
                                                                 [("x", ">=", "1"), ("y", "=", "2")]]
    assert names_of(conjunction("x + z <= 2 and 1 <= 3")) == {"x", "z"}


def test_standard_forms_are_exact():
    le = to_constraint(Relation("x^2", "<=", "y", "x^2 <= y"), ["x", "y"])
    ge = to_constraint(Relation("x", ">", "2*y", "x > 2*y"), ["x", "y"])
    eq = to_constraint(Relation("x", "=", "y", "x = y"), ["x", "y"])
    assert (le.kind, ge.kind, eq.kind) == ("ineq", "ineq", "eq")
    assert sympy.expand(le.sympy - (x ** 2 - y)) == 0 and not le.strict
    assert sympy.expand(ge.sympy - (2 * y - x)) == 0 and ge.strict
    assert sympy.expand(eq.sympy - (x - y)) == 0
    lo, hi = to_inequalities(Relation("x", "=", "y", "x = y"), ["x", "y"])
    assert sympy.expand(lo.sympy - (x - y)) == 0 and sympy.expand(hi.sympy - (y - x)) == 0
    assert lo.over(["y", "x"]).expression.variables == ("y", "x")


@pytest.mark.parametrize("text, message", [
    ("", "constraint is empty, must be a relation"),
    ("x+y", "has no relation"),
    ("x<=", "has an empty right side"),
    (">= 2", "has an empty left side"),
    ("0 <= <= 1", "has an empty middle side"),
    ("x != 1", "uses '!='"),
    ("x <= 1 or x >= 2", "uses 'or': use 'and' only"),
    ("x <= 1 and", "has an empty relation around 'and'"),
    ("x^2 + y^2 <= 1, y >= 0", "has a ',' between relations: join relations with 'and'"),
    ("x >= 0; y >= 0", "has a ';' between relations"),
    (" and ".join(["x <= 1"] * (MAX_RELATIONS + 1)), f"has {MAX_RELATIONS + 1} relations, at most {MAX_RELATIONS}"),
])
def test_malformed(text, message):
    with pytest.raises(InputError, match=message):
        conjunction(text)


def test_commas_inside_calls_are_arguments():
    (r,) = conjunction("max(x, y) <= 1")
    assert (r.lhs, r.op, r.rhs) == ("max(x, y)", "<=", "1")


def test_malformed_disjunction_and_sides():
    with pytest.raises(InputError, match="set is empty text"):
        disjunction(" ")
    with pytest.raises(InputError, match="set 'x <= 1 or' has an empty relation around 'and'/'or'"):
        disjunction("x <= 1 or")
    with pytest.raises(InputError, match=f"set has {MAX_RELATIONS + 2} relations, at most {MAX_RELATIONS}"):
        disjunction(" or ".join(["x <= 1"] * (MAX_RELATIONS + 2)))
    with pytest.raises(InputError, match="relation 'x <= foo\\(y\\)': unknown function 'foo'"):
        names_of(conjunction("x <= foo(y)"))
    with pytest.raises(InputError, match="relation 'x <= y': unknown name 'y': not among vars x"):
        to_constraint(conjunction("x <= y")[0], ["x"])


def test_both_users_read_the_same_text_alike():
    """A set and a constrained problem from one text have the same constraints g <= 0, in the same order."""
    text = "0 ≤ x <= 1 and y >= x^2"
    spec = parse_set(text)
    problem = make_problem("x + y", [text])
    assert len(spec.parts) == 1 and len(spec.parts[0]) == len(problem.constraints) == 3
    for a, b in zip(spec.parts[0], problem.constraints):
        assert sympy.expand(a.sympy - b.sympy) == 0 and a.text == b.text
    # the same chain restricts a convexity check through where=
    assert check_convexity("x^3", where="0 <= x <= 1").verdict == "strictly_convex"      # f'' = 6x > 0 for x > 0
    assert check_convexity("x^3", where="-1 <= x <= 1").verdict == "not_convex"


def test_one_box():
    assert relations.Box is objective.Box


def test_convexity_check_does_not_import_sets():
    """check.py reads where= through the shared grammar; the sets module builds on check, not the reverse."""
    import ast
    import inspect

    from losslens.convexity import check
    tree = ast.parse(inspect.getsource(check))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "sets" not in imported and "relations" in imported
