import pytest
import torch

from losslens import FunctionObjective, InputError, parse
from losslens.curvature import HessianOperator


def test_hvp_at_equals_dense_hessian_products_single_and_batched():
    obj = parse("x^2*y + exp(x*z) - sin(y*z) + z^4")
    x = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64)
    H = obj.hessian(x)
    apply = obj.hvp_at(x)
    V = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(apply(V), V @ H, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(apply(V[0]), H @ V[0], rtol=1e-12, atol=1e-12)
    with pytest.raises(InputError, match=r"v has shape \(2,\), must be \[3\] or \[k, 3\]"):
        apply(torch.ones(2))


def test_affine_objective_has_a_zero_hessian_operator():
    op = HessianOperator(FunctionObjective(lambda x: 3 * x.sum(), n=4), torch.ones(4))
    assert torch.equal(op(torch.ones(2, 4, dtype=torch.float64)), torch.zeros(2, 4, dtype=torch.float64))


def test_cached_equals_uncached_on_a_network(tiny_model_objective):
    _, obj = tiny_model_objective
    V = torch.randn(3, obj.n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = HessianOperator(obj, obj.x0, batch=2)
    b = HessianOperator(obj, obj.x0, cache=False)
    torch.testing.assert_close(a(V), b(V), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(a(V[0]), V[0] @ obj.hessian(obj.x0), rtol=1e-12, atol=1e-12)
    assert a.hvps == 4 and b.hvps == 3
