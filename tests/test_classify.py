import pytest
import sympy

import torch

from losslens import AnalyticObjective, classify_point, parse
from losslens.classify import classify_points, kinks


@pytest.mark.parametrize("spec, point, kind", [
    ("quadratic", [0.0], "min"),
    ("-x^2 - 3*y^2", [0.0, 0.0], "max"),
    ("saddle", [0.0, 0.0], "saddle"),
    ("cubic", [0.0], "degenerate"),
    ("monkey-saddle", [0.0, 0.0], "degenerate"),
    ("x^2 - y^4", [0.0, 0.0], "degenerate"),
    ("x^2 - y^2 + z^4", [0.0, 0.0, 0.0], "saddle"),        # sign change decides despite a zero eigenvalue
    ("rosenbrock", [1.0, 1.0], "min"),
    ("rosenbrock", [0.0, 0.0], "not_critical"),
    ("himmelblau", [3.0, 2.0], "min"),
])
def test_kinds(spec, point, kind):
    assert classify_point(parse(spec), point).kind == kind


def test_not_finite_is_reported():
    r = classify_point(parse("log(x)"), [-1.0])
    assert r.kind == "not_finite" and r.to_dict()["value"] is None


def test_eigenvalues_and_tolerance_are_reported():
    r = classify_point(parse("ill-conditioned"), [0.0, 0.0])
    assert r.eigenvalues.tolist() == pytest.approx([0.2, 4.0], rel=1e-14)
    assert r.tol == pytest.approx(1.4901161193847656e-08)


def test_tolerance_scales_with_value():
    # 1e6 + x^2 at x=1e-3: |grad|=2e-3 > tol*1e6 = 1.5e-2? No: 2e-3 < 1.5e-2, so critical at float precision
    obj = AnalyticObjective("1e6 + x^2")
    assert classify_point(obj, [1e-3]).kind == "min"
    assert classify_point(obj, [1e-3], tol=1e-12).kind == "not_critical"


def test_classify_points_batch_matches_one_at_a_time():
    import torch
    from losslens.classify import classify_points
    obj = parse("(x^2 + y - 11)^2 + (x + y^2 - 7)^2")
    X = torch.tensor([[3.0, 2.0], [-0.270844590667, -0.923038556480], [0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    batch = classify_points(obj, X)
    for x, b in zip(X, batch):
        one = classify_point(obj, x)
        assert b.kind == one.kind and torch.allclose(b.hessian, one.hessian) and torch.allclose(b.eigenvalues, one.eigenvalues)
    assert classify_points(obj, torch.zeros(0, 2)) == []


# On a kink autograd returns one branch's derivatives, and the second-order test on them contradicts f itself:
# x² − |x| at 0 has Hessian +2 there but f(h) < f(0) (a maximum); |x| − x² has −2 but f(h) > f(0) (a minimum);
# x + |x| has slope 1 there but f(±h) >= f(0) (a minimum); relu(x) − x² has −2 but f(h) > f(0).
@pytest.mark.parametrize("spec, at, step, relation", [
    ("x^2 - abs(x)", [0.0], [1e-3], "<"),
    ("abs(x) - x^2", [0.0], [1e-3], ">"),
    ("x + abs(x)", [0.0], [-1e-3], ">="),
    ("relu(x) - x^2", [0.0], [1e-3], ">"),
    ("max(x, y) + x^2 + y^2", [-0.25, -0.25], [1e-3, 1e-3], ">"),
])
def test_a_kink_is_not_judged_by_one_branchs_derivatives(spec, at, step, relation):
    f = parse(spec)
    x, h = torch.tensor(at, dtype=torch.float64), torch.tensor(step, dtype=torch.float64)
    report = classify_point(f, at)
    assert report.kind == "nonsmooth" and "kink" in report.reason
    assert [r.kind for r in classify_points(f, [at])] == ["nonsmooth"]
    near, here = float(f.value(x + h)), float(f.value(x))
    assert {"<": near < here, ">": near > here, ">=": near >= here}[relation]


def test_off_the_kink_the_derivative_tests_apply():
    assert classify_point(parse("x^2 - abs(x)"), [0.5]).kind == "min"
    assert classify_point(parse("x^2 - abs(x)"), [1e-3]).kind == "not_critical"
    assert classify_point(parse("max(x, y) + x^2 + y^2"), [-0.25, -0.2]).kind == "not_critical"
    assert classify_point(parse("x^2 + y^2"), [0.0, 0.0]).kind == "min"              # no non-smooth term
    assert kinks(parse("abs(x - 1) + abs(y)"), torch.tensor([1.0, 0.0], dtype=torch.float64), 1e-8) == [
        "abs(y) (its argument is 0)", "abs(x - 1) (its argument is 0)"]
    assert kinks(parse("sqrt(x) + abs(x + 1)"), torch.tensor([-2.0], dtype=torch.float64), 1e-8) == []


@pytest.mark.parametrize("expr, point, gradient", [
    ("1e300*x^2 + 1e300*y^2", [1e-10, 0.0], [2e290, 0.0]),      # ‖g‖² = 4e580 overflows; ‖g‖ = 2e290 does not
    ("1e300*x^2 + 1e300*y^2", [3e-10, 4e-10], [6e290, 8e290]),   # ‖g‖ = 1e291
    ("1e300*(x^2 + y^2 + z^2)", [1e-10, 1e-10, 1e-10], [2e290, 2e290, 2e290]),
])
def test_a_finite_gradient_above_1e154_is_not_called_not_finite(expr, point, gradient):
    """f, ∇f = 2e300·x and ∇²f are all finite here: the point is simply not critical."""
    r = classify_point(parse(expr), point)
    assert r.gradient.tolist() == pytest.approx(gradient, rel=1e-15)
    exact = float(torch.tensor(gradient, dtype=torch.float64).div(1e280).norm()) * 1e280    # scaled by hand
    assert r.gradient_norm == pytest.approx(exact, rel=1e-15)
    assert r.kind == "not_critical" and "not finite" not in r.reason


def test_not_finite_reason_names_the_quantity_that_is_not_finite():
    # f = 1e300·x² at x = 1e5 overflows (1e310) while ∇f = 2e305 stays finite: the value is named, not the gradient
    r = classify_point(parse("1e300*x^2"), [1e5])
    assert r.kind == "not_finite" and "value is inf" in r.reason and "gradient" not in r.reason
    # f = 1e39 + sqrt(x) at 0: the value 1e39 is finite in float64 (not in float32); f' = 1/(2 sqrt(x)) is not
    r = classify_point(parse("1e39 + sqrt(x)"), [0.0])
    assert r.kind == "not_finite" and "gradient is" in r.reason and "value" not in r.reason


@pytest.mark.parametrize("expr, point, sign", [
    ("x^3", [4.8e-7], "positive"),          # f' = 6.9e-13 <= tol, f'' = 2.9e-6 > 0: yet x³ has no minimum
    ("-x^3", [4.8e-7], "negative"),         # and -x³ no maximum
    ("x^3 + y^2", [4.8e-7, 0.0], "positive"),
])
def test_positive_curvature_that_vanishes_ahead_is_not_a_minimum(expr, point, sign):
    """By calculus (sympy) the only zero of ∇f is the origin, where the Hessian is singular: no strict extremum."""
    xs = sympy.symbols("x y", real=True)[:len(point)]
    f = sympy.sympify(expr.replace("^", "**"), locals=dict(zip(("x", "y"), xs)))
    zeros = sympy.solve([sympy.diff(f, s) for s in xs], xs, dict=True)
    assert len(zeros) == 1 and sympy.hessian(f, xs).subs(zeros[0]).det() == 0
    r = classify_point(parse(expr), point)
    assert r.gradient_norm <= r.tol and r.kind == "degenerate" and f"all Hessian eigenvalues {sign}" in r.reason
    assert classify_point(parse("x^2 + x^3"), [1e-9]).kind == "min"      # f''(0) = 2: the curvature holds
