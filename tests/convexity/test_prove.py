"""Proof building blocks against exact math: PSD checks, root counting, eigenvalue bounds, composition traces."""
import numpy as np
import pytest
import sympy

from losslens.convexity import _interval as I
from losslens.convexity.prove import (composition_curvature, exact_modulus, exact_psd,
                                      lambda_min_lower, prove_interval_hessian, sign_of)
from losslens.convexity.prove.hessian_sign import _poly_nonneg
from losslens.convexity.region import Region
from losslens.expr import parse


def test_exact_psd_and_modulus():
    assert exact_psd(sympy.Matrix([[2, 1], [1, 2]])) is True
    assert exact_psd(sympy.Matrix([[1, 2], [2, 1]])) is False
    assert exact_psd(sympy.Matrix([[1, 1], [1, 1]])) is True          # singular PSD
    mu = exact_modulus(sympy.Matrix([[4, -2], [-2, 2]]))
    assert 0 < mu <= 3 - 5 ** 0.5 and float(mu) == pytest.approx(3 - 5 ** 0.5, rel=1e-6)
    assert exact_modulus(sympy.Matrix([[1, 1], [1, 1]])) is None


def test_univariate_polynomial_sign_by_root_counting():
    x = sympy.Symbol("x", real=True)
    assert _poly_nonneg(12 * x ** 2 + 2, x) is True
    assert _poly_nonneg(12 * x ** 2 - 2, x) is False
    assert _poly_nonneg((x - 1) ** 2 * (x + 2) ** 4, x) is True        # double roots: no sign change
    assert _poly_nonneg(x ** 3, x, (0.0, 2.0)) is True
    assert _poly_nonneg(x ** 3, x) is False


def test_sign_rules():
    x, y = sympy.symbols("x y", real=True)
    assert sign_of(sympy.exp(x) + sympy.exp(-x)) == "+"
    assert sign_of(x ** 2 * y ** 4 + 3) == "+"
    assert sign_of(-(x - y) ** 2) == "0-"
    assert sign_of(x * y) is None


@pytest.mark.parametrize("M", [np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2],
                                                                          [0.1, 0.2, 3.0]])])
def test_lambda_min_lower_is_below_the_true_minimum(M):
    rad = 0.01
    Mi = [[I.interval(v - rad, v + rad) for v in row] for row in M]
    lb = lambda_min_lower(Mi)
    # every symmetric matrix within the radii has λ_min >= lb; check the centre and random corners
    rng = np.random.default_rng(0)
    for _ in range(200):
        E = rng.uniform(-rad, rad, M.shape)
        E = (E + E.T) / 2
        assert np.linalg.eigvalsh(M + E)[0] >= lb - 1e-12
    assert lb > np.linalg.eigvalsh(M)[0] - 0.1


def test_interval_hessian_certificate_is_checkable():
    e = parse("x^4 - x^2")
    H = sympy.hessian(e.sympy, e.symbols)
    region = Region(e.symbols, None, ())
    out = prove_interval_hessian(H, region, [0.5], [2.0])
    assert out.proof is not None and out.proof.strength == "strongly_convex"
    # each leaf bound is at most the true minimum of f'' = 12x^2 - 2 on the leaf
    for leaf in out.proof.boxes:
        lo = leaf["lo"][0]
        assert leaf["lambda_min_lower"] <= 12 * lo ** 2 - 2 + 1e-12
    covered = sorted((b["lo"][0], b["hi"][0]) for b in out.proof.boxes)
    assert covered[0][0] == 0.5 and covered[-1][1] == 2.0
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))
    fail = prove_interval_hessian(H, region, [-1.0], [1.0])
    assert fail.proof is None and fail.negative_point is not None and abs(fail.negative_point[0]) < 6 ** -0.5


def test_composition_trace_names_the_rules():
    e = parse("log(exp(x) + exp(y)) + exp(x^2 + 1)")
    curv, trace = composition_curvature(e.sympy, Region(e.symbols, None, ()))
    assert curv == "convex"
    assert any("log-sum-exp" in t for t in trace) and any("exp(g)" in t for t in trace)
    e = parse("exp(-x^2)")
    assert composition_curvature(e.sympy, Region(e.symbols, None, ()))[0] == "unknown"


@pytest.mark.parametrize("text, box, strength", [
    ("(x+1)^4 - x^4 - 4*x^3 - 6*x^2", None, "convex"),           # = 4x + 1: f'' = 0 identically, unexpanded
    ("(x+1)^4/12 - x^4/12 - x^3/3 - x^2/2", (0.0, 1.0), "convex"),  # = x/3 + 1/12 on a box
    ("(x+1)^4 - x^4 - 4*x^3 - 5.999*x^2", None, "strictly_convex"),  # = 4x + 1 + x^2/1000: f'' = 1/500 > 0
])
def test_an_identically_zero_f2_is_affine_not_strictly_convex(text, box, strength):
    from losslens.convexity.prove import prove_symbolic_hessian
    from losslens.objective import Box

    e = parse(text)
    region = Region.of(e, None if box is None else Box((box[0],), (box[1],)))
    H = sympy.hessian(e.sympy, e.symbols)
    assert not H[0, 0].is_Number                                 # the zero is hidden until expanded
    assert (sympy.expand(H[0, 0]) == 0) == (strength == "convex")
    p = prove_symbolic_hessian(H, region)
    assert p is not None and p.strength == strength
