"""Non-smooth constrained problems: the exact epigraph lift, the subgradient KKT check, and refusals where a lift is
not exact. Answers are compared with closed forms (soft-thresholding, L1-ball projection by bisection, hand-solved
max/min problems) and with optimality conditions computed here independently."""
import doctest

import numpy as np
import pytest
import sympy
import torch

from losslens.optimize import epigraph
from losslens.optimize.constrained import solve_constrained
from losslens.optimize.constraints import make_problem
from losslens.optimize.epigraph import lift, subgradient_kkt
from losslens.optimize.kkt import active_mask
from losslens.validation import InputError


def soft(a, lam):
    return float(np.sign(a) * max(abs(a) - lam, 0.0))


@pytest.mark.parametrize("a, lam", [(3, 2), (-3, 2), (1, 2), (0.5, 0.25), (-0.1, 0.3)])
def test_one_dimensional_lasso_is_soft_thresholding(a, lam):
    r = solve_constrained(f"(x - ({a}))^2/2 + {lam}*abs(x)")
    x = soft(a, lam)
    assert r.verdict == "optimal"
    assert float(r.x[0]) == pytest.approx(x, abs=1e-8)
    assert r.value == pytest.approx((x - a) ** 2 / 2 + lam * abs(x), abs=1e-8)
    (t,) = r.epigraph
    assert t.name == "t1" and t.definition == "|x|" and t.member
    assert t.subgradient == pytest.approx((a - x) / lam, abs=1e-7)   # 0 = x - a + lam*s
    assert r.subgradient.satisfied and r.subgradient.stationarity <= 1e-8


def test_must_show_lasso():
    r = solve_constrained("(x - 3)^2/2 + 2*abs(x)")
    assert float(r.x[0]) == pytest.approx(1.0, abs=1e-12) and r.value == pytest.approx(4.0, abs=1e-12)
    assert r.subgradient.condition == "0 ∈ ∂f(x) + Σ ν_k ∂c_k(x)"
    assert r.lifted_names == ("x", "t1") and r.names == ("x",) and r.x.shape == (1,)


def test_lasso_two_variables_satisfies_independent_optimality():
    """½‖Ax − b‖² + λ‖x‖₁: optimal iff A^T(b − Ax) ∈ λ ∂‖x‖₁, checked here with numpy."""
    A = np.array([[2.0, 1.0], [1.0, 3.0], [0.0, 1.0]])
    b = np.array([1.0, -2.0, 0.5])
    lam = 0.7
    rows = [f"({A[i, 0]}*x + {A[i, 1]}*y - ({b[i]}))^2" for i in range(3)]
    r = solve_constrained(" + ".join(rows) + f" + {2 * lam}*(abs(x) + abs(y))")   # (x2: ½ scaled by 2)
    x = r.x.numpy()
    g = A.T @ (b - A @ x)
    assert r.verdict == "optimal"
    for gi, xi in zip(g, x):
        if abs(xi) > 1e-7:
            assert gi == pytest.approx(lam * np.sign(xi), abs=1e-6)
        else:
            assert abs(gi) <= lam + 1e-6
    assert r.subgradient.satisfied


def l1_projection(p, radius=1.0):
    """Projection onto the L1 ball by bisection on the threshold (independent of the library)."""
    p = np.asarray(p, dtype=float)
    if np.abs(p).sum() <= radius:
        return p
    lo, hi = 0.0, np.abs(p).max()
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.maximum(np.abs(p) - mid, 0).sum() > radius else (lo, mid)
    return np.sign(p) * np.maximum(np.abs(p) - hi, 0)


@pytest.mark.parametrize("method", ["alm", "projected", "penalty"])
def test_must_show_l1_ball_projection(method):
    """p = (1.1, -0.9, 0.1): threshold 1/2, so the projection is exactly (0.6, -0.4, 0) with multiplier 1."""
    r = solve_constrained("(x-1.1)^2+(y+0.9)^2+(z-0.1)^2", ["abs(x)+abs(y)+abs(z)<=1"], method)
    assert l1_projection([1.1, -0.9, 0.1]) == pytest.approx([0.6, -0.4, 0.0], abs=1e-12)
    assert r.x.tolist() == pytest.approx([0.6, -0.4, 0.0], abs=1e-7)
    assert r.verdict == "optimal" and r.optimality_proved     # penalty too: its ρ grows until the KKT test passes
    assert float(r.multipliers[0]) == pytest.approx(1.0, abs=1e-6)
    assert [a.subgradient for a in r.epigraph] == pytest.approx([1.0, -1.0, 0.2], abs=1e-6)
    assert r.subgradient.satisfied and r.kkt.satisfied


@pytest.mark.parametrize("seed", range(3))
def test_l1_projection_random_points(seed):
    p = np.random.default_rng(seed).normal(size=3) * 2
    f = " + ".join(f"({v} - ({c}))^2" for v, c in zip("xyz", p.tolist()))
    for method in ("alm", "projected"):
        r = solve_constrained(f, ["abs(x)+abs(y)+abs(z)<=1"], method)
        assert r.verdict == "optimal"
        assert r.x.numpy() == pytest.approx(l1_projection(p), abs=1e-6)


def test_max_type_problems():
    r = solve_constrained("max(x^2, (x - 2)^2)")            # the two parabolas cross at x = 1
    assert r.verdict == "optimal" and float(r.x[0]) == pytest.approx(1.0, abs=1e-8)
    assert r.value == pytest.approx(1.0, abs=1e-8)
    assert r.epigraph[0].weights == pytest.approx((0.5, 0.5), abs=1e-6)   # 2x w1 + 2(x-2) w2 = 0 at x = 1
    r = solve_constrained("x^2 + y^2", ["max(1 - x, 1 - y) <= 0"])   # x >= 1 and y >= 1
    assert r.verdict == "optimal" and r.x.tolist() == pytest.approx([1.0, 1.0], abs=1e-7)
    r = solve_constrained("relu(1 - x) + x^2/2")             # kink at x = 1, subgradient -1 there
    assert r.verdict == "optimal" and float(r.x[0]) == pytest.approx(1.0, abs=1e-7)
    assert r.value == pytest.approx(0.5, abs=1e-7) and r.epigraph[0].definition == "relu(1 - x)"
    r = solve_constrained("max(x + y, x - y, -2*x) ")         # min of a max of planes: value 0 at (0, 0)
    assert r.verdict == "optimal" and r.value == pytest.approx(0.0, abs=1e-7)


def test_min_type_problems_in_exact_positions():
    r = solve_constrained("-min(x, 2 - x)")                  # max of a min: x = 1, f = -1
    assert r.verdict == "optimal" and float(r.x[0]) == pytest.approx(1.0, abs=1e-8)
    assert r.value == pytest.approx(-1.0, abs=1e-8)
    r = solve_constrained("x + y", ["min(x, y) >= 1"])       # x >= 1 and y >= 1
    assert r.verdict == "optimal" and r.x.tolist() == pytest.approx([1.0, 1.0], abs=1e-7)
    assert r.value == pytest.approx(2.0, abs=1e-7)


def test_lift_is_exact_sympy():
    L = lift(make_problem("x^2 + 3*abs(x - 1) + max(x, y)", ["abs(y) <= 2"]))
    x, y = sympy.symbols("x y", real=True)
    t = {a.name: sympy.Symbol(a.name, real=True) for a in L.atoms}
    assert [a.definition for a in L.atoms] == ["|y|", "|x - 1|", "max(x, y)"]
    assert sympy.expand(L.problem.objective.sympy - (x ** 2 + 3 * t["t2"] + t["t3"])) == 0
    assert sympy.expand(L.problem.constraints[0].sympy - (t["t1"] - 2)) == 0
    z = L.lift(torch.tensor([0.5, -1.5], dtype=torch.float64))
    assert z.tolist() == [0.5, -1.5, 1.5, 0.5, 0.5]
    assert doctest.testmod(epigraph).failed == 0


def test_name_clash_and_nested_lift():
    L = lift(make_problem("t1^2 + abs(x)", []))
    assert L.problem.names == ("t1", "x", "t1_")
    r = solve_constrained("max(abs(x), abs(y))", ["x + y = 2"])      # nested: the infinity norm
    assert [a.definition for a in r.epigraph] == ["max(abs(x), abs(y))", "|x|", "|y|"]
    assert r.verdict == "optimal" and r.x.tolist() == pytest.approx([1.0, 1.0], abs=1e-7)
    assert r.value == pytest.approx(1.0, abs=1e-7) and r.subgradient.satisfied


@pytest.mark.parametrize("objective, constraints, message", [
    ("x^2 - abs(x)", [], r"\|x\| enters the objective with coefficient -1"),
    ("x", ["abs(x) = 1"], "appears in the equality constraint 'abs\\(x\\) = 1'"),
    ("x^2", ["max(x, y) >= 1"], r"max\(x, y\) enters constraint 'max\(x, y\) >= 1' with coefficient -1"),
    ("x^2 + min(x, y)", [], r"min\(x, y\) enters the objective with coefficient 1: .* a negative coefficient"),
    ("abs(x)*y + x^2", [], r"enters the objective with slope y in t = \|x\|, not provably >= 0"),
    ("max(x, y)^2 + x^2", [], r"max\(x, y\) enters the objective with slope 2\*t in t = max\(x, y\)"),
    ("x^2 + exp(min(x, 0))", [], r"enters the objective with slope exp\(t\) .* not provably <= 0"),
    ("abs(abs(x) - 1)", [], r"\|x\| enters the lifted constraint t1 >= 1 - abs\(x\) with coefficient -1"),
])
def test_inexact_lifts_say_why(objective, constraints, message):
    with pytest.raises(epigraph.NotExact, match=message):
        lift(make_problem(objective, constraints))
    with pytest.raises(InputError, match=message + ".*method 'projected' does not split"):
        solve_constrained(objective, constraints + ["x <= 10"], "projected")


@pytest.mark.parametrize("objective, constraints, xs, value", [
    ("x^2 - abs(x)", [], [[0.5], [-0.5]], -0.25),              # two symmetric minima
    ("x", ["abs(x) = 1"], [[-1.0]], -1.0),
    ("x^2 + y^2", ["max(x, y) >= 1"], [[1.0, 0.0], [0.0, 1.0]], 1.0),
    ("max(x, y)^2 + (x - 1)^2", [], [[0.5, 0.5]], 0.5),     # on x = y: x^2 + (x-1)^2
    ("abs(abs(x) - 1) + (x - 0.5)^2/10", [], [[1.0]], 0.025),  # x <= 0 piece: 0.225 at x = -1
    ("(x - 2)^2 - 3*abs(x)", ["x >= -4"], [[3.5]], -8.25),     # x <= 0 piece: f = 4 at x = 0
])
def test_inexact_terms_are_solved_by_pieces(objective, constraints, xs, value):
    """Minima worked out by hand on each piece; the problem's minimum is the least of them."""
    r = solve_constrained(objective, constraints)
    assert r.verdict == "optimal" and r.optimality_proved and len(r.cases) >= 2
    assert r.value == pytest.approx(value, abs=1e-7)
    assert min(float(np.abs(r.x.numpy() - np.array(x)).max()) for x in xs) <= 1e-6
    assert all(c["verdict"] in ("optimal", "infeasible") for c in r.cases)


def test_pieces_report_unbounded_and_unknown():
    r = solve_constrained("x^2 + min(x, y)")              # y <= x, y -> -inf
    assert r.verdict == "unbounded" and [c["case"] for c in r.cases] == ["x <= y", "y <= x"]
    r = solve_constrained("abs(x)*y + x^2")               # a saddle found on each piece: not a proved minimum
    assert r.verdict == "unknown" and "not every piece" in r.reason


def test_too_many_pieces_are_refused():
    with pytest.raises(InputError, match="needs more than 16 pieces"):
        solve_constrained("x^2 - abs(x) - abs(y) - abs(z) - abs(w) - abs(v)")


def test_projected_needs_a_smooth_objective():
    with pytest.raises(InputError, match="method 'projected' needs a smooth objective"):
        solve_constrained("x^2 + abs(y)", ["x^2 + y^2 <= 1"], "projected")


def test_subgradient_check_can_fail():
    """At a point that is not optimal, or with a selection outside the subdifferential, the check says no."""
    L = lift(make_problem("(x - 3)^2/2 + 2*abs(x)", []))
    z = L.lift(torch.tensor([1.0], dtype=torch.float64))
    nu = torch.tensor([2.0, 0.0], dtype=torch.float64)
    ok = subgradient_kkt(L, z, nu, active_mask(L.problem, z, nu, 1e-4), 1e-8)
    assert ok.satisfied and ok.stationarity == 0.0
    z = L.lift(torch.tensor([1.5], dtype=torch.float64))          # not optimal: residual 1.5 - 3 + 2 = 0.5
    bad = subgradient_kkt(L, z, nu, active_mask(L.problem, z, nu, 1e-4), 1e-8)
    assert not bad.satisfied and bad.stationarity == pytest.approx(0.5)
    z = L.lift(torch.tensor([1.0], dtype=torch.float64))          # weight on the inactive branch -x of |x| at x = 1
    wrong = torch.tensor([1.0, 1.0], dtype=torch.float64)
    bad = subgradient_kkt(L, z, wrong, active_mask(L.problem, z, wrong, 1e-4), 1e-8)
    assert not bad.satisfied and not bad.atoms[0].member and bad.atoms[0].gap == pytest.approx(1.0)


def test_smooth_problems_are_not_lifted():
    r = solve_constrained("x^2 + y^2", ["x + y = 1"])
    assert r.epigraph == () and r.subgradient is None and r.lifted_names == ()
    assert lift(make_problem("x^2", ["x >= 1"])) is None


def test_json_has_the_lift():
    d = solve_constrained("(x - 3)^2/2 + 2*abs(x)").to_dict()
    assert d["epigraph"][0]["definition"] == "|x|" and d["subgradient"]["residual"] == pytest.approx([0.0], abs=1e-12)
    assert d["x"] == pytest.approx([1.0]) and d["multipliers"] == []


def test_constants_survive_the_lift():
    L = lift(make_problem("abs(x - e) + e*x^2 + pi", []))
    x, t1 = sympy.symbols("x t1", real=True)
    assert sympy.expand(L.problem.objective.sympy - (t1 + sympy.E * x ** 2 + sympy.pi)) == 0
    assert [c.text for c in L.problem.constraints] == ["t1 >= x - e", "t1 >= e - x"]


@pytest.mark.parametrize("objective, x, value, verdict", [
    ("relu(x)^2 + (x - 2)^2", 1.0, 2.0, "optimal"),          # squared hinge: t^2 grows with t >= 0
    ("exp(abs(x - 1)) + x^2/2", 1.0, 1.5, "optimal"),       # 0 ∈ x + [-1, 1] at the kink x = 1
    ("sqrt(abs(x) + 1)", 0.0, 1.0, "local_min"),            # not convex (concave in |x|): optimality not proved
])
def test_monotone_compositions_lift_exactly(objective, x, value, verdict):
    r = solve_constrained(objective)
    assert r.cases == () and len(r.epigraph) == 1
    assert r.verdict == verdict and r.subgradient.satisfied
    assert float(r.x[0]) == pytest.approx(x, abs=1e-7) and r.value == pytest.approx(value, abs=1e-7)
