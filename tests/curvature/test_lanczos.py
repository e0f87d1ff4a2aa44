import pytest
import torch

from losslens import FunctionObjective, InputError
from losslens.curvature import HessianOperator, lanczos

from .conftest import random_symmetric


def test_tiny_network_top_and_bottom_match_dense_hessian(tiny_model_objective):
    _, obj = tiny_model_objective
    x = obj.x0 + 0.1
    eig = torch.linalg.eigvalsh(obj.hessian(x))
    r = lanczos(obj, x, top=3, bottom=3, tol=1e-12, seed=1)
    assert r.converged and r.hvps == r.iterations <= obj.n
    torch.testing.assert_close(r.top_values, eig.flip(0)[:3], rtol=0, atol=1e-8)
    torch.testing.assert_close(r.bottom_values, eig[:3], rtol=0, atol=1e-8)
    assert eig[0] < -1e-3       # the net is away from a minimum: the bottom is really negative


def test_ritz_vectors_have_the_reported_residuals(tiny_model_objective):
    _, obj = tiny_model_objective
    x = obj.x0
    H = obj.hessian(x)
    r = lanczos(obj, x, top=2, bottom=2, tol=1e-6, seed=0)
    for vals, vecs, res in ((r.top_values, r.top_vectors, r.top_residuals),
                            (r.bottom_values, r.bottom_vectors, r.bottom_residuals)):
        torch.testing.assert_close(vecs @ vecs.T, torch.eye(2, dtype=torch.float64), rtol=0, atol=1e-10)
        true_res = torch.linalg.vector_norm(vecs @ H - vals[:, None] * vecs, dim=1)
        assert (true_res <= res + 1e-10).all()
        assert (res <= r.tol * r.scale).all()


def test_unused_parameters_give_exact_zero_eigenvalues(tiny_model_objective):
    _, obj = tiny_model_objective
    spare = [b for b in obj.layout if b.name.startswith("spare")]
    assert sum(b.numel for b in spare) == 6
    H = obj.hessian(obj.x0)
    r = lanczos(obj, obj.x0, top=2, bottom=2, tol=1e-12)
    eig = torch.linalg.eigvalsh(H)
    torch.testing.assert_close(r.bottom_values, eig[:2], rtol=0, atol=1e-8)


def test_repeated_eigenvalues_found_through_restarts():
    A = random_symmetric([5, 5, 5, 1, 1, 0, 0, 0, 0, -2, -2])
    r = lanczos(A, top=4, bottom=3, tol=1e-10)
    torch.testing.assert_close(r.top_values, torch.tensor([5.0, 5, 5, 1], dtype=torch.float64), rtol=0, atol=1e-10)
    torch.testing.assert_close(r.bottom_values, torch.tensor([-2.0, -2, 0], dtype=torch.float64), rtol=0, atol=1e-10)
    assert r.restarts >= 2 and r.converged


def test_large_spectrum_converges_in_far_fewer_products_than_n():
    lam = torch.cat([torch.tensor([50.0, 30.0, -8.0]), torch.linspace(-1, 5, 997, dtype=torch.float64)])
    r = lanczos(random_symmetric(lam, seed=3), top=2, bottom=1, seed=0)
    torch.testing.assert_close(r.top_values, torch.tensor([50.0, 30.0], dtype=torch.float64), rtol=1e-10, atol=0)
    assert r.lambda_min == pytest.approx(-8.0, rel=1e-10) and r.converged and r.hvps < 100


def test_budget_exhausted_is_reported_not_hidden():
    r = lanczos(random_symmetric(torch.linspace(-1, 1, 300), seed=1), top=1, bottom=1, max_hvps=5)
    assert r.hvps == 5 and not r.converged and not r.top_converged.all()


def test_seed_reproducible_and_float32_products_accumulated_in_float64():
    A = random_symmetric(torch.linspace(-3, 7, 60))
    obj = FunctionObjective(lambda x: 0.5 * x @ (A.float() @ x), n=60, dtype=torch.float32)
    a = lanczos(obj, torch.zeros(60), top=1, bottom=1, seed=4)
    b = lanczos(obj, torch.zeros(60), top=1, bottom=1, seed=4)
    assert torch.equal(a.top_values, b.top_values) and a.top_values.dtype == torch.float64
    assert a.tol == pytest.approx(torch.finfo(torch.float32).eps ** 0.5)
    assert a.lambda_max == pytest.approx(7.0, rel=1e-5) and a.lambda_min == pytest.approx(-3.0, rel=1e-5)


def test_to_dict_leaves_out_vectors():
    d = lanczos(torch.eye(3), top=1, bottom=1).to_dict()
    assert "top_vectors" not in d and d["top_values"] == [pytest.approx(1.0)] and d["converged"] is True


@pytest.mark.parametrize("kwargs, match", [
    (dict(top=0, bottom=0), "top == 0 and bottom == 0, ask for at least one eigenvalue"),
    (dict(top=5), r"top == 5, bottom == 1: each must be <= n == 4"),
    (dict(top=-1), r"top == -1, must be an integer >= 0"),
    (dict(tol=0), r"tol == 0.0, must be in \(0, 1\]"),
    (dict(max_hvps=0), r"max_hvps == 0, must be an integer >= 1"),
    (dict(batch=0), r"batch == 0, must be an integer >= 1"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        lanczos(torch.eye(4), **kwargs)


def test_bad_operator():
    with pytest.raises(InputError, match=r"matrix has shape \(2, 3\), must be square"):
        lanczos(torch.zeros(2, 3))
    with pytest.raises(InputError, match="x is None, the Hessian needs a point"):
        lanczos(FunctionObjective(lambda x: x.sum(), n=2))
    with pytest.raises(InputError, match="operator == str, must be an Objective"):
        lanczos("H")
    with pytest.raises(InputError, match="HessianOperator needs an objective"):
        HessianOperator()


def test_nan_product_raises_floating_point_error():
    obj = FunctionObjective(lambda x: torch.sqrt(x).sum() * float("nan"), n=2)
    with pytest.raises(FloatingPointError, match="not finite"):
        lanczos(obj, [1.0, 1.0])
