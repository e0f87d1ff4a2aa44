import math

import numpy as np
import pytest
import sympy
import torch

from losslens import CATALOG, FunctionObjective, InputError, parse
from losslens.optimize import compare, run
from losslens.optimize.methods import METHODS


def quad_objective(A, b=None):
    A = torch.as_tensor(A, dtype=torch.float64)
    b = torch.zeros(len(A), dtype=torch.float64) if b is None else torch.as_tensor(b, dtype=torch.float64)
    return FunctionObjective(lambda x: 0.5 * x @ A @ x - b @ x, n=len(A))


# --- D2L chapter-11 traces -------------------------------------------------------------------------------------

@pytest.mark.parametrize("eta, final", [(0.2, 0.06046617599999997), (0.05, 3.4867844009999995), (1.1, 61.917364224)])
def test_d2l_gd_on_x_squared(eta, final):
    # D2L 11.3.1: x <- x - eta * 2x from 10 for 10 steps; x_k = 10 (1 - 2 eta)^k
    r = run(parse("x^2"), "gd", [10.0], steps=10, lr=eta, stop_at_tol=False)
    expected = torch.tensor([10 * (1 - 2 * eta) ** k for k in range(11)], dtype=torch.float64)
    assert r.steps == 10
    torch.testing.assert_close(r.points[:, 0], expected, rtol=1e-13, atol=1e-13)
    assert r.final_point.item() == pytest.approx(final, rel=1e-12)
    assert r.lrs.tolist() == [eta] * 10


def test_d2l_gd_on_elliptic():
    # D2L 11.3.2: f = x1^2 + 2 x2^2, eta = 0.1 from (-5, -2), 20 steps: (-0.057646, -0.000073)
    r = run(parse("elliptic"), "gd", [-5.0, -2.0], steps=20, lr=0.1)
    k = torch.arange(21, dtype=torch.float64)
    torch.testing.assert_close(r.points, torch.stack([-5 * 0.8 ** k, -2 * 0.6 ** k], dim=1), rtol=1e-12, atol=1e-14)
    assert r.final_point.tolist() == pytest.approx([-0.057646, -0.000073], abs=5e-7)


@pytest.mark.parametrize("eta, d2l", [(0.4, [-0.943467, -0.000073]), (0.6, [-0.387814, -1673.365109])])
def test_d2l_gd_on_ill_conditioned(eta, d2l):
    # D2L 11.6.1: f = 0.1 x1^2 + 2 x2^2 from (-5, -2), 20 steps
    r = run(parse("ill-conditioned"), "gd", [-5.0, -2.0], steps=20, lr=eta)
    assert r.final_point.tolist() == pytest.approx(d2l, abs=5e-7)


def test_d2l_momentum_on_ill_conditioned():
    # D2L 11.6.2: v <- beta v + g, x <- x - eta v with eta = 0.6, beta = 0.5: epoch 20, x1: 0.007188, x2: 0.002553
    r = run(parse("ill-conditioned"), "momentum", [-5.0, -2.0], steps=20, lr=0.6, momentum=0.5)
    assert r.final_point.tolist() == pytest.approx([0.007188, 0.002553], abs=5e-7)
    # exact: per coordinate (x, v) evolves by the matrix [[1 - eta lam (1 + 0)... ]] of the linear recurrence
    for j, lam in enumerate([0.2, 4.0]):
        eta, beta = 0.6, 0.5
        M = np.array([[1 - eta * lam, -eta * beta], [lam, beta]])   # (x, v) -> (x - eta (beta v + lam x), beta v + lam x)
        s = np.array([[-5.0, -2.0][j], 0.0])
        xs = []
        for _ in range(21):
            xs.append(s[0])
            s = M @ s
        assert r.points[:, j].numpy() == pytest.approx(np.array(xs), rel=1e-11, abs=1e-13)


def test_gd_closed_form_per_eigendirection():
    # f = 1/2 x^T A x with A = Q diag(lam) Q^T: x_k = Q diag((1 - eta lam)^k) Q^T x0
    g = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    lam = torch.tensor([0.5, 2.0, 7.0], dtype=torch.float64)
    A = Q @ torch.diag(lam) @ Q.T
    x0 = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    eta = 0.2
    r = run(quad_objective(A), "gd", x0, steps=15, lr=eta, stop_at_tol=False)
    for k in range(16):
        expected = Q @ ((1 - eta * lam) ** k * (Q.T @ x0))
        torch.testing.assert_close(r.points[k], expected, rtol=1e-11, atol=1e-12)


# --- second-order methods ----------------------------------------------------------------------------------------

def test_newton_one_step_on_a_quadratic():
    A = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    b = torch.tensor([1.0, -1.0], dtype=torch.float64)
    r = run(quad_objective(A, b), "newton", [5.0, 7.0], steps=10, lr=1.0)
    torch.testing.assert_close(r.points[1], torch.linalg.solve(A, b), rtol=1e-13, atol=1e-13)
    assert r.steps == 1 and r.steps_to_tol == 1 and r.verdict == "converged"


def test_damped_newton_step():
    A = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    x0 = torch.tensor([5.0, 7.0], dtype=torch.float64)
    r = run(quad_objective(A), "newton", x0, steps=1, lr=0.5, damping=2.0)
    expected = x0 - 0.5 * torch.linalg.solve(A + 2 * torch.eye(2, dtype=torch.float64), A @ x0)
    torch.testing.assert_close(r.points[1], expected, rtol=1e-13, atol=1e-13)


def test_newton_is_attracted_by_the_saddle_but_saddle_free_newton_escapes():
    f = parse("saddle")
    newton = run(f, "newton", [1.0, 1e-3], steps=20, lr=1.0)
    assert newton.final_point.tolist() == [0.0, 0.0] and newton.verdict == "stalled_at_saddle"
    sfn = run(f, "saddle-free-newton", [1.0, 1e-3], steps=5, lr=1.0)
    # |H| = 2 I: x <- x - g/2, so x1 -> 0 and x2 doubles each step
    expected = torch.tensor([[1.0, 1e-3]] + [[0.0, 1e-3 * 2 ** k] for k in range(1, 6)], dtype=torch.float64)
    torch.testing.assert_close(sfn.points, expected, rtol=1e-14, atol=1e-15)
    assert sfn.verdict != "stalled_at_saddle"


# --- verdicts ----------------------------------------------------------------------------------------------------

def test_saddle_from_the_stable_manifold_stalls_and_perturbed_gd_escapes():
    f = parse("saddle")
    r = run(f, "gd", [1.0, 0.0], steps=200, lr=0.1)
    v = r.evidence
    assert r.verdict == "stalled_at_saddle" and r.steps < 200
    assert v.eigenvalues.tolist() == pytest.approx([-2.0, 2.0])
    assert abs(v.escape_direction.tolist()[1]) == pytest.approx(1.0) and v.escape_direction[0] == 0
    p = run(f, "perturbed-gd", [1.0, 0.0], steps=200, lr=0.1, seed=1)
    assert p.perturbations >= 1 and p.verdict != "stalled_at_saddle"
    assert abs(p.final_point[1].item()) > 1.0 and p.final_value < -1.0


def test_perturbed_gd_escapes_to_the_minima_of_a_bounded_saddle():
    # x^2 - y^2 + y^4/2: saddle at 0, minima at (0, +-1) with value -1/2
    f = parse("x^2 - y^2 + 0.5*y^4")
    assert run(f, "gd", [1.0, 0.0], steps=500, lr=0.1).verdict == "stalled_at_saddle"
    for seed in range(3):
        p = run(f, "perturbed-gd", [1.0, 0.0], steps=500, lr=0.1, seed=seed)
        assert p.verdict == "converged"
        assert abs(p.final_point[1].item()) == pytest.approx(1.0, abs=1e-6)
        assert p.final_value == pytest.approx(-0.5, abs=1e-10)


def test_lr_beyond_two_over_lambda_max_diverges():
    f = parse("elliptic")                     # lambda_max = 4: GD is stable iff eta < 0.5
    assert run(f, "gd", [-5.0, -2.0], steps=50, lr=0.6).verdict == "diverged"
    assert run(f, "gd", [-5.0, -2.0], steps=500, lr=0.45).verdict == "converged"


def test_tanh_from_4_has_a_vanishing_gradient():
    r = run(parse("tanh"), "gd", [4.0], steps=100, lr=0.1)
    assert r.verdict == "vanishing_gradient"
    assert r.gradient_norms[0].item() == pytest.approx(1 - math.tanh(4.0) ** 2, rel=1e-12)   # f'(4) = 0.00134
    # the slope is the mean |f'| over the scale's uniform sample of [-4, 4] (exactly), an estimate of
    # 2 tanh(4) / 8 = 0.2498 with standard error sd|f'| / sqrt(256) = 0.323 / 16 = 0.020
    U = r.scale.region.sample(r.scale.samples, seed=0)
    assert r.scale.slope == pytest.approx(float((1 - torch.tanh(U) ** 2).mean()), rel=1e-12)
    assert abs(r.scale.slope - 2 * math.tanh(4.0) / 8) < 4 * 0.020


def test_himmelblau_four_starts_four_minima():
    f = parse("himmelblau")
    ends = []
    for start in [(3, 2.5), (-3, 3), (-3, -3), (3, -2)]:
        r = run(f, "gd", list(start), steps=1000, lr=0.01)
        assert r.verdict == "converged"
        ends.append(r.final_point)
    known = torch.tensor(CATALOG["himmelblau"].minima, dtype=torch.float64)
    d = torch.cdist(torch.stack(ends), known)
    assert sorted(d.argmin(dim=1).tolist()) == [0, 1, 2, 3]
    # near a strict minimum |x - x*| <~ |g| / lambda_min; the run stops at |g| <= gtol
    for x, dist in zip(ends, d.min(dim=1).values):
        lam_min = torch.linalg.eigvalsh(f.hessian(x))[0].item()
        assert dist.item() <= 1.01 * f.grad(x).norm().item() / lam_min


def test_nan_stops_with_diverged_and_the_step():
    r = run(parse("log(x)"), "gd", [1.0], steps=50, lr=2.0)      # x1 = 1 - 2 = -1: log(-1) is NaN
    assert r.verdict == "diverged" and r.evidence.step == 1 and r.steps == 1
    assert "non-finite at step 1" in r.reason


def test_oscillating_plateau_and_maximum():
    assert run(parse("x^2"), "gd", [10.0], steps=30, lr=1.0).verdict == "oscillating"   # x flips sign
    cubic = run(parse("cubic"), "gd", [1.0], steps=1000, lr=0.1)       # sublinear approach to a flat point
    assert cubic.verdict == "plateau"
    assert run(parse("x^4"), "gd", [0.0], steps=10).verdict == "plateau"       # critical, zero Hessian
    assert run(parse("-x^2 - y^2"), "gd", [0.0, 0.0], steps=10).verdict == "stalled_at_max"


def test_a_run_that_stops_on_a_kink_is_not_judged_by_one_branchs_derivatives():
    # x^2 - |x| at 0 is a local maximum (f(±h) = h² − h < 0) although that branch's Hessian is +2
    at_kink = run(parse("x^2 - abs(x)"), "gd", [0.0], steps=20)
    assert at_kink.verdict == "unknown" and "kink of abs(x)" in at_kink.reason
    off = run(parse("x^2 - abs(x)"), "gd", [0.3], steps=200)       # off the kink: the minimum at 0.5
    assert off.verdict == "converged" and float(off.points[-1, 0]) == pytest.approx(0.5, abs=1e-6)


def test_a_flat_minimum_ahead_is_a_plateau_and_an_infimum_at_infinity_a_vanishing_gradient():
    """x^4 from 1 (100 steps): one quadratic model puts its critical point x/3 away (too far to count), but the
    minimiser 0 is x_K away and Newton's iterates reach it: approaching a flat minimum, not a saturated function.
    exp(-x) has no minimiser: the iterates run off (|grad| <= gtol only ~2 region sizes on)."""
    quartic = run(parse("x^4"), "gd", [1.0], steps=100, lr=0.1)
    xK = float(quartic.points[-1, 0])
    assert quartic.verdict == "plateau" and "Newton's iterates" in quartic.reason
    reached_tol = (quartic.scale.gtol / 4) ** (1 / 3)               # |4 y^3| <= gtol at the point reached
    assert abs(quartic.evidence.model_distance - xK) <= reached_tol
    saturated = run(parse("exp(-x)"), "gd", [3.0], steps=3000, lr=1.0)
    assert saturated.verdict == "vanishing_gradient"
    assert run(parse("tanh(x)"), "gd", [4.0], steps=100, lr=0.1).verdict == "vanishing_gradient"


def test_narrow_valley_is_not_called_vanishing():
    r = run(parse("rosenbrock"), "gd", [-1.0, 2.0], steps=400, lr=1e-3)
    assert r.verdict == "max_steps" and "valley" in r.reason


def test_thresholds_scale_with_the_objective():
    # multiplying f by c multiplies every gradient and G by c: the verdicts and the trajectory in c*eta units agree
    a = run(parse("tanh(x)", ), "gd", [4.0], steps=100, lr=0.1)
    b = run(parse("1000*tanh(x)"), "gd", [4.0], steps=100, lr=0.1e-3)
    assert a.verdict == b.verdict
    assert b.scale.gtol == pytest.approx(1000 * a.scale.gtol, rel=1e-12)
    torch.testing.assert_close(a.points, b.points, rtol=1e-12, atol=1e-12)


# --- noise, schedules, risk ---------------------------------------------------------------------------------------

def test_noise_is_gaussian_and_seeded():
    f = parse("x^2")
    a = run(f, "gd", [1.0], steps=5, lr=0.1, noise=0.5, seed=7, stop_at_tol=False)
    b = run(f, "gd", [1.0], steps=5, lr=0.1, noise=0.5, seed=7, stop_at_tol=False)
    c = run(f, "gd", [1.0], steps=5, lr=0.1, noise=0.5, seed=8, stop_at_tol=False)
    assert torch.equal(a.points, b.points) and not torch.equal(a.points, c.points)
    xi = torch.randn(5, 1, 1, generator=torch.Generator().manual_seed(7), dtype=torch.float64).reshape(-1)
    x = 1.0
    for k in range(5):
        x = x - 0.1 * (2 * x + 0.5 * xi[k].item())
        assert a.points[k + 1].item() == pytest.approx(x, rel=1e-14)
    # the recorded gradient norm is the exact one
    assert a.gradient_norms.tolist() == pytest.approx((2 * a.points[:, 0].abs()).tolist(), rel=1e-14)


def test_noise_statistics_in_a_batch():
    # one GD step on x^2 from 0 with noise sigma: x1 = -eta sigma xi ~ N(0, (eta sigma)^2), independent per start
    from losslens.optimize.basins import descend
    from losslens.optimize.methods import settings
    X0 = torch.zeros(4000, 1, dtype=torch.float64)
    ends, *_ = descend(parse("x^2"), settings("gd", 0.5, noise=2.0, seed=11), X0, 1)
    x1 = ends[:, 0]
    assert abs(x1.mean().item()) < 4 / 4000 ** 0.5 and x1.std().item() == pytest.approx(1.0, rel=0.05)
    assert abs(torch.corrcoef(torch.stack([x1[:-1], x1[1:]]))[0, 1].item()) < 0.1


def test_schedules_are_torchs():
    r = run(parse("x^2"), "gd", [1.0], steps=6, lr=0.1, schedule="exponential:gamma=0.5", stop_at_tol=False)
    assert r.lrs.tolist() == pytest.approx([0.1 * 0.5 ** k for k in range(6)], rel=1e-15)
    s = run(parse("x^2"), "adam", [1.0], steps=6, lr=0.1, schedule="step:step_size=2,gamma=0.1", stop_at_tol=False)
    assert s.lrs.tolist() == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rel=1e-12)
    n = run(parse("x^2"), "newton", [1.0], steps=3, lr=0.5, schedule="multistep:milestones=1;2,gamma=0.5",
            stop_at_tol=False)
    assert n.lrs.tolist() == pytest.approx([0.5, 0.25, 0.125]) and n.points[1].item() == pytest.approx(0.5)
    assert n.points[2].item() == pytest.approx(0.5 * 0.75)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_decreases_a_convex_quadratic(method):
    lr = {"adadelta": 10.0, "newton": 1.0, "saddle-free-newton": 1.0}.get(method, 0.05)
    r = run(parse("elliptic"), method, [-5.0, -2.0], steps=200, lr=lr)
    assert r.final_value < 0.5 * r.values[0].item()
    assert r.to_dict()["settings"]["method"] == method


def test_adam_matches_the_formula():
    # Adam (Kingma & Ba) on x^2 from 1, 3 steps, written out
    r = run(parse("x^2"), "adam", [1.0], steps=3, lr=0.1, stop_at_tol=False)
    x, m, v = 1.0, 0.0, 0.0
    for t in range(1, 4):
        g = 2 * x
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        x -= 0.1 * (m / (1 - 0.9 ** t)) / (math.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        assert r.points[t].item() == pytest.approx(x, rel=1e-14)


def test_risk_is_recorded_along_the_run():
    g, f = parse("empirical-risk"), parse("risk")
    r = run(g, "gd", [1.1], steps=50, lr=0.01, risk=f)
    torch.testing.assert_close(r.risk.values, torch.tensor([f.value(p).item() for p in r.points], dtype=torch.float64))
    assert r.risk.empirical_best_step == int(r.values.argmin())
    assert r.risk.best_step == int(r.risk.values.argmin())
    assert r.risk.gap == pytest.approx(float(r.risk.values[r.risk.empirical_best_step] - r.risk.values.min()))
    assert r.risk.gap > 0.01     # minimizing the empirical risk overshoots the risk's minimum from this start


def test_compare_runs_each_method_and_to_dict_is_json():
    import json
    c = compare(parse("ill-conditioned"), "gd,momentum,adam", [-5.0, -2.0], steps=20, lr={"gd": 0.4}, momentum=0.5)
    assert c.methods == ("gd", "momentum", "adam")
    assert [r.settings["lr"] for r in c.runs] == [0.4, 0.1, 0.1]
    assert c.runs[1].settings["momentum"] == 0.5
    d = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    # 20 steps of gd at lr 0.4 on eigenvalues [0.2, 4]: the slow direction shrinks by 0.92 per step, not enough
    assert [r.verdict for r in c.runs] == ["max_steps"] * 3
    assert d["runs"][0]["verdict"] == "max_steps"


# --- bad input ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.0), r"lr == 0.0, must be > 0"),
    (dict(lr=-1.0), r"lr == -1.0"),
    (dict(lr=float("nan")), r"lr == nan, must be a finite number"),
    (dict(method="sgdd"), r"method == 'sgdd', must be one of 'gd', 'momentum'.*'perturbed-gd'"),
    (dict(start=[1.0, 2.0, 3.0]), r"start has 3 coordinate\(s\).*2 variable\(s\)"),
    (dict(start=[1.0, float("inf")]), r"start == .*coordinates must be finite"),
    (dict(steps=0), r"steps == 0, must be an integer >= 1"),
    (dict(steps=2.5), r"steps == 2.5, must be an integer"),
    (dict(noise=-1.0), r"noise == -1.0"),
    (dict(momentum=0.5), r"momentum == 0.5, only methods 'momentum' and 'nesterov' take it"),
    (dict(method="momentum", momentum=1.0), r"momentum == 1.0, must be in \[0, 1\)"),
    (dict(schedule="warp:x=1"), r"schedule == 'warp', must be one of"),
    (dict(schedule="step:gamma"), r"'gamma' must be key=value with key one of"),
    (dict(schedule="step:foo=1"), r"'foo=1' must be key=value"),
    (dict(schedule="step:gamma=abc"), r"gamma='abc' is not a number"),
    (dict(schedule="step:step_size=1.5"), r"step_size='1.5' must be an integer"),
    (dict(schedule="step:gamma=0.5"), r"schedule step with .*step_size"),
    (dict(options={"betas2": 1}), r"options \['betas2'\] are not SGD arguments"),
    (dict(method="newton", options={"x": 1}), r"only torch.optim methods take options"),
    (dict(damping=-1.0), r"damping == -1.0"),
    (dict(perturb_every=0), r"perturb_every == 0"),
    (dict(perturb_radius=0.0), r"perturb_radius == 0.0"),
    (dict(tol=0.0), r"tol == 0.0"),
    (dict(slow=-1.0), r"slow == -1.0"),
    (dict(seed=-1), r"seed == -1"),
])
def test_bad_input(kwargs, match):
    args = dict(method="gd", start=[1.0, 2.0])
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        run(parse("saddle"), args.pop("method"), args.pop("start"), **args)


def test_start_outside_the_domain():
    with pytest.raises(InputError, match=r"start == \[-1.0\] is outside the function's domain.*log argument > 0"):
        run(parse("log(x)"), "gd", [-1.0])


def test_risk_with_other_variables():
    with pytest.raises(InputError, match=r"risk has 1 variable\(s\) \['x'\], the objective has 2"):
        run(parse("saddle"), "gd", [1.0, 0.0], risk=parse("x^2"))


@pytest.mark.parametrize("methods, lr, match", [
    ("", 0.1, r"methods == '', must be a comma-separated list"),
    ("gd,foo", 0.1, r"methods: 'foo' is not a method; valid: gd, momentum"),
    ("gd,gd", 0.1, r"methods == 'gd,gd' repeats a method"),
    ("gd,adam", {"momentum": 0.1}, r"lr names \['momentum'\], which are not among the methods"),
])
def test_compare_bad_input(methods, lr, match):
    with pytest.raises(InputError, match=match):
        compare(parse("saddle"), methods, [1.0, 0.0], lr=lr)


from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402


@hsettings(max_examples=15)
@given(lams=st.lists(st.floats(0.05, 5.0), min_size=1, max_size=4),
       eta=st.floats(0.01, 0.35), x0=st.floats(-3.0, 3.0).filter(lambda v: abs(v) > 1e-3))
def test_gd_on_random_diagonal_quadratics_is_the_closed_form(lams, eta, x0):
    # f = sum_i lam_i x_i^2 / 2: x_k,i = (1 - eta lam_i)^k x0
    lam = torch.tensor(lams, dtype=torch.float64)
    f = FunctionObjective(lambda x: 0.5 * (lam * x * x).sum(), n=len(lams))
    start = torch.full((len(lams),), x0, dtype=torch.float64)
    r = run(f, "gd", start, steps=12, lr=eta, stop_at_tol=False)
    k = torch.arange(13, dtype=torch.float64)[:, None]
    torch.testing.assert_close(r.points, (1 - eta * lam) ** k * start, rtol=1e-12, atol=1e-14)
    assert r.verdict != "diverged"


@pytest.mark.parametrize("expr, start", [
    ("x^3", 1.0),           # no local minimum at all: 0 is an inflection (f' = 3x², f'' = 6x)
    ("exp(x)", 0.0),        # no minimum: the infimum 0 is at -inf
    ("softplus(-x)", 0.0),  # log(1 + e^-x): no minimum either
])
def test_newton_stopping_where_the_curvature_vanishes_is_not_a_strict_minimum(expr, start):
    """Undamped Newton reaches |f'| <= gtol (1e-6 x mean slope) at a point with f'' > 0 (x³: x = 2^-10, f'' =
    0.0059); by calculus there is no strict local minimum of f anywhere, so 'converged' would be false."""
    x = sympy.Symbol("x", real=True)
    f = sympy.sympify(expr.replace("^", "**").replace("softplus(-x)", "log(1 + exp(-x))"), locals={"x": x})
    crit = sympy.solveset(sympy.diff(f, x), x, sympy.S.Reals)
    assert all(sympy.diff(f, x, 2).subs(x, c) <= 0 for c in crit)     # no point with f' = 0 < f''
    r = run(parse(expr), "newton", [start], steps=100, lr=1.0)
    assert r.steps_to_tol is not None and float(r.evidence.eigenvalues[0]) > 0
    assert r.verdict == "plateau" and "no strict minimum is shown" in r.reason


def test_newton_near_a_strict_minimum_still_converges():
    """x² + x⁴ (f'' = 2 at 0), cos at π, Rosenbrock from (-1.2, 1): the Hessian barely changes across the step."""
    assert run(parse("x^2 + x^4"), "newton", [1.0], steps=50, lr=1.0).verdict == "converged"
    assert run(parse("cos(x)"), "newton", [3.0], steps=50, lr=1.0).verdict == "converged"
    assert run(parse("rosenbrock"), "newton", [-1.2, 1.0], steps=50, lr=1.0).verdict == "converged"


@pytest.mark.parametrize("expr", ["-x^3", "-exp(x)"])
def test_newton_stopping_where_the_curvature_vanishes_is_not_a_strict_maximum(expr):
    """-x³ and -exp(x) have no local maximum (f' = -3x², -eˣ: f'' = -6x changes sign at the only zero 0)."""
    r = run(parse(expr), "newton", [1.0 if expr == "-x^3" else 0.0], steps=100, lr=1.0)
    assert float(r.evidence.eigenvalues[-1]) < 0 and r.verdict == "plateau" and "no strict maximum" in r.reason
    assert run(parse("x^4 - 2*x^2"), "newton", [0.3], steps=100, lr=1.0).verdict == "stalled_at_max"   # f''(0) = -4


def test_a_start_where_f_overflows_is_refused_naming_both_causes():
    # f(1e200) = 1e400 > 1.8e308: in the domain, beyond float64
    with pytest.raises(InputError, match=r"start == \[1e\+200\] is outside the function's domain or beyond "
                                         r"float64's range"):
        run(parse("x^2"), "gd", [1e200])
