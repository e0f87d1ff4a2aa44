"""Witnesses are only reported once the interval check proves them; non-violations are never accepted."""
import sympy

from losslens.catalog import resolve
from losslens.convexity.refute import search_jensen, verify_jensen, verify_negative_curvature
from losslens.convexity.region import Region


def _setup(text, box=None):
    obj = resolve(text)
    return obj, obj.expression.sympy, Region.of(obj.expression, box)


def test_verify_accepts_only_true_violations():
    _, f, region = _setup("x^3")
    assert verify_jensen(f, region, [-1.0], [0.0], 0.5) is not None     # f(-0.5) = -0.125 > -0.5
    assert verify_jensen(f, region, [0.0], [1.0], 0.5) is None          # convex on [0, 1]
    _, f, region = _setup("x^2")
    assert verify_jensen(f, region, [1.0], [1.0 + 1e-12], 0.5) is None  # a tiny exact gap of the wrong sign
    assert verify_jensen(f, region, [-1.0], [1.0], 1.0) is None         # λ must be in (0, 1)


def test_segment_must_stay_in_the_domain():
    _, f, region = _setup("1/x")
    assert verify_jensen(f, region, [-1.0], [1.0], 0.5) is None         # the segment crosses the pole


def test_no_witness_for_convex_functions():
    for text in ("x^4 + x^2", "log(1 + exp(x)) + y^2", "sqrt(x^2 + y^2)", "max(x, y, -x)"):
        obj, f, region = _setup(text)
        assert search_jensen(obj, f, region, seed=3) is None


def test_concavity_witness_and_negative_curvature():
    obj, f, region = _setup("x^2 - y^2")
    w = search_jensen(obj, f, region, sign=-1)
    assert w is not None and w.sign == -1 and w.gap > 0
    H = sympy.hessian(f, region.symbols)
    assert verify_negative_curvature(H, region, [0.3, 0.1], [0.0, 1.0]) == -2.0
    assert verify_negative_curvature(H, region, [0.3, 0.1], [1.0, 0.0]) is None
