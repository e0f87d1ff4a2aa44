import math

import pytest
import torch
from torch import nn

from losslens.landscape import directions as D
from losslens.model import ModelObjective
from losslens.objective import FunctionObjective
from losslens.validation import InputError


def conv_objective():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    X, y = torch.randn(8, 1, 6, 6), torch.randint(0, 5, (8,))
    return ModelObjective(net, nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)


@pytest.mark.parametrize("bias", ["zero", "copy", "filter"])
def test_each_filter_has_its_weights_filter_norm(bias):
    obj = conv_objective()
    d = D.gaussian(obj.x0, 2, seed=3, layout=obj.layout, bias=bias)
    assert d.kind == "filter" and d.vectors.shape == (2, obj.n)
    for vec in d.vectors:
        dp, wp = obj.unflatten(vec), obj.unflatten(obj.x0)
        for name, w in wp.items():
            if w.dim() >= 2:   # conv [3,1,3,3] and linear [5,48]: one norm per output filter
                got = dp[name].reshape(w.shape[0], -1).norm(dim=1)
                want = w.reshape(w.shape[0], -1).norm(dim=1)
                torch.testing.assert_close(got, want, rtol=1e-9, atol=0)
            elif bias == "zero":
                assert torch.count_nonzero(dp[name]) == 0
            elif bias == "copy":
                assert torch.equal(dp[name], w)
            else:
                assert math.isclose(float(dp[name].norm()), float(w.norm()), rel_tol=1e-9)


def test_gaussian_is_seeded():
    obj = conv_objective()
    a = D.gaussian(obj.x0, seed=1, layout=obj.layout)
    b = D.gaussian(obj.x0, seed=1, layout=obj.layout)
    c = D.gaussian(obj.x0, seed=2, layout=obj.layout)
    assert torch.equal(a.vectors, b.vectors) and not torch.equal(a.vectors, c.vectors)
    assert a.settings() == b.settings() and a.settings()["fingerprint"] != c.settings()["fingerprint"]
    plain = D.gaussian(torch.zeros(5), 1, seed=1, normalize="none")
    g = torch.Generator().manual_seed(1)
    assert torch.equal(plain.vectors, torch.randn(1, 5, generator=g, dtype=torch.float64).float())


def quadratic(A):
    return FunctionObjective(lambda x: 0.5 * x @ A @ x, n=A.shape[0])


@pytest.mark.parametrize("dense_max_n", [100, 0])   # dense eigh, then Lanczos on HVPs
def test_hessian_eigenvectors_of_a_quadratic(dense_max_n):
    Q, _ = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    lam = torch.tensor([-3.0, -1.0, 0.5, 1.0, 2.0, 7.0], dtype=torch.float64)
    A = Q @ torch.diag(lam) @ Q.T
    d = D.hessian_eigen(quadratic(A), torch.zeros(6, dtype=torch.float64), ("top", "bottom"),
                        dense_max_n=dense_max_n, tol=1e-12)
    assert d.info["method"] == ("dense" if dense_max_n else "lanczos")
    assert d.info["eigenvalues"] == pytest.approx([7.0, -3.0], abs=1e-8)
    for v, j in zip(d.vectors, (5, 0)):
        assert abs(float(v @ Q[:, j])) == pytest.approx(1.0, abs=1e-8)


def test_hessian_directions_by_lanczos_within_a_small_memory_budget():
    n = 300
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    lam = torch.cat([torch.tensor([-5.0, 9.0], dtype=torch.float64), torch.linspace(-1, 4, n - 2, dtype=torch.float64)])
    A = Q @ torch.diag(lam) @ Q.T
    budget = 8 * n * (6 + 15)                     # 6 work vectors + a 10-vector basis with 5 restart copies
    d = D.hessian_eigen(quadratic(A), torch.zeros(n, dtype=torch.float64), ("top", "bottom"), dense_max_n=100,
                        tol=1e-10, memory=budget)
    assert d.info["method"] == "lanczos" and d.info["thick_restarts"] > 0 and d.info["converged"]
    assert d.info["eigenvalues"] == pytest.approx([9.0, -5.0], abs=1e-8)
    for v, j in zip(d.vectors, (1, 0)):
        assert abs(float(v @ Q[:, j])) == pytest.approx(1.0, abs=1e-8)


def test_pca_recovers_the_trajectory_plane():
    g = torch.Generator().manual_seed(0)
    U, _ = torch.linalg.qr(torch.randn(30, 2, generator=g, dtype=torch.float64))
    t = torch.linspace(0, 1, 12, dtype=torch.float64)
    coeffs = torch.stack([3 * (1 - t), 4 * t * (1 - t) * (2 - t)], dim=1)    # ends at (0, 0)
    final = torch.randn(30, generator=g, dtype=torch.float64)
    C = final + coeffs @ U.T
    d = D.pca(C)
    torch.testing.assert_close(d.origin, final)
    torch.testing.assert_close(d.vectors @ d.vectors.T, torch.eye(2, dtype=torch.float64))
    # the plane is span(U): the coordinates reproduce every checkpoint exactly
    torch.testing.assert_close(final + d.info["coordinates"] @ d.vectors, C)
    M = coeffs - coeffs.mean(0)
    s = torch.linalg.svdvals(M)
    assert d.info["explained_variance_ratio"] == pytest.approx((s ** 2 / (s ** 2).sum()).tolist())
    assert (d.info["coordinates"][0] >= 0).all()


def test_line_endpoints():
    d = D.line(torch.tensor([1.0, 2.0]), torch.tensor([3.0, -1.0]))
    assert torch.equal(d.origin + d.vectors[0], torch.tensor([3.0, -1.0]))
    assert d.info["distance"] == pytest.approx(math.hypot(2, 3))


def test_bad_input():
    with pytest.raises(InputError, match="bias == 'keep', must be one of 'zero', 'copy', 'filter'"):
        D.gaussian(torch.zeros(3), bias="keep")
    with pytest.raises(InputError, match="k == 3, must be an integer in"):
        D.gaussian(torch.zeros(3), 3)
    with pytest.raises(InputError, match="theta contains non-finite"):
        D.gaussian(torch.tensor([1.0, math.nan]))
    with pytest.raises(InputError, match="which == .*must be one or two of 'top', 'bottom'"):
        D.hessian_eigen(quadratic(torch.eye(2)), torch.zeros(2), ("middle",))
    with pytest.raises(InputError, match="checkpoints has 2 rows, PCA with 2 direction"):
        D.pca(torch.zeros(2, 5))
    with pytest.raises(InputError, match="spans fewer than 2 directions"):
        D.pca(torch.ones(4, 5))
    with pytest.raises(InputError, match="checkpoints has shape \\(5,\\), must be \\[T, n\\]"):
        D.pca(torch.ones(5))
    with pytest.raises(InputError, match="a has 2 parameters and b 3"):
        D.line(torch.zeros(2), torch.zeros(3))
    with pytest.raises(InputError, match="direction has shape"):
        D.filter_normalize(torch.zeros(2), torch.zeros(3))
