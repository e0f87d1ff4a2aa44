"""Interval enclosures against exact ranges (sympy/mpmath at many points, closed-form ranges)."""
import math

import mpmath
import pytest
import sympy
from hypothesis import given, settings, strategies as st

from losslens.interval import (WHOLE, bisect, enclose, enclose_many, evaluate, inside, interval, is_finite, mid,
                               width)

x, y = sympy.symbols("x y")

# (expression, box for x, exact range over that box)
EXACT_RANGES = [
    (x**2, (-1, 2), (0, 4)),
    (x**3, (-1, 2), (-1, 8)),
    ((x - 1)**2, (0, 3), (0, 4)),
    (sympy.exp(x), (0, 1), (1, math.e)),
    (sympy.log(x), (1, sympy.E), (0, 1)),
    (sympy.sqrt(x), (0, 4), (0, 2)),
    (sympy.Abs(x), (-3, 2), (0, 3)),
    (sympy.tanh(x), (-1, 1), (-math.tanh(1), math.tanh(1))),
    (sympy.sin(x), (0, sympy.pi), (0, 1)),
    (sympy.cos(x), (0, sympy.pi), (-1, 1)),
    (1 / x, (1, 4), (0.25, 1)),
    (sympy.Max(0, x), (-2, 3), (0, 3)),
    (sympy.tan(x), (0, 1.5), (0, math.tan(1.5))),             # between the poles ±π/2 (was [-inf, inf])
    (sympy.tan(x), (2, 3), (math.tan(2), math.tan(3))),         # between π/2 and 3π/2
]


@pytest.mark.parametrize("expr, box, exact", EXACT_RANGES, ids=[str(e[0]) for e in EXACT_RANGES])
def test_enclosure_is_the_exact_range_up_to_rounding(expr, box, exact):
    X = interval(float(box[0]), float(box[1]))
    v = evaluate(expr, {x: X})
    lo, hi = float(exact[0]), float(exact[1])
    assert v.a <= lo and v.b >= hi                      # rigorous: contains the range
    assert float(v.a) == pytest.approx(lo, abs=1e-12) and float(v.b) == pytest.approx(hi, abs=1e-12)  # and tight


def test_enclosure_of_a_dependent_expression_contains_but_overestimates():
    # x - x is 0, but interval arithmetic treats the two x independently: [-1, 1] on [0, 1]
    v = evaluate(x * (1 - x), {x: interval(0, 1)})
    assert v.a <= 0 and v.b >= 0.25


FUNCS = [x**2 * y - sympy.sin(3 * x) + sympy.exp(-y**2), (x**2 + y - 11)**2 + (x + y**2 - 7)**2,
         x * sympy.cos(sympy.pi * x) + y**4 / 3, sympy.tanh(x * y) - sympy.Abs(x - y), sympy.log(1 + x**2 + y**2)]
EXACT = [sympy.lambdify((x, y), f, modules="mpmath") for f in FUNCS]   # evaluated at 100 digits below


@settings(max_examples=50, deadline=None)
@given(i=st.integers(0, len(FUNCS) - 1), a=st.floats(-4, 4), b=st.floats(-4, 4),
       wa=st.floats(0, 3), wb=st.floats(0, 3), s=st.floats(0, 1), t=st.floats(0, 1))
def test_enclosure_contains_every_value(i, a, b, wa, wb, s, t):
    f = FUNCS[i]
    env = {x: interval(a, a + wa), y: interval(b, b + wb)}
    v = evaluate(f, env)
    px, py = a + s * wa, b + t * wb
    with mpmath.workdps(100):
        exact = EXACT[i](mpmath.mpf(px), mpmath.mpf(py))
    assert v.a <= float(exact) + 1e-12 * max(1, abs(float(exact))) and float(exact) <= v.b + 1e-12 * max(1, abs(float(exact)))


def test_box_wholly_outside_the_domain_has_no_enclosure():
    assert enclose(sympy.log(x), {x: interval(-2, -1)}) is None
    assert enclose(sympy.sqrt(x) + 1, {x: interval(-2, -0.5)}) is None
    assert evaluate(sympy.log(x), {x: interval(-2, -1)}) == WHOLE   # the safe default for provers


def test_box_partly_outside_the_domain_encloses_the_defined_part():
    v = enclose(sympy.sqrt(x), {x: interval(-1, 4)})
    assert v.a <= 0 and float(v.b) == pytest.approx(2)
    v = enclose(sympy.log(x), {x: interval(-1, 1)})
    assert v.a == -mpmath.inf and float(v.b) == pytest.approx(0, abs=1e-15)


def test_enclose_many_matches_one_at_a_time():
    env = {x: interval(-1, 0.5), y: interval(2, 3)}
    exprs = [x * y, sympy.log(x), x**2 + y]
    many = enclose_many(exprs, env)
    assert many[0] == evaluate(x * y, env) and many[2] == evaluate(x**2 + y, env)
    v = many[1]
    assert v.a == -mpmath.inf                           # defined part (0, 0.5] only


def test_box_helpers():
    X = interval(-1, 3)
    assert mid(X) == 1 and width(X) == 4 and is_finite(X) and not is_finite(WHOLE)
    assert inside(interval(0, 1), X) and not inside(interval(-1, 1), X)
    left, right = bisect([X, interval(0, 1)], 0)
    assert (left[0].a, left[0].b, right[0].a, right[0].b) == (-1, 1, 1, 3) and left[1] == right[1]


@pytest.mark.parametrize("box", [(-1.6, 0), (1.5, 1.6), (1.6, 4.8), (float(math.pi / 2), 2.0), (-1e300, 1e300)])
def test_tan_is_the_whole_line_when_a_pole_may_lie_inside(box):
    # float(π/2) < π/2, so [float(π/2), 2] holds the pole π/2; (-1.6, 0) holds −π/2
    assert evaluate(sympy.tan(x), {x: interval(*box)}) == WHOLE
