import math

import pytest
import torch

from losslens import AnalyticObjective, Box, FunctionObjective, InputError, parse


def test_hvp_single_and_batch_equal_dense_hessian():
    obj = parse("x^2*y + exp(x*z) - sin(y*z) + z^4")
    x = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64)
    H = obj.hessian(x)
    V = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(obj.hvp(x, V), V @ H.T, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(obj.hvp(x, V[0]), H @ V[0], rtol=1e-12, atol=1e-12)


def test_values_match_pointwise_value_and_default_dtype():
    obj = parse("himmelblau")
    X = Box.cube(-5, 5, 2).sample(100, seed=1)
    vals = obj.values(X)
    assert vals.dtype == torch.float64 and vals.shape == (100,)
    torch.testing.assert_close(vals, torch.stack([obj.value(x) for x in X]), rtol=0, atol=0)
    torch.testing.assert_close(obj.grads(X)[7], obj.grad(X[7]))


def test_constant_expression_broadcasts_over_points():
    obj = AnalyticObjective("2 + 0*x", vars="x,y")
    assert obj.values(torch.zeros(4, 2)).shape == (4,)
    assert obj.grad([1.0, 2.0]).tolist() == [0.0, 0.0]


def test_value_and_grad_match_closed_form():
    obj = parse("rosenbrock")
    v, g = obj.value_and_grad([0.0, 0.0])
    assert v.item() == 1.0 and g.tolist() == [-2.0, 0.0]


def test_function_objective_generic_path():
    obj = FunctionObjective(lambda x: (x ** 2).sum() * 0.5, n=4)
    assert obj.names == ("x1", "x2", "x3", "x4")
    torch.testing.assert_close(obj.hessian(torch.ones(4)), torch.eye(4, dtype=torch.float64))
    torch.testing.assert_close(obj.values(torch.ones(3, 4)), torch.full((3,), 2.0, dtype=torch.float64))


def test_float32_objective_stays_float32():
    obj = AnalyticObjective("x^2 + 3*y", dtype=torch.float32)
    assert obj.value([1.0, 2.0]).dtype == torch.float32
    assert obj.values(torch.ones(3, 2)).dtype == torch.float32


@pytest.mark.parametrize("text, n, lo, hi", [
    ("-1:2,-3:3", 2, (-1.0, -3.0), (2.0, 3.0)),
    ("-1:1", 3, (-1.0,) * 3, (1.0,) * 3),
    (" 0:1e-3 ", 1, (0.0,), (0.001,)),
])
def test_box_parse(text, n, lo, hi):
    box = Box.parse(text, n)
    assert (box.lo, box.hi) == (lo, hi)


@pytest.mark.parametrize("text, n, match", [
    ("2:1", 1, r"box bound 0 == 2.0:1.0, must have lo < hi"),
    ("0:inf", 1, "must be finite"),
    ("nan:1", 1, "must be finite"),
    ("0:1,0:1,0:1", 2, "box has 3 lo:hi parts, the objective has 2"),
    ("0-1", 1, "must be lo:hi"),
    ("a:b", 1, "must be two numbers"),
    ("", 1, "box is empty"),
])
def test_box_parse_errors(text, n, match):
    with pytest.raises(InputError, match=match):
        Box.parse(text, n)


def test_box_sample_is_seeded_and_inside():
    box = Box((-1.0, 0.0), (1.0, 5.0))
    a, b = box.sample(50, seed=3), box.sample(50, seed=3)
    assert torch.equal(a, b) and all(box.contains(p) for p in a)


@pytest.mark.parametrize("point, match", [
    ([1.0], r"x has 1 coordinate\(s\) \(shape \(1,\)\), the objective has 2"),
    ([1.0, math.nan], "coordinates must be finite"),
    ("1,abc", "'abc' is not a number"),
])
def test_point_errors(point, match):
    with pytest.raises(InputError, match=match):
        parse("x+y").value(point)


def test_a_long_non_finite_point_is_named_by_its_first_bad_coordinate_not_printed_whole():
    from losslens.validation import check_point

    x = [0.0] * 10000
    x[3] = math.nan
    with pytest.raises(InputError, match=r"^x\[3\] == nan \(of 10000 coordinates\), coordinates must be finite$"):
        check_point("x", x, 10000)
    with pytest.raises(InputError, match=r"^x == \[1.0, inf\], coordinates must be finite$"):
        check_point("x", [1.0, math.inf], 2)


def test_hvp_shape_error():
    with pytest.raises(InputError, match=r"v has shape \(3,\), must be \[2\] or \[k, 2\]"):
        parse("x*y").hvp([1.0, 1.0], torch.ones(3))


def test_box_coerce_accepts_box_text_and_pairs():
    assert Box.coerce(None, 2) is None
    assert Box.coerce("-1:2", 2) == Box((-1.0, -1.0), (2.0, 2.0))
    assert Box.coerce([(0, 1), (2, 3)], 2) == Box((0.0, 2.0), (1.0, 3.0))
    with pytest.raises(InputError, match=r"box has 1 lo:hi parts, the objective has 2 variable\(s\)"):
        Box.coerce(Box((0.0,), (1.0,)), 2)
    with pytest.raises(InputError, match=r"box == 5, must be a Box, text like -1:2,0:3 or pairs"):
        Box.coerce(5, 1)
