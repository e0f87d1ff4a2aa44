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


def exact_gap(f, syms, w):
    """The Jensen gap of sign*f at the witness's exact floats, in rationals (independent of the interval code)."""
    lam = sympy.Rational(w.lam)
    a, b = [sympy.Rational(v) for v in w.a], [sympy.Rational(v) for v in w.b]
    m = [lam * u + (1 - lam) * v for u, v in zip(a, b)]
    at = lambda p: f.subs(dict(zip(syms, p)))
    return w.sign * (at(m) - lam * at(a) - (1 - lam) * at(b))


def test_a_constant_hessian_with_a_tiny_negative_eigenvalue_gives_an_exact_witness():
    from losslens.convexity.refute import along_constant_hessian

    # H = diag(2, 2, -2e-13): a curvature far below what a float Hessian search trusts
    _, f, region = _setup("x^2 + y^2 - 1e-13*z^2")
    w = along_constant_hessian(sympy.hessian(f, region.symbols), f, region)
    assert w is not None and exact_gap(f, region.symbols, w) > 0
    # the same with + 1e-13: H ≻ 0, no witness
    _, g, region = _setup("x^2 + y^2 + 1e-13*z^2")
    assert along_constant_hessian(sympy.hessian(g, region.symbols), g, region) is None
    # not constant: not this rule's case
    _, h, region = _setup("x^4 - y^2")
    assert along_constant_hessian(sympy.hessian(h, region.symbols), h, region) is None


def test_a_thin_polynomial_dip_of_f2_gives_an_exact_witness():
    from losslens.convexity.refute import in_polynomial_dip

    # f'' = 30x^4 - 12e-6 x^2 < 0 exactly for 0 < |x| < sqrt(4e-7) ≈ 6.3e-4
    _, f, region = _setup("x^6 - 1e-6*x^4")
    w = in_polynomial_dip(f, region)
    x = region.symbols[0]
    assert w is not None and exact_gap(f, region.symbols, w) > 0
    assert all(0 < abs(v) < sympy.sqrt(sympy.Rational(4, 10 ** 7)) for v in (w.a[0], w.b[0]))
    assert sympy.diff(f, x, 2).subs(x, sympy.Rational(w.point[0])) < 0
    # + 1e-6 x^4: f'' >= 0 everywhere, no witness; on a box past the dip, none either
    _, g, region = _setup("x^6 + 1e-6*x^4")
    assert in_polynomial_dip(g, region) is None
    from losslens.objective import Box

    _, f, region = _setup("x^6 - 1e-6*x^4", Box.coerce("0.001:1", 1))
    assert in_polynomial_dip(f, region) is None
