"""The constrained solvers on their own, against closed-form answers (the explanation is tested in
test_constrained.py)."""
import numpy as np
import pytest

from losslens.optimize.constraints import make_problem
from losslens.optimize.oracle import Oracle
from losslens.optimize.solvers import alm, newton_direction, penalty_method


def test_shifted_newton_direction_is_newtons_step_on_a_positive_definite_hessian():
    H = np.array([[4.0, 1.0], [1.0, 3.0]])
    g = np.array([1.0, -2.0])
    d, tau = newton_direction(H, g)
    assert tau == 0.0 and np.allclose(d, -np.linalg.solve(H, g), rtol=0, atol=1e-15)


def test_shifted_newton_direction_shifts_an_indefinite_hessian_until_it_is_positive_definite():
    H = np.diag([2.0, -1.0])
    d, tau = newton_direction(H, np.array([1.0, 1.0]))
    # shifts tried: 0, 1e-10·s, 1e-9·s, ... with s = max(1, max|H_ii|) = 2; the first above 1 is 2e-10·10^10 = 2
    assert tau == pytest.approx(2.0, rel=1e-12)
    assert np.allclose(d, -np.linalg.solve(H + tau * np.eye(2), [1.0, 1.0]), rtol=1e-12)
    assert float(np.array([1.0, 1.0]) @ d) < 0                         # a descent direction


@pytest.mark.parametrize("solver", [alm, penalty_method])
def test_solvers_reach_the_closed_form_minimiser_and_multiplier(solver):
    # min x² + y² s.t. x + y = 1: x* = (1/2, 1/2), λ* = −1 (∇f + λ∇h = 0)
    problem = make_problem("x^2 + y^2", ["x + y = 1"])
    oracle = Oracle(problem)
    max_iter = 100 if solver is alm else 13
    run = solver(oracle, problem.eq_mask.numpy(), np.zeros(2), 1e-10, max_iter, 1e12)
    tol = 1e-8 if solver is alm else 1e-5            # the penalty method reaches feasibility only to about |λ|/ρ
    assert np.allclose(run.x, [0.5, 0.5], rtol=0, atol=tol)
    assert run.nu[0] == pytest.approx(-1.0, abs=tol)


@pytest.mark.parametrize("objective, constraints, what", [
    ("1e308*x^2", ["x >= 0.5"], "the gradient of the objective has the constant 2.00E\\+308"),     # d/dx: 2e308 x
    ("1e308*(x-1)^2", [], "the gradient of the objective has the constant -2.00E\\+308"),
    ("x^2", ["1e308*x^2 <= 1e308"], "the gradient of constraint '1e308\\*x\\^2 <= 1e308' has the constant 2.00E"),
    ("1e308*x^3/3", [], "the Hessian of the objective has the constant 2.00E\\+308"),   # 1e308 x^2 fits, 2e308 x not
])
def test_a_derivative_beyond_the_float_range_is_refused_naming_it(objective, constraints, what):
    """The derivative's exact constant exceeds float64 (|c| > 1.8e308): lambdify raised OverflowError (exit 1)."""
    from losslens.validation import InputError

    with pytest.raises(InputError, match=f"{what}.*beyond float64's range"):
        Oracle(make_problem(objective, constraints))


def test_derivatives_within_the_float_range_are_compiled():
    o = Oracle(make_problem("1e307*x^2", ["x >= 0.5"]))      # 2e307·x: fits
    gf, J = o.first(np.array([1.0]))
    assert gf.tolist() == [2e307] and J.tolist() == [[-1.0]]


@pytest.mark.parametrize("objective, x0, minimiser", [
    # ∇f = (4x³ − 4y, 4y³ − 4x) = 0 at (0,0), (1,1), (−1,−1); ∇²f(1,1) = [[12, −4], [−4, 12]] ≻ 0, f(1,1) = −2
    ("x^4 + y^4 - 4*x*y", [0.5, 0.5], [1.0, 1.0]),
    ("(1-x)^2 + 100*(y-x^2)^2 - 2", [0.0, 0.0], [1.0, 1.0]),
])
def test_newton_reaches_tol_where_the_value_cannot_show_the_decrease(objective, x0, minimiser):
    """At ‖∇f‖ ≈ 1e-8 near f* = −2 a Newton step lowers f by ~1e-17, below f's rounding (4e-16): a line search on
    f alone stalls there (KKT residual 1.2e-8 > tol 1e-8: not_converged); the halved gradient accepts the step."""
    from losslens import solve_constrained

    r = solve_constrained(objective, [], x0=x0)
    assert r.kkt.satisfied and r.verdict == "local_min"
    assert r.x.tolist() == pytest.approx(minimiser, abs=1e-12) and r.value == pytest.approx(-2.0, abs=1e-15)
