"""Each stage of the critical-point pipeline on its own, against exact math."""
import mpmath
import pytest
import torch

from losslens import FunctionObjective, parse
from losslens.critical.certificate import certify, krawczyk
from losslens.critical.complete import prove_complete
from losslens.critical.global_min import global_minimum
from losslens.critical.higher_order import derivative_order_1d
from losslens.critical.multistart import batched_newton, sobol_starts
from losslens.critical.refinement import refine
from losslens.critical.symbolic import symbolic_form
from losslens.interval import interval
from losslens.objective import Box

f64 = torch.float64


def test_batched_newton_lands_every_start_on_a_quadratics_saddle():
    A = torch.tensor([[3.0, 1.0], [1.0, -2.0]], dtype=f64)           # indefinite: the critical point is a saddle
    b = torch.tensor([1.0, -1.0], dtype=f64)
    obj = FunctionObjective(lambda x: 0.5 * x @ A @ x - b @ x, n=2)
    X0 = sobol_starts(Box((-5, -5), (5, 5)), 16, seed=0)
    X, gn, finite, _ = batched_newton(obj, X0)
    exact = torch.linalg.solve(A, b)
    assert bool(finite.all()) and torch.allclose(X, exact.expand_as(X), rtol=0, atol=1e-12)
    assert float(gn.max()) < 1e-12


def test_refinement_reaches_the_zero_of_the_exact_gradient_to_fifty_digits():
    sym = symbolic_form(parse("x^3/3 - 2*x", box="0:3"))            # gradient x² − 2: zero at √2
    point, residual = refine(sym, [1.4])
    with mpmath.workdps(60):
        assert abs(point[0] - mpmath.sqrt(2)) < mpmath.mpf(10) ** -45
    assert residual < 1e-45


def test_krawczyk_certificate_box_holds_the_exact_zero_and_a_box_without_one_is_excluded():
    sym = symbolic_form(parse("x^3/3 - 2*x", box="0:3"))
    cert = certify(sym, [2 ** 0.5], [3.0])
    (lo, hi), = cert["box"]
    assert lo < 2 ** 0.5 < hi and hi - lo < 1e-5
    assert krawczyk(sym, [interval(1.5, 2.0)]) == "none"               # x² − 2 > 0 on [1.5, 2]
    assert krawczyk(sym, [interval(1.0, 1.2)]) == "none"


def test_completeness_needs_every_zero_to_be_known():
    obj = parse("x^3 - 3*x", box="-2:2.2")          # zeros of 3x² − 3: ±1 (not on a bisection point of the box)
    sym = symbolic_form(obj)
    box = Box((-2,), (2.2,))
    known = [([p], certify(sym, [p], [4.0])["box"]) for p in (-1.0, 1.0)]
    found = []
    proof = prove_complete(sym, box, list(known), float("inf"), lambda mid: found.append(mid) or None)
    assert proof["proved"] and not found
    # with only one zero known, the other one is reported to on_new and completeness is not claimed
    proof = prove_complete(sym, box, known[:1], float("inf"), lambda mid: found.append(mid) or None)
    assert not proof["proved"]
    # every sub-box proved to hold one unreported zero surrounds +1 (shrinking, as on_new does not add it)
    assert found and all(abs(m[0] - 1) < 0.25 for m in found) and min(abs(m[0] - 1) for m in found) < 1e-3


def test_global_minimum_on_the_boundary_is_certified_with_a_valid_lower_bound():
    obj = parse("(x - 3)^2", box="-1:1")                               # minimum on the box at x = 1, f = 4
    sym = symbolic_form(obj)
    box = Box((-1,), (1,))
    gm = global_minimum(obj, sym, box, sobol_starts(box, 8, 0), [], 1e-9, float("inf"), 4000)
    assert gm.certified and gm.where == "boundary"
    assert gm.point[0] == pytest.approx(1.0, abs=1e-9) and gm.value == pytest.approx(4.0, abs=1e-9)
    assert gm.lower_bound <= 4.0 <= gm.value + 1e-12 and gm.gap <= 1e-9


@pytest.mark.parametrize("expr, order, kind, value", [("x^4", 4, "min", 24.0), ("x^3", 3, "saddle", 6.0),
                                                      ("-x^6 + x^8", 6, "max", -720.0)])
def test_first_nonzero_derivative_decides_a_degenerate_one_d_point(expr, order, kind, value):
    sym = symbolic_form(parse(expr, box="-1:1"))
    ev = derivative_order_1d(sym, mpmath.mpf(0))
    assert (ev["order"], ev["kind"]) == (order, kind) and ev["derivative"] == pytest.approx(value, rel=1e-12)
