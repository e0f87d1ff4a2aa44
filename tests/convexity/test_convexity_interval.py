"""Interval enclosures must contain every value (inclusion isotony), checked against sampled float64 values."""
import math

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st

from losslens.convexity import _interval as I
from losslens.expr import parse

EXPRS = ["x^2 - 2*x*y + y^3", "exp(x)*cos(y) + tanh(x - y)", "log(1 + exp(x)) - sqrt(x^2 + y^2)",
         "abs(x) + max(x, y) - min(x^2, y)", "sin(3*x)*y^4 - x/(1 + y^2)", "(x^2 + 1)^(-1.5) + tan(0.3*x)",
         "x^7 - y^6 + exp(-x^2)"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(EXPRS), st.floats(-3, 3), st.floats(0.001, 2), st.floats(-3, 3), st.floats(0.001, 2))
def test_enclosure_contains_sampled_values(text, cx, rx, cy, ry):
    e = parse(text, "x,y")
    x, y = e.symbols
    env = {x: I.interval(cx - rx, cx + rx), y: I.interval(cy - ry, cy + ry)}
    F = I.evaluate(e.sympy, env)
    f = sympy.lambdify((x, y), e.sympy, "mpmath")
    for u in np.linspace(cx - rx, cx + rx, 7):
        for v in np.linspace(cy - ry, cy + ry, 7):
            val = float(f(float(u), float(v)))
            assert F.a <= val <= F.b, (text, u, v, val, F)


def test_even_powers_and_whole_line():
    x = sympy.Symbol("x", real=True)
    assert I.evaluate(x ** 2, {x: I.interval(-1, 2)}) == I.interval(0, 4)
    W = I.WHOLE
    v = I.evaluate(sympy.exp(x) + sympy.exp(-x), {x: W})
    assert v.a >= 0 and v.b == math.inf
    assert I.evaluate(-1 / x ** 2, {x: W}).b <= 0          # u = 0 is outside the natural domain
    assert I.evaluate(1 / x, {x: I.interval(-1, 1)}) == I.WHOLE   # a pole inside: no enclosure
    assert I.evaluate(sympy.tanh(x), {x: W}).a >= -1


def test_rationals_are_enclosed_outward():
    third = I.rational(sympy.Rational(1, 3))
    assert third.a < sympy.Rational(1, 3) < third.b


def test_unknown_symbol_gives_whole_line():
    x, y = sympy.symbols("x y", real=True)
    assert I.evaluate(x + y, {x: I.interval(0, 1)}) == I.WHOLE
