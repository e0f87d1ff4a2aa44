"""Work budgets of the symbolic steps, and inputs that used to hang, blow up memory or give a wrong verdict.

Each case asserts the outcome (exit 0 with a verdict, or exit 2 with the reason) and that the call returns; none
asserts a time. The memory/time figures measured for these inputs are in docs/architecture.md (Budgets).
"""
from __future__ import annotations

import math
import time

import pytest
import sympy
import torch
from typer.testing import CliRunner

from losslens import budget, parse
from losslens.budget import BudgetExceeded, PolynomialBudgetError
from losslens.classify import classify_point
from losslens.cli import app
from losslens.convexity import check_convexity
from losslens.critical import merge, symbolic_form
from losslens.critical.higher_order import derivative
from losslens.expr import ExprError
from losslens.optimize.kkt import _convex_quadratic
from losslens.optimize.run import run
from losslens.optimize.verdict import Scale, measure_scale
from losslens.validation import InputError, check_counts

x, y, z = sympy.symbols("x y z", real=True)
runner = CliRunner()


def cli(*args):
    return runner.invoke(app, list(args))


# ---- the budget module ------------------------------------------------------------------------------------------

def test_degree_and_term_bounds_without_expanding():
    e = (x + y + z) ** 1000
    assert budget.degree_bound(e, (x, y, z)) == 1000
    assert budget.terms_bound(e) == math.comb(1002, 2)                  # 501,501 monomials of degree 1000 in 3 vars
    assert budget.terms_bound(sympy.expand((x + y) ** 3)) == 4
    assert budget.degree_bound(sympy.exp(x) + x, (x,)) is None          # not a polynomial form
    assert budget.polynomial_ok((x + y) ** 2, (x, y)) and not budget.polynomial_ok(e, (x, y, z))


def test_poly_refuses_past_budget_as_a_polynomial_error():
    assert budget.poly((x + y) ** 2, x, y).total_degree() == 2
    with pytest.raises(PolynomialBudgetError, match="polynomial of degree 1000"):
        budget.poly((x + y + z) ** 1000, x, y, z)
    with pytest.raises(sympy.PolynomialError, match="more terms than allowed"):      # 61 choose ... terms
        budget.poly((x + y + z + 1) ** 60 * (x - y) ** 0 + (x + 2 * y + 3 * z + 4) ** 40, x, y, z)
    big = (x + y + z) ** 1000
    assert budget.expanded(big) is big and budget.expanded((x + 1) ** 2) == x ** 2 + 2 * x + 1


def test_check_nodes_and_sized_hessian():
    assert budget.check_nodes(x + y, "sum") == x + y
    with pytest.raises(BudgetExceeded, match="more than 5 nodes"):
        budget.check_nodes(sympy.sin(x) * sympy.cos(y) + sympy.exp(x * y), "e", limit=5)
    with pytest.raises(BudgetExceeded, match="Hessian"):
        budget.hessian(sympy.exp(sympy.sin(x * y) ** 3) * sympy.log(1 + x ** 2 * y), (x, y), limit=30)
    H = budget.hessian(x ** 2 * y, (x, y))
    assert H == sympy.hessian(x ** 2 * y, (x, y))


def test_safety_net_interrupts_pure_python_work_and_says_time():
    with pytest.raises(BudgetExceeded, match="time budget") as err:
        with budget.safety_net(0.05, "busy loop"):
            while True:
                sum(range(1000))
    assert err.value.kind == "time"
    with budget.safety_net(5.0, "quick"):     # no interruption when the step ends in time; the timer is cleared
        v = sum(range(10))
    time.sleep(0.01)
    assert v == 45


# ---- the parser refuses what cannot be represented ----------------------------------------------------------------

@pytest.mark.parametrize("text, match", [
    ("x + sin(exp(exp(30)))", r"exp\(exp\(30\)\).*not representable"),
    ("x + exp(exp(30))", "not representable"),
    ("x + sin(exp(exp(30)) + x - x)", "not representable"),       # sympy sees the constant, the tree does not
    ("x + 10^200 * 10^200", "beyond the float64 range"),
    ("x + exp(700) * exp(700)", "beyond the float64 range"),
    ("x * 1" + "0" * 300, "more than 300 digits"),
])
def test_parser_refuses_unrepresentable_constants(text, match):
    with pytest.raises(ExprError, match=match):
        parse(text)


def test_parser_keeps_large_but_finite_constants_exact():
    e = parse("x + 123456789012345678901234567890^7.35")
    assert e.sympy.free_symbols == {e.symbols[0]}
    v = float((e.sympy - e.symbols[0]).evalf(20))
    assert v == pytest.approx(123456789012345678901234567890 ** 7.35, rel=1e-12)
    assert float(parse("x + sin(exp(600))").value(torch.zeros(1, dtype=torch.float64))) == \
        pytest.approx(float(sympy.sin(sympy.exp(600)).evalf(30)), abs=1e-12)


@pytest.mark.parametrize("args, code, text", [
    (["eval", "123456789012345678901234567890^7.35", "--at", "1"], 2, "has no variables"),
    (["eval", "sin(exp(exp(30)))", "--at", "0"], 2, "not representable"),
    (["eval", "x + sin(exp(exp(30)))", "--at", "0"], 2, "not representable"),
    (["eval", "x + 123456789012345678901234567890^7.35", "--at", "1"], 0, "degenerate"),
])
def test_cli_eval_of_huge_constants(args, code, text):
    r = cli(*args)
    assert r.exit_code == code, r.output
    assert text in r.output


# ---- convexity: no expansion of high powers, bounded minors ------------------------------------------------------

def test_convex_high_power_is_proved_without_expanding():
    r = cli("convex", "(x+y+z)^1000", "--time-budget", "2", "--json")
    assert r.exit_code == 0, r.output
    import json

    d = json.loads(r.output)
    assert d["verdict"] == "convex" and d["stopped_by"] is None      # (affine)^1000, an even power: convex


@pytest.mark.parametrize("depth", [5, 12])
def test_nested_softplus_is_convex(depth):
    e = "x+y"
    for _ in range(depth):
        e = f"softplus({e})"
    r = check_convexity(e, time_budget=5)
    assert r.verdict in ("convex", "strictly_convex")       # increasing convex of affine: convex, never refuted


def test_interleaved_softplus_returns_an_honest_verdict():
    # convex (softplus increasing and convex, sums of convex), but the composition rules miss it after sympy's
    # rewriting; the symbolic Hessian minors are large: they are kept unexpanded, so the check returns
    r = check_convexity("softplus(softplus(softplus(x)+y)+x)", time_budget=3)
    assert r.verdict in ("convex", "strictly_convex", "unknown")
    assert r.stopped_by in (None, "work", "time")


def test_convexity_names_the_work_budget_that_stopped_it(monkeypatch):
    monkeypatch.setattr(budget, "MAX_NODES", 10)
    r = check_convexity("exp(x*y) + x^4", time_budget=60)
    assert r.stopped_by == "work" and any("Hessian" in t for t in r.limits)
    assert r.verdict in ("not_convex", "unknown")            # x = y = 0: Hessian [[12x²+y², 1], [1, x²]] is indefinite
    monkeypatch.undo()
    assert check_convexity("exp(x*y) + x^4", time_budget=60).stopped_by is None


# ---- critical points: repeated differentiation and continua of critical points are bounded ------------------------

def test_repeated_derivatives_stop_at_the_node_budget():
    sym = symbolic_form(parse("max(x^x, 5)", box="0.1:3"))
    orders = [k for k in range(1, budget.MAX_DERIVATIVE_ORDER + 1) if derivative(sym, k) is not None]
    assert orders and orders[-1] < budget.MAX_DERIVATIVE_ORDER          # stopped by the budget, not by the order
    assert derivative(sym, orders[-1] + 1) is None
    assert budget.nodes(derivative(sym, orders[-1] - 1)) <= budget.MAX_DIFF_NODES
    plain = symbolic_form(parse("x^4", box="-1:1"))
    assert derivative(plain, 4) == 24                                  # a small derivative is exact


def test_merge_forms_at_most_the_budgeted_clusters():
    pts = torch.linspace(0, 1, 50, dtype=torch.float64)[:, None]
    clusters, left = merge(pts, 1e-6, 10)
    assert len(clusters) == 10 and left == 40
    clusters, left = merge(torch.cat([pts, pts]), 1e-6)
    assert len(clusters) == 50 and left == 0 and all(k == 2 for _, k in clusters)


def test_constant_function_is_not_claimed_complete():
    from losslens.critical import find_critical_points

    r = find_critical_points(parse("0*x + 0*y + 1", vars="x,y", box="-1:1"), starts=300, time_budget=1)
    assert not r.complete and r.completeness["stopped_by"] == "work"
    assert len(r.points) <= 128 and all(p.kind == "degenerate" for p in r.points)


# ---- constrained: polynomial checks go through the budget ------------------------------------------------------

def test_convex_quadratic_check_does_not_expand_a_high_power():
    assert not _convex_quadratic((x + y + z) ** 1000, (x, y, z))          # not a quadratic (and not expanded)
    assert _convex_quadratic((x + y) ** 2, (x, y))
    assert not _convex_quadratic(x * y, (x, y))


# ---- counts and non-finite tolerances ------------------------------------------------------------------------------

@pytest.mark.parametrize("args, flag", [
    (["optimize", "x^2", "--start", "1", "--steps", str(10 ** 12)], "--steps"),
    (["basins", "x^2", "--box=-1:1", "--starts", str(10 ** 9)], "--starts"),
    (["points", "x^2", "--box=-1:1", "--starts", "1000000"], "--starts"),
    (["constrained", "x^2", "--st", "x >= 1", "--max-iter", str(10 ** 9)], "--max-iter"),
    (["landscape", "digits-linear", "--grid", "100000"], "--grid"),
    (["train", "--model", "digits-linear", "--steps", str(10 ** 12)], "--steps"),
])
def test_every_count_flag_has_an_upper_bound(args, flag):
    r = cli(*args)
    assert r.exit_code == 2, r.output
    assert f"{flag} ==" in r.output and "must be an integer <=" in r.output


def test_check_counts_per_command_bound():
    check_counts("optimize", {"steps": 100_000, "seed": 3, "json": True})
    with pytest.raises(InputError, match=r"--steps == 100001, must be an integer <= 100000"):
        check_counts("optimize", {"steps": 100_001})
    check_counts("train", {"steps": 100_001})                              # the default of another command
    with pytest.raises(InputError, match="--seed =="):
        check_counts("eval", {"seed": 2 ** 64})


def test_overflowing_scale_does_not_accept_any_gradient():
    obj = parse("exp(exp(x))")
    x0 = torch.tensor([3.0], dtype=torch.float64)
    s = measure_scale(obj, x0)
    g3 = math.exp(3) * math.exp(math.exp(3))
    # the mean of the sampled norms is dominated by x = 6 (1e177): 1e-6 of it would accept |f'(3)| = 1e10
    assert s.statistic == "median" and s.gtol < g3
    r = run(obj, "gd", x0, steps=20, lr=1.0)
    assert r.verdict != "converged"
    assert parse("x^2") and measure_scale(parse("x^2"), torch.tensor([1.0], dtype=torch.float64)).statistic == "mean"


def test_cli_exp_exp_does_not_report_convergence():
    r = cli("optimize", "exp(exp(x))", "--start", "3", "--lr", "1")
    assert r.exit_code == 0, r.output
    assert "converged" not in r.output.split("\n")[-4:] and "strict local minimum" not in r.output


def test_non_finite_scale_gives_unknown():
    from losslens.objective import Box
    from losslens.optimize.verdict import judge

    bad = Scale(Box((0.0,), (1.0,)), 1.0, math.inf, math.inf, math.inf, 16, 1e-6, 2e-2)
    good = Scale(Box((0.0,), (1.0,)), 1.0, 1.0, 1e-6, 2e-2, 16, 1e-6, 2e-2)
    obj = parse("x^2")
    pts = torch.zeros(2, 1, dtype=torch.float64)
    vals, gn = torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    assert judge(obj, pts, vals, gn, bad).verdict == "unknown"
    assert judge(obj, pts, vals, gn, good).verdict == "converged"          # the same trajectory, a finite scale


def test_classify_tolerance_must_be_finite_and_non_finite_says_where():
    obj = parse("x^2")
    with pytest.raises(InputError, match="tol == inf, must be a finite number"):
        classify_point(obj, [1.0], tol=math.inf)
    assert classify_point(obj, [1.0], tol=1e-8).kind == "not_critical"
    r = classify_point(parse("(x+y+z)^1000"), [1.0, 1.0, 1.0])
    assert r.kind == "not_finite" and "value is inf (overflow)" in r.reason


def test_local_convexity_refuses_a_hessian_past_the_budget(monkeypatch):
    from losslens.convexity import local_convexity

    monkeypatch.setattr(budget, "MAX_NODES", 5)
    with pytest.raises(InputError, match="too large for a local convexity proof.*more than 5 nodes"):
        local_convexity("exp(x*y) + x^4", "1,1")
    monkeypatch.undo()
    assert local_convexity("x^4 - x^2", "1", time_budget=60).radius > 0.5     # f'' >= 0 for |x| >= 0.408
