import pytest
import sympy
import torch

from losslens.optimize import kkt as K
from losslens.optimize.constraints import make_problem

T = lambda v: torch.tensor(v, dtype=torch.float64)


def test_residuals_by_hand():
    # f = x^2 + y^2, h = x + y - 1, g = -x <= 0; at x = (0.6, 0.5): ∇f = (1.2, 1.0)
    p = make_problem("x^2 + y^2", ["x + y = 1", "x >= 0"])
    r = K.residuals(p, T([0.6, 0.5]), T([-1.0, -0.1]), 1e-8)
    # stationarity: (1.2 - 1 + 0.1, 1.0 - 1) = (0.3, 0); primal |h| = 0.1; dual 0.1;
    # comp max(|λ h|, |μ g|) = max(|(-1)(0.1)|, |(-0.1)(-0.6)|) = 0.1
    assert r.stationarity == pytest.approx(0.3) and r.primal_feasibility == pytest.approx(0.1)
    assert r.dual_feasibility == pytest.approx(0.1) and r.complementary_slackness == pytest.approx(0.1)
    # the equality's term alone: λ = -3 at x = (0.5, 0.49), h = -0.01, μ = 0: |λ h| = 0.03
    assert K.residuals(p, T([0.5, 0.49]), T([-3.0, 0.0]), 1e-8).complementary_slackness == pytest.approx(0.03)
    assert not r.satisfied and r.max == pytest.approx(0.3)
    assert [row[0] for row in r.rows()] == list(K.CONDITIONS)
    ok = K.residuals(p, T([0.5, 0.5]), T([-1.0, 0.0]), 1e-12)
    assert ok.satisfied and ok.to_dict()["satisfied"]


def test_multiplier_estimate_is_exact_on_known_kkt_point():
    # min x + y on x^2 + y^2 <= 2 at (-1, -1): μ = 1/2
    p = make_problem("x + y", ["x^2 + y^2 <= 2", "x <= 5"])
    x = T([-1.0, -1.0])
    act = K.active_mask(p, x, torch.zeros(2, dtype=torch.float64), 1e-8)
    assert act.tolist() == [True, False]
    assert K.estimate_multipliers(p, x, act).tolist() == pytest.approx([0.5, 0.0], abs=1e-12)


def test_lagrangian_symbols():
    p = make_problem("x*y", ["x + y = 1", "x^2 <= 4", "y >= 0"])
    L, syms = K.lagrangian(p)
    x, y = p.symbols
    lam1, mu1, mu2 = syms
    assert [str(s) for s in syms] == ["lambda1", "mu1", "mu2"]
    assert sympy.expand(L - (x * y + lam1 * (x + y - 1) + mu1 * (x ** 2 - 4) + mu2 * (-y))) == 0


@pytest.mark.parametrize("objective, constraints, convex", [
    ("x^2 + y^2 - x*y", ["x + y = 1"], True),
    ("x + y", ["x^2 + y^2 <= 2"], True),
    ("x^2 - y^2", [], False),
    ("x^2", ["x^2 + y^2 = 1"], False),           # nonlinear equality: the set is a circle
    ("x^2", ["x^2 + y^2 >= 1"], False),          # concave constraint function
    ("exp(x) + y^2", ["x + y >= 1"], True),       # proved by the convexity checker
    ("x^4", ["abs(x) <= 1"], True),
    ("sin(x)", [], False),
    ("x^2", ["log(1 + x^2) <= 1"], False),        # not convex on the whole space
])
def test_prove_convex_is_exact_and_conservative(objective, constraints, convex):
    ok, why = K.prove_convex(make_problem(objective, constraints))
    assert ok == convex and why


def test_second_order_cases():
    p = make_problem("-(x^2) + y^2", ["y = 0"])
    so = K.second_order(p, T([0.0, 0.0]), T([0.0]), T([True]).bool(), 1e-8)
    assert so.verdict == "violated" and so.eigenvalues.tolist() == pytest.approx([-2.0])
    p = make_problem("x^2 + y^2", ["x + y = 1"])
    so = K.second_order(p, T([0.5, 0.5]), T([-1.0]), T([True]).bool(), 1e-8)
    assert so.verdict == "sufficient" and so.eigenvalues.tolist() == pytest.approx([2.0])
    # active inequality with zero multiplier: degenerate, cannot decide
    p = make_problem("x^2 + y^2", ["x >= 0"])
    so = K.second_order(p, T([0.0, 0.0]), T([0.0]), T([True]).bool(), 1e-8)
    assert so.verdict == "unknown" and "degenerate" in so.reason
    # the active constraints fix the point
    p = make_problem("x + y", ["x = 0", "y = 0"])
    assert K.second_order(p, T([0.0, 0.0]), T([-1.0, -1.0]), T([True, True]).bool(), 1e-8).verdict == "sufficient"


@pytest.mark.parametrize("objective, constraints, at, nu, verdict", [
    # -x^2 on x >= 0: x = 0 is a KKT point (f' = 0, μ = 0), f falls along x > 0 (f(t) = -t^2): not a minimum
    ("-(x^2)", ["x >= 0"], [0.0], [0.0], "unknown"),
    # -x^2 - y^2 on x >= 0, y >= 0: the two active rows fix x, both with μ = 0; f(t, t) = -2t^2 < 0
    ("-(x^2) - y^2", ["x >= 0", "y >= 0"], [0.0, 0.0], [0.0, 0.0], "unknown"),
    # the same corner with positive multipliers: x + y on x, y >= 0 has μ = (1, 1) and the corner is the minimum
    ("x + y", ["x >= 0", "y >= 0"], [0.0, 0.0], [1.0, 1.0], "sufficient"),
])
def test_active_rows_with_zero_multipliers_do_not_fix_the_point(objective, constraints, at, nu, verdict):
    p = make_problem(objective, constraints)
    assert K.residuals(p, T(at), T(nu), 1e-12).satisfied
    so = K.second_order(p, T(at), T(nu), T([True] * len(nu)).bool(), 1e-8)
    assert so.verdict == verdict and (verdict == "sufficient" or "zero multiplier" in so.reason)


def test_concave_objective_on_a_halfline_is_not_a_local_minimum():
    from losslens import solve_constrained

    r = solve_constrained("-x^2", ["x >= 0"])
    assert r.verdict != "local_min" and not r.optimality_proved


def test_a_vanishing_constraint_gradient_does_not_make_a_kkt_point():
    """min x s.t. x^2 = 0: the only feasible point is 0, where ∇h = 0 and no multiplier exists (LICQ fails).
    At x = -6e-5, λ = 1/(2·6e-5) stationarity is exact and |h| = 3.6e-9 < tol, but |λ h| = 3e-5."""
    from losslens import solve_constrained

    p = make_problem("x", ["x^2 = 0"])
    x = -6e-5
    r = K.residuals(p, T([x]), T([-1 / (2 * x)]), 1e-8)
    assert r.stationarity < 1e-12 and r.primal_feasibility < 1e-8 and r.dual_feasibility == 0
    assert r.complementary_slackness == pytest.approx(3e-5) and not r.satisfied
    out = solve_constrained("x", ["x^2 = 0"])
    assert out.verdict not in ("optimal", "local_min", "kkt_point") or abs(out.value) <= 1e-8


@pytest.mark.parametrize("objective, constraints, at, nu, gap", [
    ("(x-1)^2", [], [1.001], [], 1e-6),                 # a quadratic: the gap is f(x) − min f exactly
    # on the line x + y = 3 through the minimum (1, 2): f(1.001, 1.999) − f(1, 2) = 2e-6, ∇L along the line
    ("(x-1)^2 + (y-2)^2", ["x + y = 3"], [1.001, 1.999], [0.0], 2e-6),
    # on x + y = 4 the minimum is (1.5, 2.5), f = 0.5; f(1.6, 2.4) = 0.52, and ∇L = (0.2, −0.2) with λ = −1
    ("(x-1)^2 + (y-2)^2", ["x + y = 4"], [1.6, 2.4], [-1.0], 0.02),
    ("x + y", ["x + y >= 1"], [0.7, 0.3], [1.0], 0.0),  # a linear program: flat along the edge, ∇L = 0
    ("x", [], [0.0], [], 1.0),                           # flat and sloped: |f'| · max(1, |x|)
])
def test_decrement_gap_against_closed_forms(objective, constraints, at, nu, gap):
    p = make_problem(objective, constraints)
    active = T([True] * len(nu)).bool() if nu else torch.zeros(0, dtype=torch.bool)
    assert K.decrement_gap(p, T(at), T(nu), active) == pytest.approx(gap, abs=1e-15)


def test_a_convex_function_whose_infimum_is_not_attained_is_not_optimal():
    """f = √(1+x²) − x is strictly convex, f > 0 everywhere and f → 0 as x → ∞: no minimiser. The solver stops
    where |f'| < tol (x ≈ 23000, f ≈ 2e-5), a KKT point to tol that is not a global minimum."""
    from losslens import solve_constrained

    r = solve_constrained("sqrt(1+x^2)-x", [])
    assert r.value > 1e-6 and r.kkt.satisfied
    assert r.verdict == "kkt_point" and not r.optimality_proved and "not shown to be attained" in r.reason
    ok = solve_constrained("sqrt(1+x^2)-x", ["x <= 10"])      # attained at the bound: f(10) = √101 − 10
    assert ok.verdict == "optimal" and ok.value == pytest.approx(101 ** 0.5 - 10, abs=1e-9)
