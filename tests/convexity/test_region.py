"""Regions: an empty region (one-variable bounds that contradict, strictness kept) is refused, never analysed."""
import pytest
import sympy

from losslens import InputError
from losslens.convexity.region import Condition, Region, empty_because
from losslens.expr import parse
from losslens.objective import Box

x, y = sympy.symbols("x y", real=True)


def cond(label, g, op):
    return Condition(label, g, op)


@pytest.mark.parametrize("conds, empty", [
    ([cond("x > 1", x - 1, ">"), cond("x < 1", 1 - x, ">")], True),
    ([cond("x > 1", x - 1, ">"), cond("x <= 1", 1 - x, ">=")], True),
    ([cond("x >= 1", x - 1, ">="), cond("x < 1", 1 - x, ">")], True),
    ([cond("2x >= 3", 2 * x - 3, ">="), cond("x <= 1", 1 - x, ">=")], True),
    ([cond("x >= 1", x - 1, ">="), cond("x <= 1", 1 - x, ">=")], False),    # the single point x = 1
    ([cond("x > 1", x - 1, ">"), cond("x < 1 + 1e-300", sympy.Rational(1) + sympy.Rational(10) ** -300 - x, ">")],
     False),                                                                 # (1, 1 + 1e-300): float rounding aside
    ([cond("x > 1", x - 1, ">"), cond("y < 1", 1 - y, ">")], False),       # bounds on different variables
    ([cond("x > 1", x - 1, ">"), cond("x^2 < 1", 1 - x ** 2, ">")], False),  # not a one-variable affine bound
])
def test_empty_because_decides_exactly(conds, empty):
    why = empty_because(conds, None, (x, y))
    assert (why is not None) == empty
    if empty:
        assert conds[0].label in why and conds[1].label in why and "x" in why


def test_empty_because_takes_the_box():
    box = Box((0.0, 0.0), (1.0, 1.0))
    assert "box" in empty_because([cond("where x > 1", x - 1, ">")], box, (x, y))
    assert empty_because([cond("where x >= 1", x - 1, ">=")], box, (x, y)) is None


@pytest.mark.parametrize("text, where, match", [
    ("x^3", "x > 1 and x < 1", "region is empty: where x > 1 and where x < 1 leave no value of x"),
    ("x^3", "x >= 2 and x <= 1", "region is empty: where x >= 2 and where x <= 1"),
    ("log(x)", "x < 0", "region is empty: log argument > 0 and where x < 0"),
    ("log(x) + log(-x)", None, "region is empty: log argument > 0 and log argument > 0"),
    ("x^2", "x^2 < -1", "region is empty: where x\\^2 < -1 holds nowhere on the whole space"),
])
def test_region_of_refuses_an_empty_region(text, where, match):
    from losslens.convexity.check import where_conditions

    e = parse(text)
    with pytest.raises(InputError, match=match):
        Region.of(e, None, where_conditions(where, e.variables))


def test_region_of_keeps_a_nonempty_region():
    from losslens.convexity.check import where_conditions

    e = parse("x^3")
    r = Region.of(e, None, where_conditions("x > 1 and x < 2", e.variables))
    assert len(r.conditions) == 2 and r.contains([1.5]) and not r.contains([2.5])


def test_positive_by_uses_strict_conditions_and_structure():
    from losslens.convexity.region import positive_by
    from losslens.convexity import _interval as I

    env = {x: I.interval(0, float("inf")), y: I.interval(0, float("inf"))}      # the closure of x > 0, y > 0
    assert positive_by(x * y, [x, y], env)                  # x·y > 0 on the open orthant ...
    assert I.evaluate(x * y, env).a == 0                    # ... which the closed enclosure alone cannot show
    assert positive_by(2 * x ** 3 * y + sympy.exp(x), [x, y], env)
    assert not positive_by(x * y, [x], env)                 # y > 0 not given: y = 0 is allowed
    assert not positive_by(-x * y, [x, y], env)
    assert not positive_by(x - y, [x, y], env)


def test_a_natural_domain_implied_by_strict_where_conditions_is_dropped():
    from losslens.convexity.check import where_conditions

    e = parse("-log(x*y)")
    r = Region.of(e, None, where_conditions("x > 0 and y > 0", e.variables))
    assert [c.label for c in r.conditions] == ["where x > 0", "where y > 0"]
    # with x >= 0 the domain x·y > 0 is not implied (x = 0): it stays
    r = Region.of(e, None, where_conditions("x >= 0 and y > 0", e.variables))
    assert "log argument > 0" in [c.label for c in r.conditions]


@pytest.mark.parametrize("text, label", [("log(-x^2 - 1)", "log argument > 0"), ("sqrt(-1 - x^2)", "sqrt argument"),
                                         ("1/(x - x)", "denominator != 0")])
def test_an_expression_defined_nowhere_is_one_clear_error(text, label):
    # sympy decides the domain condition to False; it was "domain condition False is not an inequality"
    with pytest.raises(InputError, match=f"expression is defined nowhere \\({label}.* never holds\\)"):
        Region.of(parse(text), None)
