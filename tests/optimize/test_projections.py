import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from losslens.optimize.projections import (Affine, BoxSet, Halfspace, L1Ball, L2Ball, Simplex, make_set, project)
from losslens.validation import InputError

T = lambda v: torch.tensor(v, dtype=torch.float64)


def brute_force(x, cons, n):
    """min ½‖y − x‖² over the set by SLSQP at tight tolerance (an independent convex solve)."""
    x = np.asarray(x, dtype=float)
    r = minimize(lambda y: 0.5 * ((y - x) ** 2).sum(), x.copy(), jac=lambda y: y - x, constraints=cons,
                 method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    return r.x


def variational_inequality(s, x, p, samples):
    """P(x) is the projection iff (x − p)·(y − p) ≤ 0 for every y in the convex set."""
    return max(float((x - p) @ (y - p)) for y in samples)


@pytest.mark.parametrize("seed", range(5))
def test_box_is_clip_and_matches_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    x = 3 * torch.randn(4, generator=g, dtype=torch.float64)
    lo, hi = T([-1.0, 0.0, -math.inf, 2.0]), T([1.0, 0.5, 0.0, math.inf])
    p = BoxSet(lo, hi).project(x)
    assert torch.equal(p, torch.clamp(x, min=lo, max=hi))
    cons = [{"type": "ineq", "fun": lambda y, i=i: y[i] - float(lo[i])} for i in (0, 1, 3)]
    cons += [{"type": "ineq", "fun": lambda y, i=i: float(hi[i]) - y[i]} for i in (0, 1, 2)]
    assert np.abs(brute_force(x.numpy(), cons, 4) - p.numpy()).max() < 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_l2_ball_closed_form_and_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    x = 3 * torch.randn(3, generator=g, dtype=torch.float64)
    c, r = T([0.5, -1.0, 0.0]), 1.3
    p = L2Ball(c, r).project(x)
    d = x - c
    expected = x if d.norm() <= r else c + r * d / d.norm()
    assert torch.allclose(p, expected, atol=1e-15)
    cons = [{"type": "ineq", "fun": lambda y: r ** 2 - ((y - c.numpy()) ** 2).sum()}]
    assert np.abs(brute_force(x.numpy(), cons, 3) - p.numpy()).max() < 1e-6


def _l1_exact(x, r):
    """Exact L1 projection by enumerating supports and signs: for support S with signs s, y_S = x_S − θ s with
    θ = (Σ_S |x_i| − r)/|S|; the projection is the nearest candidate satisfying the KKT sign conditions."""
    import itertools
    if np.abs(x).sum() <= r:
        return x
    n, best, best_d = len(x), None, np.inf
    for k in range(1, n + 1):
        for S in itertools.combinations(range(n), k):
            S = list(S)
            theta = (np.abs(x[S]).sum() - r) / k
            y = np.zeros(n)
            y[S] = x[S] - theta * np.sign(x[S])
            ok = theta >= 0 and np.all(np.sign(y[S]) == np.sign(x[S])) and np.all(
                np.abs(np.delete(x, S)) <= theta + 1e-12)
            if ok and np.abs(y).sum() <= r + 1e-12 and ((y - x) ** 2).sum() < best_d:
                best, best_d = y, ((y - x) ** 2).sum()
    return best


@pytest.mark.parametrize("seed", range(8))
def test_l1_ball_exact_by_support_enumeration(seed):
    g = torch.Generator().manual_seed(seed)
    x = 2 * torch.randn(4, generator=g, dtype=torch.float64)
    p = L1Ball(torch.zeros(4, dtype=torch.float64), 1.0).project(x)
    assert np.abs(_l1_exact(x.numpy(), 1.0) - p.numpy()).max() < 1e-12
    assert float(p.abs().sum()) <= 1.0 + 1e-12


def test_l1_ball_with_center_inside_and_zero_radius():
    b = L1Ball(T([1.0, 1.0]), 0.5)
    assert torch.equal(b.project(T([1.2, 1.1])), T([1.2, 1.1]))
    assert torch.allclose(b.project(T([3.0, 1.0])), T([1.5, 1.0]))
    assert torch.equal(L1Ball(T([0.0, 0.0]), 0.0).project(T([1.0, 2.0])), T([0.0, 0.0]))


@pytest.mark.parametrize("seed", range(5))
def test_simplex_matches_brute_force_and_variational_inequality(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(5, generator=g, dtype=torch.float64)
    p = Simplex(1.0).project(x)
    assert abs(float(p.sum()) - 1) < 1e-14 and float(p.min()) >= 0
    cons = [{"type": "eq", "fun": lambda y: y.sum() - 1}, {"type": "ineq", "fun": lambda y: y}]
    assert np.abs(brute_force(x.numpy(), cons, 5) - p.numpy()).max() < 1e-6
    samples = torch.distributions.Dirichlet(torch.ones(5, dtype=torch.float64)).sample((2000,))
    assert variational_inequality(None, x, p, samples) <= 1e-12


def test_simplex_known_values():
    assert torch.allclose(Simplex().project(T([0.5, 0.5, 0.5])), T([1 / 3, 1 / 3, 1 / 3]))
    assert torch.allclose(Simplex().project(T([2.0, 0.0])), T([1.0, 0.0]))
    assert torch.allclose(Simplex(2.0).project(T([1.0, 0.0])), T([1.5, 0.5]))


@pytest.mark.parametrize("seed", range(4))
def test_affine_closed_form_and_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(2, 4, generator=g, dtype=torch.float64)
    b = torch.randn(2, generator=g, dtype=torch.float64)
    x = torch.randn(4, generator=g, dtype=torch.float64)
    p = Affine(A, b).project(x)
    expected = x - A.T @ torch.linalg.solve(A @ A.T, A @ x - b)
    assert torch.allclose(p, expected, atol=1e-12)
    cons = [{"type": "eq", "fun": lambda y: A.numpy() @ y - b.numpy()}]
    assert np.abs(brute_force(x.numpy(), cons, 4) - p.numpy()).max() < 1e-6


def test_affine_rank_deficient_and_inconsistent():
    A = T([[1.0, 1.0], [2.0, 2.0]])
    p = Affine(A, T([1.0, 2.0])).project(T([0.0, 0.0]))
    assert torch.allclose(p, T([0.5, 0.5]))
    with pytest.raises(InputError, match="inconsistent"):
        Affine(A, T([1.0, 3.0]))


@pytest.mark.parametrize("seed", range(4))
def test_halfspace_closed_form(seed):
    g = torch.Generator().manual_seed(seed)
    a, x = torch.randn(3, generator=g, dtype=torch.float64), 3 * torch.randn(3, generator=g, dtype=torch.float64)
    p = Halfspace(a, 0.5).project(x)
    excess = max(0.0, float(a @ x) - 0.5)
    assert torch.allclose(p, x - excess / float(a @ a) * a, atol=1e-14)
    cons = [{"type": "ineq", "fun": lambda y: 0.5 - a.numpy() @ y}]
    assert np.abs(brute_force(x.numpy(), cons, 3) - p.numpy()).max() < 1e-6


def test_project_result_and_make_set():
    r = project(make_set("l2", 2, radius=1.0), "3,4")
    assert r.projection.tolist() == pytest.approx([0.6, 0.8]) and r.distance == pytest.approx(4.0)
    assert not r.inside and r.to_dict()["set"]["kind"] == "l2"
    assert project(make_set("box", 2, lo=[-1], hi=[1]), [0.5, 2.0]).projection.tolist() == [0.5, 1.0]
    assert project(make_set("simplex", 3), [0.2, 0.3, 0.5]).inside


@pytest.mark.parametrize("call, message", [
    (lambda: make_set("ellipse", 2), "set == 'ellipse', must be one of"),
    (lambda: make_set("l1", 2), "needs a radius"),
    (lambda: make_set("l2", 2, radius=-1.0), "radius == -1.0, must be >= 0.0"),
    (lambda: make_set("affine", 2), "needs A and b"),
    (lambda: make_set("halfspace", 2), "needs a and b"),
    (lambda: make_set("halfspace", 2, a=[0.0, 0.0], b=[1.0]), "must be finite and nonzero"),
    (lambda: make_set("l2", 2, radius=1.0, center=[1.0]), "center has 1 coordinate"),
    (lambda: make_set("halfspace", 3, a=[1.0, 1.0], b=[1.0]), "dimension 2, the point has 3"),
    (lambda: BoxSet(T([1.0]), T([0.0])), "must be numbers with lo <= hi"),
    (lambda: BoxSet(T([1.0, 2.0]), T([3.0])), "box lo has 2 and hi 1 entries"),
    (lambda: Affine(T([[1.0, 0.0]]), T([1.0, 2.0])), "A must be \\[m, n\\]"),
    (lambda: Affine(T([[math.inf, 0.0]]), T([1.0])), "must be finite"),
    (lambda: Simplex(0.0), "total == 0.0"),
])
def test_bad_sets(call, message):
    with pytest.raises(InputError, match=message):
        call()


@pytest.mark.parametrize("center, point, expected", [
    # ‖(1e308, ±1e308)‖ overflows when squared: the projection onto the unit ball was the center (0, 0)
    ([0.0, 0.0], [1e308, 1e308], [2 ** -0.5, 2 ** -0.5]),
    ([0.0, 0.0], [-1e308, 1e308], [-2 ** -0.5, 2 ** -0.5]),
    # x − c overflows: the projection was NaN; exactly it is c − (1, 0), which rounds to c at this size
    ([1e308, 0.0], [-1e308, 0.0], [1e308, 0.0]),
    ([0.0, 0.0], [3.0, 4.0], [0.6, 0.8]),
])
def test_l2_ball_projection_of_points_near_the_float_range(center, point, expected):
    p = project(L2Ball(T(center), 1.0), point)
    assert p.projection.tolist() == pytest.approx(expected, rel=1e-15, abs=1e-15)
    assert not p.inside and math.isfinite(p.distance) == math.isfinite(math.dist(center, point))


@pytest.mark.parametrize("a, b, point, expected", [
    ([1e-200, 1e-200], 0.0, [1.0, 1.0], [0.0, 0.0]),        # aᵀa underflowed to 0: ZeroDivisionError
    ([1e200, 1e200], 0.0, [1.0, 1.0], [0.0, 0.0]),          # aᵀa overflowed to inf: x returned, though aᵀx > 0
    ([1e200, 1e200], 2e200, [2.0, 2.0], [1.0, 1.0]),        # the same halfspace x + y <= 2, scaled
    ([1.0, 1.0], 2.0, [1e308, 1e308], [0.0, 0.0]),          # aᵀx overflowed: -inf; exactly (1, 1), rounds to 0 here
])
def test_halfspace_projection_with_extreme_scales(a, b, point, expected):
    """P(x) = x − (aᵀx − b)⁺/‖a‖² · a is unchanged when a and b are scaled together."""
    p = project(Halfspace(T(a), b), point)
    scale = max(1.0, max(abs(v) for v in point))
    assert p.projection.tolist() == pytest.approx(expected, abs=1e-15 * scale)
    assert not p.inside
