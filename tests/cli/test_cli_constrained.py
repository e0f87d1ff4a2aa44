import json

import pytest
from typer.testing import CliRunner

from losslens.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_constrained_json_schema():
    r = run("constrained", "x^2+y^2", "--st", "x+y=1", "--st", "x^2+y^2<=2", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["verdict"] == "optimal" and d["optimality_proved"]
    assert d["x"] == pytest.approx([0.5, 0.5], abs=1e-7) and d["multipliers"] == pytest.approx([-1.0, 0.0], abs=1e-7)
    assert d["active"] == ["x+y=1"] and d["kkt"]["satisfied"]
    assert [c["kind"] for c in d["constraints"]] == ["eq", "ineq"]
    assert "lambda1*(x + y - 1)" in d["lagrangian"]


def test_constrained_table_and_plot(tmp_path):
    out = tmp_path / "c.png"
    r = run("constrained", "x+y", "--st", "x^2+y^2<=2", "--method", "projected", "--plot", str(out))
    assert r.exit_code == 0, r.output
    assert "KKT residuals" in r.stdout and "complementary slackness" in r.stdout and "optimal" in r.stdout
    assert "mu1*(x**2 + y**2 - 2)" in r.stdout and out.exists()


def test_constrained_verdicts_via_cli():
    d = json.loads(run("constrained", "x^2+y^2", "--st", "x+y=1", "--st", "x+y=2", "--json").stdout)
    assert d["verdict"] == "infeasible" and d["multipliers"] == [None, None]
    d = json.loads(run("constrained", "x+y", "--st", "x=y", "--json").stdout)
    assert d["verdict"] == "unbounded"


def test_weight_decay_cli():
    r = run("weight-decay", "(x-2)^2", "--lam", "2", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["penalized"] == pytest.approx([1.0]) and d["radius"] == pytest.approx(1.0) and d["agree"]
    assert "agree" in run("weight-decay", "(x-2)^2", "--lam", "2").stdout


def test_project_cli():
    d = json.loads(run("project", "--set", "l1", "--radius", "1", "--at", "0.8,0.6", "--json").stdout)
    assert d["projection"] == pytest.approx([0.6, 0.4]) and not d["inside"]
    d = json.loads(run("project", "--set", "affine", "--A", "1,1;1,-1", "--b", "1,0", "--at", "3,3", "--json").stdout)
    assert d["projection"] == pytest.approx([0.5, 0.5])
    d = json.loads(run("project", "--set", "halfspace", "--a", "1,0", "--b", "1", "--at", "3,3", "--json").stdout)
    assert d["projection"] == pytest.approx([1.0, 3.0])
    d = json.loads(run("project", "--set", "box", "--lo", "0", "--hi", "1", "--at", "3,-3", "--json").stdout)
    assert d["projection"] == [1.0, 0.0]
    r = run("project", "--set", "simplex", "--at", "0.5,0.5,0.5")
    assert r.exit_code == 0 and "0.333333" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["constrained", "x^2", "--st", "x+y"], "has no relation"),
    (["constrained", "x^2", "--st", "x<="], "empty right side"),
    (["constrained", "x^2", "--st", "x != 1"], "uses '!='"),
    (["constrained", "x^2", "--st", "abs(x) = 1", "--method", "projected"], "appears in the equality"),
    (["constrained", "x^2 - abs(x) - abs(y) - abs(z) - abs(w) - abs(v)"], "needs more than 16 pieces"),
    (["constrained", "x^2+abs(x)", "--st", "x>=-1", "--method", "projected"], "needs a smooth objective"),
    (["constrained", "x^2", "--st", "x>=1", "--method", "sgd"], "method == 'sgd'"),
    (["constrained", "x^2", "--st", "x>=1", "--start", "a"], "--start == 'a'"),
    (["constrained", "x^2", "--st", "x>=1", "--plot", "f.txt"], "--plot file 'f.txt' must end in .png"),
    (["constrained", "x^2", "--st", "x>=1", "--plot", "f.png"], "needs 2 variables, the problem has 1"),
    (["weight-decay", "x^2", "--lam", "-1"], "lam == -1.0"),
    (["project", "--set", "l2", "--at", "1,2"], "needs a radius"),
    (["project", "--set", "cube", "--at", "1,2"], "set == 'cube'"),
    (["project", "--set", "affine", "--A", "1,1;1", "--b", "1,0", "--at", "1,2"], "rows have different lengths"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    r = run(*args)
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_lasso_prints_subgradient_kkt_and_lifted_variable():
    r = run("constrained", "(x - 3)^2/2 + 2*abs(x)")
    assert r.exit_code == 0, r.output
    assert "x* = [1]" in r.stdout and "f(x*) = 4" in r.stdout
    assert "t1 = |x|" in r.stdout and "subgradient stationarity" in r.stdout and "0 ∈ ∂f(x)" in r.stdout
    assert "optimal" in r.stdout


@pytest.mark.parametrize("method", ["alm", "projected"])
def test_l1_ball_projection_via_cli(method):
    r = run("constrained", "(x-1.1)^2+(y+0.9)^2+(z-0.1)^2", "--st", "abs(x)+abs(y)+abs(z)<=1", "--method", method,
            "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["verdict"] == "optimal" and d["x"] == pytest.approx([0.6, -0.4, 0.0], abs=1e-7)
    assert [a["name"] for a in d["epigraph"]] == ["t1", "t2", "t3"] and d["subgradient"]["satisfied"] is True
    assert d["epigraph"][2]["subgradient"] == pytest.approx(0.2, abs=1e-6)
    assert d["lifted_names"] == ["x", "y", "z", "t1", "t2", "t3"]


def test_pieces_are_shown():
    r = run("constrained", "x", "--st", "abs(x) = 1")
    assert r.exit_code == 0, r.output
    assert "x* = [-1]" in r.stdout and "pieces" in r.stdout and "x <= 0" in r.stdout and "optimal" in r.stdout
    d = json.loads(run("constrained", "x", "--st", "abs(x) = 1", "--json").stdout)
    assert [c["case"] for c in d["cases"]] == ["x >= 0", "x <= 0"] and d["value"] == pytest.approx(-1.0)


def test_max_term_shows_branch_weights():
    r = run("constrained", "max(x^2, (x - 2)^2)")
    assert r.exit_code == 0, r.output
    assert "t1 = max(x**2," in r.stdout and "weights [0.5," in r.stdout
    d = json.loads(run("constrained", "max(x^2, (x - 2)^2)", "--json").stdout)
    assert d["epigraph"][0]["weights"] == pytest.approx([0.5, 0.5], abs=1e-6)
