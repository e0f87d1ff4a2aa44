import pytest

from losslens import AnalyticObjective, classify_point, parse


@pytest.mark.parametrize("spec, point, kind", [
    ("quadratic", [0.0], "min"),
    ("-x^2 - 3*y^2", [0.0, 0.0], "max"),
    ("saddle", [0.0, 0.0], "saddle"),
    ("cubic", [0.0], "degenerate"),
    ("monkey-saddle", [0.0, 0.0], "degenerate"),
    ("x^2 - y^4", [0.0, 0.0], "degenerate"),
    ("x^2 - y^2 + z^4", [0.0, 0.0, 0.0], "saddle"),        # sign change decides despite a zero eigenvalue
    ("rosenbrock", [1.0, 1.0], "min"),
    ("rosenbrock", [0.0, 0.0], "not_critical"),
    ("himmelblau", [3.0, 2.0], "min"),
])
def test_kinds(spec, point, kind):
    assert classify_point(parse(spec), point).kind == kind


def test_not_finite_is_reported():
    r = classify_point(parse("log(x)"), [-1.0])
    assert r.kind == "not_finite" and r.to_dict()["value"] is None


def test_eigenvalues_and_tolerance_are_reported():
    r = classify_point(parse("ill-conditioned"), [0.0, 0.0])
    assert r.eigenvalues.tolist() == pytest.approx([0.2, 4.0], rel=1e-14)
    assert r.tol == pytest.approx(1.4901161193847656e-08)


def test_tolerance_scales_with_value():
    # 1e6 + x^2 at x=1e-3: |grad|=2e-3 > tol*1e6 = 1.5e-2? No: 2e-3 < 1.5e-2, so critical at float precision
    obj = AnalyticObjective("1e6 + x^2")
    assert classify_point(obj, [1e-3]).kind == "min"
    assert classify_point(obj, [1e-3], tol=1e-12).kind == "not_critical"


def test_classify_points_batch_matches_one_at_a_time():
    import torch
    from losslens.classify import classify_points
    obj = parse("(x^2 + y - 11)^2 + (x + y^2 - 7)^2")
    X = torch.tensor([[3.0, 2.0], [-0.270844590667, -0.923038556480], [0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    batch = classify_points(obj, X)
    for x, b in zip(X, batch):
        one = classify_point(obj, x)
        assert b.kind == one.kind and torch.allclose(b.hessian, one.hessian) and torch.allclose(b.eigenvalues, one.eigenvalues)
    assert classify_points(obj, torch.zeros(0, 2)) == []
