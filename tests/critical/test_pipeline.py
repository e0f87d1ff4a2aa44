"""Critical points against exact math: resultants, closed forms, linear solves and eigendecompositions."""
import math

import mpmath
import numpy as np
import pytest
import sympy
import torch

from losslens import FunctionObjective, InputError, parse
from losslens.catalog import CATALOG
from losslens.critical import KINDS, find_critical_points, krawczyk, sobol_starts, symbolic_form
from losslens.interval import interval
from losslens.objective import Box

x, y = sympy.symbols("x y", real=True)


def real_roots_in(poly_expr, var, lo, hi):
    """Real roots of a polynomial in [lo, hi] to 30 digits (sympy's exact real-root isolation, then refinement)."""
    roots = sympy.Poly(poly_expr, var).real_roots()
    return sorted(float(sympy.N(r, 30)) for r in roots if lo <= float(sympy.N(r, 30)) <= hi)


@pytest.fixture(scope="module")
def himmelblau():
    return find_critical_points(parse("himmelblau"), time_budget=60)   # stops once proved (about 2 s)


def test_himmelblau_nine_points_at_the_exact_coordinates(himmelblau):
    r = himmelblau
    assert r.counts == {"min": 4, "max": 1, "saddle": 4, "degenerate": 0, "nonsmooth": 0}
    f = sympy.sympify("(x^2 + y - 11)^2 + (x + y^2 - 7)^2".replace("^", "**"), locals={"x": x, "y": y})
    gx, gy = sympy.diff(f, x), sympy.diff(f, y)
    # the critical points' coordinates are the real roots of the resultants (exact elimination)
    ys = real_roots_in(sympy.resultant(gx, gy, x), y, -5, 5)
    xs = real_roots_in(sympy.resultant(gx, gy, y), x, -5, 5)
    assert len(ys) == len(xs) == 9
    for p in r.points:
        assert min(abs(p.point[0] - v) for v in xs) < 1e-10
        assert min(abs(p.point[1] - v) for v in ys) < 1e-10
        assert p.certified and p.residual < 1e-30
    for m in CATALOG["himmelblau"].minima:
        assert any(math.dist(m, p.point) < 1e-10 for p in r.of_kind("min"))
    # kinds from the exact Hessian's eigenvalues at each point
    H = sympy.hessian(f, (x, y))
    for p in r.points:
        ev = np.linalg.eigvalsh(np.array(H.subs({x: p.point[0], y: p.point[1]}).evalf(30), dtype=float))
        want = "min" if ev.min() > 0 else "max" if ev.max() < 0 else "saddle"
        assert p.kind == want
        assert np.allclose(ev, p.eigenvalues, rtol=1e-9, atol=1e-9)


def test_himmelblau_completeness_and_global_minimum(himmelblau):
    r = himmelblau
    assert r.complete and r.completeness["boxes"] > 0
    gm = r.global_minimum
    assert gm.certified and gm.value <= 1e-20 and gm.lower_bound <= gm.value and gm.where == "interior"
    assert any(math.dist(gm.point, m) < 1e-8 for m in CATALOG["himmelblau"].minima)
    d = r.to_dict()
    assert d["counts"]["min"] == 4 and len(d["points"]) == 9 and d["global_minimum"]["certified"] is True


def test_x_cos_pi_x_local_versus_global_minimum():
    r = find_critical_points(parse("x*cos(pi*x)", box="-1:2"), time_budget=30)
    df = lambda t: mpmath.cos(mpmath.pi * t) - mpmath.pi * t * mpmath.sin(mpmath.pi * t)
    with mpmath.workdps(40):
        # bracketing roots of f' (sign changes on a grid, then bisection-type refinement)
        grid = np.linspace(-1, 2, 301)
        roots = [float(mpmath.findroot(df, (a, b), solver="anderson"))
                 for a, b in zip(grid[:-1], grid[1:]) if df(a) * df(b) < 0]
    assert len(roots) == 3 and r.complete
    assert sorted(p.point[0] for p in r.points) == pytest.approx(sorted(roots), abs=1e-10)
    kinds = {round(p.point[0], 3): p.kind for p in r.points}
    assert kinds == {-0.274: "min", 0.274: "max", 1.09: "min"}
    gm = r.global_minimum
    assert gm.certified and gm.point[0] == pytest.approx(roots[2], abs=1e-10)
    assert gm.value == pytest.approx(roots[2] * math.cos(math.pi * roots[2]), abs=1e-12)
    local = [p for p in r.of_kind("min") if abs(p.point[0] - roots[0]) < 1e-8][0]
    assert local.value > gm.value + 0.5              # the local minimum is not the global one


def test_saddle_x2_minus_y2():
    r = find_critical_points(parse("saddle"), time_budget=30)
    assert len(r.points) == 1 and r.complete
    p = r.points[0]
    assert p.kind == "saddle" and max(map(abs, p.point)) < 1e-10 and p.certified
    assert sorted(p.eigenvalues) == pytest.approx([-2, 2], abs=1e-12)
    gm = r.global_minimum
    assert gm.certified and gm.value == pytest.approx(-1) and gm.where == "boundary"
    assert abs(gm.point[0]) < 1e-6 and abs(abs(gm.point[1]) - 1) < 1e-12


@pytest.mark.parametrize("expr, kind, order", [("x^3", "saddle", 3), ("x^4", "min", 4), ("-x^6", "max", 6)])
def test_degenerate_one_d_points_decided_by_the_first_nonzero_derivative(expr, kind, order):
    r = find_critical_points(parse(expr, box="-1:2"), time_budget=2)
    assert len(r.points) == 1
    p = r.points[0]
    assert abs(p.point[0]) < 1e-10 and p.second_order == "degenerate" and p.kind == kind
    assert p.evidence["order"] == order and p.evidence["derivative"] == pytest.approx(math.factorial(order) * (1 if kind != "max" else -1))
    assert not p.certified                       # interval Newton cannot isolate a zero with a singular Hessian
    assert not r.complete and "singular Hessian" in r.completeness["reason"]


def test_monkey_saddle_is_degenerate_with_witnesses_on_both_sides():
    r = find_critical_points(parse("monkey-saddle"), time_budget=1)
    assert len(r.points) == 1 and r.points[0].kind == "degenerate"
    ev = r.points[0].evidence
    assert ev["behaves_like"] == "saddle"
    f = lambda q: q[0] ** 3 - 3 * q[0] * q[1] ** 2
    for row in ev["radii"]:
        assert f(row["lower"]) < 0 < f(row["higher"])     # re-checked witnesses: lower and higher than f(0) = 0


@pytest.mark.parametrize("seed, n", [(0, 2), (1, 3), (2, 3), (3, 2)])
def test_random_quadratic_is_a_linear_solve_and_an_eigendecomposition(seed, n):
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    lam = rng.choice([-1, 1], size=n) * rng.uniform(0.5, 3, size=n)
    A = np.round(Q @ np.diag(lam) @ Q.T, 3)
    A = (A + A.T) / 2
    b = np.round(rng.normal(size=n), 3)
    names = ["x", "y", "z"][:n]
    terms = [f"{float(A[i, j]) / 2!r}*{names[i]}*{names[j]}" for i in range(n) for j in range(n)]
    terms += [f"{float(b[i])!r}*{names[i]}" for i in range(n)]
    xs = np.linalg.solve(A, -b)
    half = math.ceil(float(np.abs(xs).max())) + 1             # a box that holds the stationary point, every draw
    obj = parse(" + ".join(terms), vars=names, box=f"{-half}:{half}")
    r = find_critical_points(obj, time_budget=30)
    assert len(r.points) == 1 and r.complete
    p = r.points[0]
    assert np.allclose(p.point, xs, atol=1e-10)
    ev = np.linalg.eigvalsh(A)
    assert np.allclose(p.eigenvalues, ev, atol=1e-9)
    assert p.kind == ("min" if ev.min() > 0 else "max" if ev.max() < 0 else "saddle")


def test_rosenbrock_single_minimum():
    # a work budget too small for the completeness proof (it needs about 1800 sub-boxes): the time budget is only
    # the safety net, so the outcome is the same on any machine
    r = find_critical_points(parse("rosenbrock"), time_budget=60, max_boxes=300)
    assert [p.kind for p in r.points] == ["min"]
    assert r.points[0].point == pytest.approx((1.0, 1.0), abs=1e-10) and r.points[0].certified
    assert r.global_minimum.certified and abs(r.global_minimum.value) < 1e-9
    assert not r.complete                                              # never a claim that was not shown
    assert r.completeness["stopped_by"] == "work" and r.completeness["boxes"] == 300
    assert "work budget of 300 sub-boxes" in r.completeness["reason"]


@pytest.mark.slow
def test_rosenbrock_completeness_is_proved_with_enough_time():
    r = find_critical_points(parse("rosenbrock"), time_budget=120)
    assert r.complete and len(r.points) == 1 and r.completeness["boxes"] > 1


def test_no_critical_point_in_the_box_is_an_empty_complete_result():
    r = find_critical_points(parse("x + 2*y", box="-1:1"), time_budget=30)
    assert r.points == () and r.complete and r.counts == dict.fromkeys(KINDS, 0)
    assert r.global_minimum.certified and r.global_minimum.value == pytest.approx(-3)
    assert r.global_minimum.where == "boundary"


def test_undefined_parts_are_skipped_and_reported():
    r = find_critical_points(parse("x - log(x)", box="-1:3"), time_budget=2)
    assert [p.kind for p in r.points] == ["min"] and r.points[0].point[0] == pytest.approx(1, abs=1e-12)
    assert r.undefined["starts_not_finite"] > 0 and r.undefined["box_fraction_undefined"] > 0
    assert r.global_minimum.value == pytest.approx(1) and r.global_minimum.lower_bound <= 1


def test_nowhere_defined_is_an_honest_empty_result():
    r = find_critical_points(parse("log(-x^2 - 1)", box="-1:1"), time_budget=1)
    assert r.points == () and r.global_minimum is None
    assert r.undefined["starts_not_finite"] == r.starts


def test_many_variables_still_find_points_but_do_not_claim_completeness():
    obj = parse("x1^2 + x2^2 - x3^2 + x4^2", box="-1:1")
    r = find_critical_points(obj, starts=64, time_budget=1)
    assert len(r.points) == 1 and r.points[0].kind == "saddle"
    assert not r.complete and "n <= 3" in r.completeness["reason"]


def test_function_objective_without_symbolic_form_is_not_certified():
    obj = FunctionObjective(lambda v: (v[0] ** 2 - 1) ** 2 + v[1] ** 2, n=2, box=Box((-2, -2), (2, 2)))
    r = find_critical_points(obj, time_budget=1)
    assert sorted(p.kind for p in r.points) == ["min", "min", "saddle"]
    assert not r.complete and "symbolic" in r.completeness["reason"]
    assert all(not p.certified for p in r.points)


def test_krawczyk_proves_one_zero_and_excludes_boxes():
    sym = symbolic_form(parse("x^2 - 2", box="0:2"))      # gradient 2x: one zero at 0
    assert krawczyk(sym, [interval(-0.5, 0.4)]) == "unique"
    assert krawczyk(sym, [interval(0.5, 1.0)]) == "none"


def test_same_seed_same_points():
    a = find_critical_points(parse("local-minima"), seed=3, prove=False)
    b = find_critical_points(parse("local-minima"), seed=3, prove=False)
    assert len(a.points) == 3 and not a.complete and "switched off" in a.completeness["reason"]
    assert [p.point for p in a.points] == [p.point for p in b.points]
    assert torch.equal(sobol_starts(Box((0,), (1,)), 8, 1), sobol_starts(Box((0,), (1,)), 8, 1))


@pytest.mark.parametrize("kwargs, match", [
    ({"box": "-1:1,0:1,2:3"}, "box has 3 lo:hi parts"),
    ({"box": "1:1"}, "must have lo < hi"),
    ({"box": "-inf:1"}, "must be finite"),
    ({"box": "a:b"}, "must be two numbers"),
    ({"box": [(0, 1, 2)]}, "must be a Box"),
    ({"starts": 0}, "starts == 0"),
    ({"time_budget": 0}, "time_budget == 0"),
    ({"epsilon": -1}, "epsilon == -1"),
    ({"seed": -1}, "seed == -1"),
    ({"merge_radius": 0}, "merge_radius == 0"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        find_critical_points(parse("x^2 - y^2", box="-1:1"), **kwargs)


def test_bad_objective_and_missing_box():
    with pytest.raises(InputError, match="must be a losslens Objective"):
        find_critical_points("x^2", "-1:1")
    with pytest.raises(InputError, match="box is missing"):
        find_critical_points(parse("x^2 + y"))


def test_a_minimum_on_a_kink_is_listed_as_nonsmooth_and_found_as_the_global_minimum():
    # |x| + x² has its minimum 0 at the kink x = 0, where ∇f does not exist (autograd's Hessian there is 2)
    r = find_critical_points(parse("abs(x) + x^2"), "-2:2", seed=0)
    at_zero = [p for p in r.points if abs(p.point[0]) < 1e-8]
    assert [p.kind for p in at_zero] == ["nonsmooth"] and r.counts["nonsmooth"] == 1 and r.counts["min"] == 0
    assert r.global_minimum.value == pytest.approx(0.0, abs=1e-6) and abs(r.global_minimum.point[0]) < 1e-6
    assert not r.complete and "kink of abs(x)" in r.completeness["reason"]
    smooth = find_critical_points(parse("x^4"), "-2:2", seed=0)        # a flat zero, no kink: the other reason
    assert not smooth.complete and "singular Hessian" in smooth.completeness["reason"]


def test_relu_and_max_derivatives_evaluate_in_mpmath():
    # their symbolic derivatives hold Heaviside and DiracDelta, which refinement evaluates by branch
    r = find_critical_points(parse("relu(x) + x^2"), "-2:2", seed=0)
    assert [p.kind for p in r.points] == ["nonsmooth"] and abs(r.points[0].point[0]) < 1e-8
    m = find_critical_points(parse("max(sin(x), cos(x))"), "-2:2", seed=0)
    assert sorted(round(p.point[0], 9) for p in m.points if p.kind == "max") == [0.0, round(math.pi / 2, 9)]
    assert not m.complete and "kink of max(sin(x), cos(x))" in m.completeness["reason"]


@pytest.mark.parametrize("expr, zero, kind", [("x^8", 0.0, "min"), ("x^7", 0.0, "saddle"), ("1e-12*x^2", 0.0, "min"),
                                              ("1e-12*(x-0.25)^2", 0.25, "min")])
def test_points_where_the_gradient_is_tiny_but_not_zero_are_not_reported(expr, zero, kind):
    """f' has one zero in [-1, 1] (sympy), yet float64 calls every point with |f'| < 1.5e-8 critical: x^8 near 0
    (|8x^7| < 1e-13 for |x| < 0.01), 1e-12 x^2 everywhere. Only the exact zero may be reported, with its kind."""
    f = sympy.sympify(expr.replace("^", "**"), locals={"x": x})
    assert [float(r) for r in sympy.solve(sympy.diff(f, x), x)] == [zero]
    r = find_critical_points(parse(expr), "-1:1", time_budget=5)
    assert [(p.point[0], p.kind) for p in r.points] == [(pytest.approx(zero, abs=1e-12), kind)]
    assert all(abs(float(sympy.diff(f, x).subs(x, p.point[0]))) < 1e-30 for p in r.points)


def test_a_far_refinement_is_kept_only_when_it_reached_a_zero():
    """The refined point replaces a candidate far from it only when ‖g‖ fell by 20 orders of magnitude."""
    from losslens.critical.examine import converged

    sym = symbolic_form(parse("x^8"))
    assert converged(sym, [0.006], 0.0) and converged(sym, [0.006], 1e-40)
    assert not converged(sym, [0.006], 1e-30)     # ‖g(0.006)‖ = 2.2e-15: 15 orders only


def test_refinement_keeps_its_last_step_at_tiny_scales():
    """Newton on 2x = 0 from x = -9.8e-301 lands on the zero in one step of length 9.8e-301 (below the 1e-45
    step test): that step is kept, not the start."""
    from losslens.critical import refine

    point, residual = refine(symbolic_form(parse("x^2")), [-9.8e-301])
    assert point == [0] and residual == 0.0


@pytest.mark.parametrize("expr, box, zero", [
    ("x^2", "-1e-300:1e-300", (0.0,)),                               # 128 copies of 'min' at -9.8e-301, ...
    ("(x-1e-300)^2 + (y+1e-300)^2", "-1e-299:1e-299", (1e-300, -1e-300)),   # ZeroDivisionError: volume 4e-598 = 0
    ("x^2", "-1e300:1e300", (0.0,)),                                 # every start overflows: no global minimum
])
def test_boxes_near_the_ends_of_the_float_range(expr, box, zero):
    r = find_critical_points(parse(expr), box, time_budget=5)
    assert [p.point for p in r.points] == [zero] and r.points[0].kind == "min"
    gm = r.global_minimum
    assert gm is not None and gm.certified and gm.value == 0.0 and gm.lower_bound == 0.0   # min f = 0 (f >= 0)


@pytest.mark.parametrize("expr", ["x^2 + 1e8*y^2", "x^2 - 1e8*y^2", "1e8*x^2 - y^2", "1e-12*(x^2 + y^2)",
                                  "1e-12*(x^2 - y^2)", "-(x^2) - 1e9*y^2 + 0.5*x*y"])
def test_badly_scaled_nondegenerate_points_get_their_exact_kind(expr):
    """Quadratics: one critical point, (0, 0), with the constant Hessian H. float64 calls it degenerate (an
    eigenvalue below 1.5e-8 · max|λ| or below 1.5e-8); sympy's exact eigenvalues of H decide."""
    f = sympy.sympify(expr.replace("^", "**"), locals={"x": x, "y": y})
    ev = [float(v) for v in sympy.hessian(f, (x, y)).eigenvals(multiple=True)]
    want = "min" if min(ev) > 0 else "max" if max(ev) < 0 else "saddle"
    r = find_critical_points(parse(expr), "-1:1", time_budget=5)
    assert [p.point for p in r.points] == [(0.0, 0.0)]
    p = r.points[0]
    assert p.second_order == "degenerate" and p.certified and p.kind == want
    assert p.evidence["test"] == "certified second-order test"
    assert p.evidence["eigenvalues"] == pytest.approx(sorted(ev), rel=1e-12)


@pytest.mark.parametrize("expr", ["x^3 - 3*x*y^2", "x^2 + y^4", "x^2*y^2"])
def test_truly_degenerate_points_are_not_certified_nor_decided(expr):
    """Zeros of ∇f with a singular Hessian (exactly, by sympy: x^2*y^2 has a cross of them) have no Krawczyk
    certificate, so they stay degenerate."""
    f = sympy.sympify(expr.replace("^", "**"), locals={"x": x, "y": y})
    points = find_critical_points(parse(expr), "-1:1", time_budget=2).points
    assert points
    for p in points:
        assert abs(sympy.hessian(f, (x, y)).subs({x: p.point[0], y: p.point[1]}).det()) < 1e-20
        assert not p.certified and p.kind == "degenerate" and p.evidence["test"] == "nearby witnesses"


def test_past_the_point_budget_the_lowest_points_are_examined():
    """Rastrigin on [-5.12, 5.12]²: 11² minima alone (cos(2πx) = 1 near the integers) exceed the 128 points
    examined; its global minimum f(0, 0) = 0 must be among them, and every point left out is higher than all shown."""
    from losslens.critical import MAX_POINTS

    r = find_critical_points(parse("rastrigin"), time_budget=2)
    assert len(r.points) <= MAX_POINTS and r.completeness["stopped_by"] == "work" and not r.complete
    assert r.points[0].point == (0.0, 0.0) and r.points[0].value == 0.0 and r.points[0].kind == "min"
    assert "more critical points than that, or a continuum" in r.completeness["reason"]


@pytest.mark.parametrize("expr, box, zero", [
    ("sqrt(x^2 + 1e-8)", "-1:1", (0.0,)),              # the bisection point 0 is the zero; Newton overshoots it
    ("sqrt(x^2 + 1e-12)", "-1:1", (0.0,)),
    ("sqrt(x^2 + 1e-8) + sqrt(y^2 + 1e-8)", "-1:1", (0.0, 0.0)),
])
def test_a_sharp_minimum_on_a_bisection_point_is_found_and_completeness_proved(expr, box, zero):
    """f' = x/√(x² + ε) vanishes only at 0, where f'' = 1/√ε > 0 (sympy): one strict minimum. Multistart Newton
    overshoots it (steps of x(x² + ε)/ε), and the branch-and-bound's sub-boxes all have it on an edge."""
    syms = sympy.symbols("x y", real=True)[:len(zero)]
    f = sympy.sympify(expr.replace("^", "**"), locals=dict(zip(("x", "y"), syms)))
    sols = sympy.solve([sympy.diff(f, s) for s in syms], syms, dict=True)
    assert len(sols) == 1 and all(float(v) == 0 for v in sols[0].values()) and len(sols[0]) == len(syms)
    r = find_critical_points(parse(expr), box, time_budget=5)
    assert [(p.point, p.kind, p.certified) for p in r.points] == [(zero, "min", True)] and r.complete
