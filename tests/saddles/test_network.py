import dataclasses
import numpy as np
import pytest
import sympy as sp
import torch
from torch.func import grad, hessian

from losslens import InputError
from losslens.catalog import resolve
from losslens.objective import Objective
from losslens.saddles.network import (_fit, NetworkPoint, Subspace, WeightDecayed, dense_hessian, digits_objective,
                                      distinct_points, find_critical_point, network_saddles, point_index, tiny_mlp,
                                      unit_coordinates, gd_snapshots, value_and_grad)


def _independent_loss(X, y, h, wd):
    """f(x) = CE of a 64-h-10 tanh MLP written by hand from the flat vector (nn.Linear layout) + (wd/2)‖x‖²."""
    def f(x):
        W1, b1 = x[:64 * h].view(h, 64), x[64 * h:65 * h]
        W2, b2 = x[65 * h:75 * h].view(10, h), x[75 * h:]
        z = torch.tanh(X @ W1.T + b1) @ W2.T + b2
        return (torch.logsumexp(z, 1) - z.gather(1, y[:, None])[:, 0]).mean() + 0.5 * wd * (x @ x)
    return f


def _data(obj):
    return obj.base.batches[0] if isinstance(obj, WeightDecayed) else obj.batches[0]


# --- a critical point known in closed form: every hidden unit switched off -------------------------------------------
def _constant_network_point(X, y, h, wd):
    """W1 = 0, b1 = 0, W2 = 0 and b2 with softmax(b2) − freq + wd·b2 = 0 (solved in numpy): the network outputs the
    class prior. Its Hessian is block diagonal: per hidden unit [[wd·I, Cᵀ], [C, wd·I]] on (W1[j], b1[j]) ⊕ W2[:, j]
    with C = mean_i (p − e_{y_i}) [x_i, 1]ᵀ [10, 65] (eigenvalues wd ± σ_k(C) and wd), and diag(p) − ppᵀ + wd·I on
    b2. Returns (x* [75h + 10], exact eigenvalues [75h + 10], loss)."""
    Xn, yn = X.numpy(), y.numpy()
    freq = np.bincount(yn, minlength=10) / len(yn)
    sm = lambda b: np.exp(b - b.max()) / np.exp(b - b.max()).sum()
    b2 = np.log(freq)
    for _ in range(30):             # Newton on softmax(b) − freq + wd·b = 0 (strictly monotone: one root)
        p = sm(b2)
        b2 = b2 - np.linalg.solve(np.diag(p) - np.outer(p, p) + wd * np.eye(10), p - freq + wd * b2)
    p = sm(b2)
    assert np.abs(p - freq + wd * b2).max() < 1e-15
    C = ((p[None, :] - np.eye(10)[yn]).T @ np.hstack([Xn, np.ones((len(Xn), 1))])) / len(Xn)
    s = np.linalg.svd(C, compute_uv=False)
    unit = np.concatenate([wd + s, wd - s, np.full(75 - 20, wd)])
    ev = np.sort(np.concatenate([np.tile(unit, h), np.linalg.eigvalsh(np.diag(p) - np.outer(p, p)) + wd]))
    x = np.zeros(75 * h + 10)
    x[75 * h:] = b2
    loss = -(freq * np.log(p)).sum() + 0.5 * wd * b2 @ b2
    return torch.tensor(x), ev, loss, s


def test_solver_finds_the_constant_network_saddle_with_its_exact_spectrum():
    h, wd = 3, 1e-2
    obj = WeightDecayed(digits_objective(tiny_mlp(h), samples=60), wd)
    X, y = _data(obj)
    x_star, ev_exact, loss_exact, s = _constant_network_point(X, y, h, wd)
    start = x_star + 1e-3 * torch.randn(obj.n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    r = find_critical_point(obj, start, tol=1e-11)
    assert r.converged and r.status == "converged" and r.hessians >= 1
    assert float((r.x - x_star).abs().max()) < 1e-8
    f = _independent_loss(X, y, h, wd)
    assert float(grad(f)(r.x).norm()) <= 1e-11
    assert float(f(r.x)) == pytest.approx(loss_exact, rel=1e-12)
    ev = torch.linalg.eigvalsh(dense_hessian(obj, r.x)).numpy()
    assert np.allclose(ev, ev_exact, atol=1e-9)
    neg, zero, lo, hi, small = point_index(obj, r.x)
    assert neg == h * int((s > wd).sum()) and zero == 0 and neg > 0       # a saddle of known index
    assert lo == pytest.approx(ev_exact[0], abs=1e-9) and small == pytest.approx(np.abs(ev_exact).min(), abs=1e-9)


# --- exact math on an analytic function: Himmelblau's nine critical points -------------------------------------------
def _himmelblau_points():
    """All nine critical points by sympy nsolve (50 digits) from rough guesses, with their index from the exact
    Hessian."""
    x, y = sp.symbols("x y")
    f = (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2
    g = [sp.diff(f, v) for v in (x, y)]
    H = sp.hessian(f, (x, y))
    guesses = [(3, 2), (-2.8, 3.1), (-3.8, -3.3), (3.6, -1.8), (0.09, 2.88), (-3.07, -0.08), (3.39, 0.07),
               (-0.13, -1.95), (-0.27, -0.92)]
    out = []
    for gx, gy in guesses:
        sol = sp.nsolve(g, (x, y), (gx, gy), prec=50)
        Hs = H.subs({x: sol[0], y: sol[1]})
        det, tr = Hs.det(), Hs.trace()          # 2 x 2: the signs of det and trace give the eigenvalue signs
        out.append((float(sol[0]), float(sol[1]), 1 if det < 0 else (0 if tr > 0 else 2)))
    return out


def test_solver_reaches_each_himmelblau_critical_point_with_its_exact_index():
    obj = resolve("himmelblau")
    hand = lambda v: (v[0] ** 2 + v[1] - 11) ** 2 + (v[0] + v[1] ** 2 - 7) ** 2
    kinds = []
    for px, py, neg_exact in _himmelblau_points():
        exact = torch.tensor([px, py], dtype=torch.float64)
        r = find_critical_point(obj, exact + torch.tensor([0.05, -0.04], dtype=torch.float64), tol=1e-10)
        assert r.converged and float((r.x - exact).norm()) < 1e-9
        assert float(grad(hand)(r.x).norm()) <= 1e-10
        neg, zero, *_ = point_index(obj, r.x)
        assert (neg, zero) == (neg_exact, 0)
        kinds.append(neg)
    assert sorted(kinds) == [0, 0, 0, 0, 1, 1, 1, 1, 2]


def test_saddle_free_newton_leaves_a_saddle_for_a_minimum():
    obj = resolve("himmelblau")
    (px, py, neg), = [p for p in _himmelblau_points() if p[2] == 1][:1]
    start = torch.tensor([px + 0.05, py - 0.04], dtype=torch.float64)
    r = find_critical_point(obj, start, tol=1e-10, target="minimum")
    assert r.converged and point_index(obj, r.x)[0] == 0 and float(obj.value(r.x)) < 1e-18


def test_newton_mr_on_hessian_vector_products_matches_the_dense_solver():
    obj = resolve("himmelblau")
    start = torch.tensor([0.14, 2.84], dtype=torch.float64)          # near the saddle (0.0867, 2.8843)
    mr = find_critical_point(obj, start, tol=1e-10, dense_max=1)
    dense = find_critical_point(obj, start, tol=1e-10)
    assert mr.converged and mr.hvps > 0 and mr.hessians == 0
    assert float((mr.x - dense.x).norm()) < 1e-8


class _Quadratic(Objective):
    """f(x) = ½ (x − a)ᵀ A (x − a), A = Q diag(−3, −1, 0.5, 2, 5) Qᵀ: one critical point a, index 2/5."""

    names = tuple("abcde")

    def __init__(self):
        q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
        self.A = q @ torch.diag(torch.tensor([-3.0, -1.0, 0.5, 2.0, 5.0], dtype=torch.float64)) @ q.T
        self.a = torch.arange(5, dtype=torch.float64)

    def f(self, x):
        return 0.5 * (x - self.a) @ self.A @ (x - self.a)


def test_quadratic_critical_point_in_one_newton_step():
    obj = _Quadratic()
    r = find_critical_point(obj, torch.zeros(5, dtype=torch.float64), tol=1e-12)
    assert r.converged and r.iterations == 1 and torch.allclose(r.x, obj.a, atol=1e-12)
    assert point_index(obj, r.x)[:2] == (2, 0)


# --- the network experiment ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_run():
    return network_saddles(hidden=2, samples=40, inits=1, path_steps=(5,), warmup=100, seed=0)


def test_dense_hessian_matches_forward_over_reverse_hessian():
    obj = WeightDecayed(digits_objective(tiny_mlp(2), samples=40), 1e-2)
    x = obj.base.x0
    f = _independent_loss(*_data(obj), 2, 1e-2)
    assert torch.allclose(dense_hessian(obj, x), hessian(f)(x), atol=1e-12)


def test_value_and_grad_and_descent_match_torch_func_on_the_subspace_objective():
    """The solver's own gradients (backward passes) are exactly torch.func's, and gradient descent is x − η∇f."""
    obj = WeightDecayed(digits_objective(tiny_mlp(3), samples=40), 1e-2)
    sub = Subspace(obj, unit_coordinates(3, 2))
    z = obj.base.x0[sub.keep] + 0.1
    v, g = value_and_grad(sub, z)
    assert torch.equal(v, sub.f(z)) and torch.equal(g, grad(sub.f)(z))
    f = _independent_loss(*_data(obj), 3, 1e-2)
    assert torch.allclose(value_and_grad(obj, obj.base.x0)[1], grad(f)(obj.base.x0), atol=1e-14)
    (k1, z1), (k2, z2) = gd_snapshots(sub, z, 0.5, (1, 2))
    assert (k1, k2) == (1, 2)
    assert torch.equal(z1, z - 0.5 * grad(sub.f)(z)) and torch.equal(z2, z1 - 0.5 * grad(sub.f)(z1))


def test_network_points_are_critical_by_an_independent_gradient_and_index(small_run):
    r = small_run
    obj = WeightDecayed(digits_objective(tiny_mlp(2), samples=40), 1e-2)
    f = _independent_loss(*_data(obj), 2, 1e-2)
    scale = float(grad(f)(obj.base.x0).norm())
    assert r.gradient_scale == pytest.approx(scale, rel=1e-12) and r.tol == pytest.approx(1e-8 * scale)
    assert r.n_params == 64 * 2 + 2 + 20 + 10 and len(r.points) == 1 + 2 + 1
    reduced = [p for p in r.points if p.family == "reduced"]
    assert all(p.converged for p in reduced)
    for p in r.points:
        assert (p.gradient_norm <= r.tol) == p.converged and p.index == p.negative / p.n
    assert [p.units for p in reduced] == [0, 1, 2]
    assert reduced[0].negative > reduced[-1].negative          # units off: saddle; all units trained: fewer or none


def test_network_point_gradient_and_index_recomputed_with_torch_func(small_run):
    """Re-run the search for one point and check it with a hand-written loss: ‖∇f‖ <= tol, and the negative count
    against torch.linalg.eigvalsh(torch.func.hessian(f)); embedded points: the full Hessian is the reduced Hessian
    ⊕ one [[wd·I, Cᵀ], [C, wd·I]] block per switched-off unit, C from that point's residuals."""
    h, wd = 2, 1e-2
    obj = WeightDecayed(digits_objective(tiny_mlp(h), samples=40), wd)
    X, y = _data(obj)
    f = _independent_loss(X, y, h, wd)
    sub = Subspace(obj, unit_coordinates(h, 1))
    low = find_critical_point(sub, sub.point(obj.base.x0[sub.keep]), small_run.tol, target="minimum")
    x = sub.embed(low.x)
    assert low.converged and float(grad(f)(x).norm()) <= small_run.tol
    ev = torch.linalg.eigvalsh(hessian(f)(x))
    neg, zero, *_ = point_index(obj, x)
    assert neg == int((ev < 0).sum()) and zero == 0
    # the switched-off unit 1: residuals of the one-unit network, C = mean_i (p_i − e_{y_i}) [x_i, 1]ᵀ
    W1, b1, W2, b2 = x[:64 * h].view(h, 64), x[64 * h:65 * h], x[65 * h:75 * h].view(10, h), x[75 * h:]
    p = torch.softmax(torch.tanh(X @ W1.T + b1) @ W2.T + b2, 1)
    C = (p - torch.nn.functional.one_hot(y, 10)).T @ torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], 1) / len(X)
    s = torch.linalg.svdvals(C)
    reduced_neg = int((torch.linalg.eigvalsh(hessian(lambda z: f(sub.embed(z)))(low.x)) < 0).sum())
    assert reduced_neg == 0                                      # a minimum of the one-unit network
    assert neg == int((s > wd).sum())


def test_distinct_points_merge_equal_loss_and_index():
    pts = [_pt(1.0, 0.1), _pt(1.0 + 1e-12, 0.1), _pt(1.0, 0.2), _pt(2.0, 0.1, ok=False)]
    assert len(distinct_points(pts)) == 2


def _pt(loss, index, ok=True):
    return NetworkPoint("s", "reduced", 1, loss, loss, loss, 0.0, ok, "converged" if ok else "stalled", 1, 1, 0, 100,
                         int(round(index * 100)), 0, index, -1.0, 1.0, 0.1)


def test_fit_verdicts():
    pairs = [(0.1, 0.0), (0.5, 0.05), (1.0, 0.1), (1.5, 0.2), (2.0, 0.3), (2.2, 0.35)]
    rising = [_pt(l, i) for l, i in pairs]
    distinct, slope, intercept, lin_rmse, rho, p, scale, ec, pb_rmse, verdict, reason = _fit(rising)
    assert verdict == "saddles_high_minima_low" and distinct == 6 and rho == pytest.approx(1.0)
    assert "every minimum lies below every saddle" in reason
    # the linear fit in closed form: slope = cov(ε, α) / var(ε), intercept = mean α − slope · mean ε
    e, a = np.array([l for l, _ in pairs]), np.array([i for _, i in pairs])
    want = ((e - e.mean()) @ (a - a.mean())) / ((e - e.mean()) @ (e - e.mean()))
    assert slope == pytest.approx(want, rel=1e-12) and intercept == pytest.approx(a.mean() - want * e.mean(), rel=1e-12)
    assert lin_rmse == pytest.approx(float(np.sqrt(np.mean((want * e + a.mean() - want * e.mean() - a) ** 2))), rel=1e-9)
    assert lin_rmse > 0.005                                     # the points are not on a line
    # a point following α = α₀((ε − ε_c)/ε_c)^{3/2} exactly is fitted exactly
    exact = [_pt(e, 0.2 * max(0.0, (e - 0.5) / 0.5) ** 1.5) for e in (0.3, 0.6, 0.9, 1.2, 1.6, 2.0, 2.5)]
    exact = [dataclasses.replace(q, negative=int(q.index > 0)) for q in exact]
    *_, scale, ec, pb_rmse, _, _ = _fit(exact)
    assert scale == pytest.approx(0.2 / 0.5 ** 1.5, rel=1e-4) and ec == pytest.approx(0.5, rel=1e-4) and pb_rmse < 1e-6
    mixed = rising[:5] + [_pt(0.3, 0.1)]                         # saddles anywhere above the only minimum
    assert _fit(mixed)[9] == "saddles_high_minima_low"
    unsorted = [_pt(l, i) for l, i in [(0.1, 0.05), (0.5, 0.0), (1.0, 0.1), (1.5, 0.2), (2.0, 0.3), (2.2, 0.35)]]
    assert _fit(unsorted)[9] == "index_rises_with_loss"          # a saddle below a minimum: only the trend holds
    falling = [_pt(l, 0.4 - i) for l, i in pairs]
    assert _fit(falling)[9] == "not_observed"
    assert _fit(rising[:4])[9] == "unknown" and "need 5" in _fit(rising[:4])[10]
    assert _fit(rising[:4] + [_pt(3.0, 0.9, ok=False)] * 3)[9] == "unknown"   # unconverged points do not count
    flat = [_pt(l, 0.1) for l, _ in pairs]
    assert _fit(flat)[9] == "unknown" and "one index" in _fit(flat)[10]
    # index 0 with a zero eigenvalue is degenerate, not a minimum: the only "minimum" of `rising` then proves nothing
    degenerate = [dataclasses.replace(rising[0], zero=1)] + rising[1:]
    assert _fit(degenerate)[9] == "index_rises_with_loss" and "0 minima" in _fit(degenerate)[10]


def test_bad_input():
    with pytest.raises(InputError, match=r"hidden == 0, must be an integer in \[1, 64\]"):
        network_saddles(hidden=0)
    with pytest.raises(InputError, match=r"samples == 5, must be an integer in \[10, "):
        digits_objective(tiny_mlp(2), samples=5)
    with pytest.raises(InputError, match=r"rtol == 0.0, must be > 0"):
        network_saddles(rtol=0)
    with pytest.raises(InputError, match=r"weight_decay == 0.0, must be > 0"):
        network_saddles(weight_decay=0)
    with pytest.raises(InputError, match=r"path_steps == -1, must be an integer"):
        network_saddles(path_steps=(0, -1))
    with pytest.raises(InputError, match=r"inits == 0, must be an integer"):
        network_saddles(inits=0)
    obj = resolve("himmelblau")
    x0 = torch.zeros(2, dtype=torch.float64)
    with pytest.raises(InputError, match=r"tol == -1.0, must be > 0"):
        find_critical_point(obj, x0, tol=-1)
    with pytest.raises(InputError, match=r"max_iter == 0, must be an integer"):
        find_critical_point(obj, x0, tol=1e-8, max_iter=0)
    with pytest.raises(InputError, match=r"target == 'maximum', must be one of"):
        find_critical_point(obj, x0, tol=1e-8, target="maximum")
    with pytest.raises(InputError, match=r"target == 'minimum' needs the dense Hessian, n == 2 > dense_max == 1"):
        find_critical_point(obj, x0, tol=1e-8, target="minimum", dense_max=1)
    with pytest.raises(InputError, match=r"x0 "):
        find_critical_point(obj, torch.zeros(3), tol=1e-8)


@pytest.mark.slow
def test_every_converged_point_of_a_larger_run_checked_independently():
    h, wd = 4, 1e-2
    r = network_saddles(hidden=h, samples=150, inits=2, path_steps=(10,), seed=0)
    obj = WeightDecayed(digits_objective(tiny_mlp(h), samples=150), wd)
    f = _independent_loss(*_data(obj), h, wd)
    reduced = [p for p in r.points if p.family == "reduced"]
    assert all(p.converged for p in reduced) and r.distinct >= 5
    for p in r.points:
        assert (p.gradient_norm <= r.tol) == p.converged
    # re-run two searches (the constant network and a full-network minimum) and check them with torch.func
    for k in (0, h):
        sub = Subspace(obj, unit_coordinates(h, k))
        low = find_critical_point(sub, sub.point(obj.base.x0[sub.keep]), r.tol, target="minimum")
        x = sub.embed(low.x)
        assert low.converged and float(grad(f)(x).norm()) <= r.tol
        ev = torch.linalg.eigvalsh(hessian(f)(x))
        assert point_index(obj, x)[0] == int((ev < 0).sum())
        assert (int((ev < 0).sum()) == 0) == (k == h)          # all units on: a minimum; all off: a saddle
