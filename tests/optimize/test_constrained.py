import json
import math

import numpy as np
import pytest
import sympy
import torch
from scipy.optimize import minimize

from losslens.optimize.constrained import METHODS, VERDICTS, solve_constrained
from losslens.optimize.constraints import make_problem
from losslens.optimize.hock_schittkowski import PROBLEMS, get
from losslens.validation import InputError

HS = list(PROBLEMS.values())
PROJECTABLE = [p for p in HS if p.number in (1, 5, 28, 48)]


def test_collection_covers_the_required_kinds():
    kinds = {c.kind for p in HS for c in make_problem(p.objective, p.constraints).constraints}
    assert len(HS) >= 8 and kinds == {"eq", "ineq"}


@pytest.mark.parametrize("p", HS, ids=lambda p: p.name)
def test_published_optimum_is_feasible_and_has_the_published_value(p):
    """The stored data agree with themselves exactly: f(x*) = f* and x* feasible (to the published digits)."""
    prob = make_problem(p.objective, p.constraints)
    subs = dict(zip(prob.symbols, p.x_star))
    assert abs(float(prob.objective.sympy.evalf(30, subs=subs)) - p.f_star) < 1e-6
    assert prob.violation(torch.tensor(p.x_star, dtype=torch.float64)) < 1e-6


@pytest.mark.parametrize("p", HS, ids=lambda p: p.name)
def test_alm_solves_hock_schittkowski(p):
    r = solve_constrained(p.objective, p.constraints, "alm", x0=p.x0)
    assert r.kkt.max <= 1e-6 and r.kkt.satisfied
    assert np.abs(r.x.numpy() - np.array(p.x_star)).max() <= 1e-6
    assert abs(r.value - p.f_star) <= 1e-6
    assert r.verdict in ("optimal", "local_min", "kkt_point")


@pytest.mark.parametrize("p", PROJECTABLE, ids=lambda p: p.name)
def test_projected_gradient_solves_hock_schittkowski(p):
    r = solve_constrained(p.objective, p.constraints, "projected", x0=p.x0)
    assert r.kkt.max <= 1e-6
    assert np.abs(r.x.numpy() - np.array(p.x_star)).max() <= 1e-6 and abs(r.value - p.f_star) <= 1e-6


@pytest.mark.parametrize("p", HS, ids=lambda p: p.name)
def test_penalty_solves_hock_schittkowski_to_1e_6(p):
    r = solve_constrained(p.objective, p.constraints, "penalty", x0=p.x0, tol=1e-6)
    assert r.kkt.max <= 1e-6
    assert np.abs(r.x.numpy() - np.array(p.x_star)).max() <= 1e-6 and abs(r.value - p.f_star) <= 1e-6


def test_penalty_is_honest_about_its_accuracy_limit():
    # feasibility ~ |μ|/ρ needs ρ ~ 1e10 for 1e-10, where rounding in ρ·g spoils stationarity: not converged
    r = solve_constrained("x + y", ["x^2 + y^2 <= 2"], "penalty", tol=1e-10)
    assert r.verdict == "not_converged" and r.kkt.max > 1e-10 and "KKT residual" in r.reason
    assert torch.allclose(r.x, torch.tensor([-1.0, -1.0], dtype=torch.float64), atol=1e-6)


def _slsqp(p):
    prob = make_problem(p.objective, p.constraints)
    from torch.func import jacrev

    f = lambda x: float(prob.f(torch.tensor(x)))
    df = lambda x: jacrev(prob.f)(torch.tensor(x)).numpy()
    J = lambda x: jacrev(prob.c)(torch.tensor(x)).numpy()
    cons = [{"type": "eq" if c.kind == "eq" else "ineq",
             "fun": (lambda x, k=k, s=(1 if c.kind == "eq" else -1): s * float(prob.c(torch.tensor(x))[k])),
             "jac": (lambda x, k=k, s=(1 if c.kind == "eq" else -1): s * J(x)[k])}
            for k, c in enumerate(prob.constraints)]
    return minimize(f, np.array(p.x0), jac=df, method="SLSQP", constraints=cons,
                    options={"ftol": 1e-10, "maxiter": 200})


@pytest.mark.parametrize("p", HS, ids=lambda p: p.name)
def test_agrees_with_scipy_slsqp(p):
    ref = _slsqp(p)
    r = solve_constrained(p.objective, p.constraints, "alm", x0=p.x0)
    # SLSQP's own status may be 8 (line search at rounding level) or 9 (iteration limit at ftol 1e-10) while its
    # point is right: the cross-check is the agreement of the two answers
    assert np.abs(r.x.numpy() - ref.x).max() <= 1e-5 and abs(r.value - ref.fun) <= 1e-6


def test_explanation_of_a_simple_problem():
    r = solve_constrained("x^2 + y^2", ["x + y = 1"])
    assert r.verdict == "optimal" and r.optimality_proved and r.convex
    assert torch.allclose(r.x, torch.tensor([0.5, 0.5], dtype=torch.float64), atol=1e-8)
    # stationarity 2x + λ = 0 at x = 1/2 gives λ = -1 exactly
    assert float(r.multipliers[0]) == pytest.approx(-1.0, abs=1e-8)
    x, y, lam = sympy.symbols("x y lambda1", real=True)
    assert sympy.simplify(sympy.sympify(r.lagrangian, locals={"x": x, "y": y, "lambda1": lam})
                          - (x ** 2 + y ** 2 + lam * (x + y - 1))) == 0
    assert r.active == ("x + y = 1",) and r.constraints[0].standard == "x + y - 1 = 0"
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert set(d) >= {"x", "value", "multipliers", "constraints", "active", "kkt", "lagrangian", "verdict",
                      "optimality_proved", "second_order", "path", "evaluations"}
    assert d["kkt"]["satisfied"] and d["verdict"] in VERDICTS


def test_inactive_inequality_has_zero_multiplier_and_is_not_active():
    r = solve_constrained("(x-1)^2 + (y-1)^2", ["x^2 + y^2 <= 4", "x >= -3"])
    assert r.verdict == "optimal"
    assert torch.allclose(r.x, torch.tensor([1.0, 1.0], dtype=torch.float64), atol=1e-8)
    assert r.active == () and float(r.multipliers.abs().max()) <= 1e-8


def test_active_inequality_multiplier_and_gradient_balance():
    # min x + y on the disc x^2 + y^2 <= 2: x* = (-1, -1), ∇f = -μ ∇g gives μ = 1/2
    for method in METHODS:
        r = solve_constrained("x + y", ["x^2 + y^2 <= 2"], method, tol=1e-6 if method == "penalty" else 1e-8)
        assert torch.allclose(r.x, torch.tensor([-1.0, -1.0], dtype=torch.float64), atol=1e-6), method
        assert float(r.multipliers[0]) == pytest.approx(0.5, abs=1e-6)
        assert r.active == ("x^2 + y^2 <= 2",)


def test_constraint_variables_join_the_objective():
    r = solve_constrained("x^2", ["x + z = 2", "z <= 1"])
    assert r.names == ("x", "z")
    assert torch.allclose(r.x, torch.tensor([1.0, 1.0], dtype=torch.float64), atol=1e-7)
    assert r.verdict == "optimal"


def test_nonconvex_kkt_point_is_not_called_optimal():
    # max of x^2 + y^2 on the circle: every point is a KKT point of -f with zero reduced curvature... use a line
    r = solve_constrained("-(x^2) + y", ["y = 0", "x >= -1", "x <= 1"], x0=[0.0, 0.0])
    # x = 0 is a KKT point (all bounds inactive, gradient 0) but a local maximum along y = 0
    assert r.verdict == "not_min" and not r.optimality_proved
    assert r.second_order.verdict == "violated" and float(r.second_order.eigenvalues.min()) == pytest.approx(-2)


def test_nonconvex_local_min_is_not_proved_optimal():
    p = get("HS71")
    r = solve_constrained(p.objective, p.constraints, x0=p.x0)
    assert r.verdict == "local_min" and not r.optimality_proved and "not proved" in r.reason


def test_infeasible_convex_constraints():
    for method in ("alm", "penalty"):
        r = solve_constrained("x^2 + y^2", ["x + y = 1", "x + y = 2"], method)
        assert r.verdict == "infeasible" and "0.5" in r.reason
        assert r.kkt.primal_feasibility == pytest.approx(0.5, abs=1e-6)
    r = solve_constrained("x", ["x^2 + y^2 <= 1", "x >= 2"])
    assert r.verdict == "infeasible"


def test_non_quadratic_convex_problem_is_proved_optimal():
    # min exp(x) + y^2 s.t. x + y >= 1: stationarity exp(x) = 2y = μ, x + y = 1
    r = solve_constrained("exp(x) + y^2", ["x + y >= 1"])
    assert r.verdict == "optimal" and "convexity checker" in r.convexity
    x, y = r.x.tolist()
    assert x + y == pytest.approx(1.0, abs=1e-8) and math.exp(x) == pytest.approx(2 * y, abs=1e-7)
    r = solve_constrained("x^2 + y^2", ["exp(x) <= 1", "x >= 1"])
    assert r.verdict == "infeasible"


def test_infeasible_nonconvex_constraints_are_unknown_not_infeasible():
    r = solve_constrained("x^2 + y^2", ["x^2 + y^2 <= 1", "x^2 + y^2 >= 4"], x0=[0.5, 0.1])
    assert r.verdict == "unknown" and "not proved" in r.reason


@pytest.mark.parametrize("method", METHODS)
def test_unbounded(method):
    r = solve_constrained("x + y", ["x - y = 0"], method)
    assert r.verdict == "unbounded" and r.value < -1e12
    assert all(math.isnan(v) for v in r.multipliers.tolist())
    json.dumps(r.to_dict(), allow_nan=False)


def test_far_points_loosen_only_the_constraints_they_enter():
    """min x + y s.t. xy >= 1, x >= 0 is bounded (f* = 2 at (1, 1)); the penalty subproblems run off to
    x = -0.1, y = -1e12, where xy >= 1 holds and x >= 0 is violated by 0.1: not a feasible point, so never
    `unbounded`. Without x >= 0 the same run is a genuine unbounded direction (x = y = -t)."""
    bounded = solve_constrained("x + y", ["x*y >= 1", "x >= 0"])
    assert bounded.verdict != "unbounded"
    assert solve_constrained("x + y", ["x*y >= 1"], x0=[-2.0, -2.0]).verdict == "unbounded"


def test_unbounded_nonconvex_set():
    assert solve_constrained("x", ["x^2 >= 1"], x0=[2.0]).verdict == "unbounded"


def test_unconstrained_and_not_converged():
    r = solve_constrained("(x-3)^2", [])
    assert r.verdict == "optimal" and float(r.x[0]) == pytest.approx(3.0)
    r = solve_constrained(get("HS71").objective, get("HS71").constraints, x0=get("HS71").x0, max_iter=1)
    assert r.verdict == "not_converged" and "KKT residual" in r.reason


@pytest.mark.parametrize("kwargs, message", [
    (dict(objective="x^2", constraints=["x>=1"], method="newton"), "method == 'newton', must be one of"),
    (dict(objective="x^2", constraints=["x+y"]), "has no relation"),
    (dict(objective="x^2", constraints=["x<="]), "empty right side"),
    (dict(objective="x^2", constraints=["x != 1"]), "uses '!='"),
    (dict(objective="x^2", constraints=["x>=1"], tol=0.0), "tol == 0.0, must be in"),
    (dict(objective="x^2", constraints=["x>=1"], max_iter=0), "max_iter == 0"),
    (dict(objective="x^2", constraints=["x>=1"], x0=[1.0, 2.0]), "x0 has 2 coordinate"),
    (dict(objective="log(x)", constraints=["x>=1"]), "x0 == \\[0.0\\] is outside the domain"),
    (dict(objective="x^2 + y^2", constraints=["x*y >= 1"], method="projected"), "needs constraints forming one set"),
    (dict(objective="x", constraints=["x >= 1"], unbounded_below=0.5), "unbounded_below == 0.5"),
])
def test_bad_input(kwargs, message):
    with pytest.raises(InputError, match=message):
        solve_constrained(**kwargs)


def test_problem_object_with_constraints_is_refused():
    p = make_problem("x^2", ["x >= 1"])
    assert solve_constrained(p).x.tolist() == pytest.approx([1.0])
    with pytest.raises(InputError, match="constraints must be empty"):
        solve_constrained(p, ["x <= 2"])


def test_hs_get():
    assert get("71").number == 71 and get("hs28").number == 28
    with pytest.raises(InputError, match="problem 'HS999' is not in the collection"):
        get("HS999")
