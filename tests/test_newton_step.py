"""The shared damped Newton step against exact linear algebra (dense solves in float64)."""
import pytest
import torch

from losslens import InputError
from losslens.newton_step import newton_step

f64 = torch.float64


def _quadratic(n, seed, definite=True):
    """A = Qᵀ diag(s) Q with known signs, b random: f = ½xᵀAx − bᵀx, critical point A⁻¹b."""
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=f64))
    s = torch.linspace(0.5, 3.0, n, dtype=f64)
    if not definite:
        s[: n // 2] *= -1
    A = Q @ torch.diag(s) @ Q.T
    A = 0.5 * (A + A.T)
    return A, torch.randn(n, generator=g, dtype=f64), torch.randn(n, generator=g, dtype=f64) * 5


@pytest.mark.parametrize("definite", [True, False])
def test_one_undamped_step_lands_on_the_quadratics_critical_point(definite):
    A, b, x = _quadratic(6, 1, definite)
    lam, Q = torch.linalg.eigh(A)
    d = newton_step(lam, Q, A @ x - b)
    exact = torch.linalg.solve(A, b)
    assert torch.allclose(x + d, exact, rtol=0, atol=1e-12)
    sf = newton_step(lam, Q, A @ x - b, kind="saddle-free")
    if definite:    # |H| = H: the saddle-free step is Newton's step
        assert torch.allclose(x + sf, exact, rtol=0, atol=1e-12)
    else:           # it does not go to the saddle, it descends f
        assert torch.linalg.vector_norm(x + sf - exact) > 1e-3
        assert float((A @ x - b) @ sf) < 0


def test_damping_gives_the_regularised_least_squares_step_and_shrinks_it():
    A, b, x = _quadratic(5, 2, definite=False)
    lam, Q = torch.linalg.eigh(A)
    g = A @ x - b
    norms = []
    for mu in (0.0, 1e-3, 1e-1, 1.0, 10.0, 1e3):
        d = newton_step(lam, Q, g, mu)
        # argmin ‖g + A d‖² + μ‖d‖²: the normal equations (A² + μI) d = −A g
        exact = torch.linalg.solve(A @ A + mu * torch.eye(5, dtype=f64), -A @ g)
        assert torch.allclose(d, exact, rtol=1e-12, atol=1e-13)
        sf = newton_step(lam, Q, g, mu, kind="saddle-free")
        absA = Q @ torch.diag(lam.abs()) @ Q.T
        assert torch.allclose(sf, torch.linalg.solve(absA + mu * torch.eye(5, dtype=f64), -g), rtol=1e-12, atol=1e-13)
        norms.append(float(torch.linalg.vector_norm(d)))
    assert all(a > b for a, b in zip(norms, norms[1:]))       # more damping, shorter step
    mu = 1e8                                                    # heavy damping: gradient descent on ½‖g‖², step 1/μ
    assert torch.allclose(newton_step(lam, Q, g, mu) * mu, -A @ g, rtol=1e-6)


def test_singular_hessian_drop_gives_the_pseudo_inverse_step():
    A = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1e-15, 0.0], [0.0, 0.0, -1.0]], dtype=f64)
    g = torch.tensor([1.0, 1.0, 1.0], dtype=f64)
    lam, Q = torch.linalg.eigh(A)
    d = newton_step(lam, Q, g, drop=1e-12)
    pinv = torch.linalg.pinv(torch.diag(torch.tensor([2.0, 0.0, -1.0], dtype=f64)))
    assert torch.allclose(d, -pinv @ g, rtol=0, atol=1e-15)
    # without the cut-off the tiny eigenvalue gives a huge step along its direction
    assert float(newton_step(lam, Q, g).abs().max()) > 1e14
    # an exactly zero eigenvalue with μ = 0 gets gain 0, never inf or nan
    lam0 = torch.tensor([0.0, 1.0], dtype=f64)
    assert newton_step(lam0, torch.eye(2, dtype=f64), torch.ones(2, dtype=f64)).tolist() == [0.0, -1.0]
    assert newton_step(lam0, torch.eye(2, dtype=f64), torch.ones(2, dtype=f64), kind="saddle-free").tolist() == \
        [0.0, -1.0]


def test_batched_rows_with_their_own_damping_equal_single_steps():
    rows = [_quadratic(4, s, s % 2 == 0) for s in range(3)]
    H = torch.stack([A for A, _, _ in rows])
    G = torch.stack([A @ x - b for A, b, x in rows])
    mu = torch.tensor([0.0, 0.5, 2.0], dtype=f64)
    lam, Q = torch.linalg.eigh(H)
    D = newton_step(lam, Q, G, mu)
    for i in range(3):
        assert torch.allclose(D[i], newton_step(lam[i], Q[i], G[i], float(mu[i])), rtol=1e-13, atol=1e-14)


def test_unknown_kind_is_refused():
    lam, Q = torch.ones(2, dtype=f64), torch.eye(2, dtype=f64)
    with pytest.raises(InputError, match="kind == 'newton'"):
        newton_step(lam, Q, torch.ones(2, dtype=f64), kind="newton")
