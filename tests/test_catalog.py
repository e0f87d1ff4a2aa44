import pytest
import sympy
import torch

from losslens import CATALOG, InputError, parse
from losslens.catalog import get


def _exact(entry, point):
    obj = parse(entry.name)
    subs = dict(zip(obj.symbols, [sympy.Float(p, 30) for p in point]))
    f = obj.sympy
    grad = [sympy.diff(f, s) for s in obj.symbols]
    hess = [[sympy.diff(g, s) for s in obj.symbols] for g in grad]
    num = lambda e: float(e.evalf(30, subs=subs))
    return num(f), [num(g) for g in grad], [[num(h) for h in row] for row in hess]


@pytest.mark.parametrize("name", list(CATALOG))
def test_value_grad_hessian_match_sympy(name):
    entry = CATALOG[name]
    obj = parse(name)
    for x in obj.box.sample(5, seed=11):
        v, g, H = _exact(entry, x.tolist())
        assert obj.value(x).item() == pytest.approx(v, rel=1e-10, abs=1e-12)
        torch.testing.assert_close(obj.grad(x), torch.tensor(g, dtype=torch.float64), rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(obj.hessian(x), torch.tensor(H, dtype=torch.float64), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("name", [n for n, e in CATALOG.items() if e.minima])
def test_known_minima_are_minimisers(name):
    entry = CATALOG[name]
    obj = parse(name)
    vals = obj.values(obj.box.sample(20000, seed=0))
    for m in entry.minima:
        assert obj.value(m).item() == pytest.approx(entry.minimum, abs=1e-9)
        assert obj.grad(m).abs().max().item() < 1e-6
    assert vals.min().item() >= entry.minimum - 1e-9


def test_empirical_risk_differs_from_risk():
    r, g = parse("risk"), parse("empirical-risk")
    X = torch.linspace(0.5, 1.5, 2001, dtype=torch.float64)[:, None]
    assert abs(X[r.values(X).argmin()].item() - X[g.values(X).argmin()].item()) > 0.01


def test_catalog_size_and_unknown_name():
    assert len(CATALOG) >= 18
    with pytest.raises(InputError, match="unknown catalog function 'nope'; known: risk"):
        get("nope")


def test_box_override():
    assert parse("rosenbrock", box="-1:1").box.lo == (-1.0, -1.0)
    with pytest.raises(InputError, match="box has 3 lo:hi parts, the objective has 2"):
        parse("rosenbrock", box="0:1,0:1,0:1")
