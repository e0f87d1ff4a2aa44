import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from losslens import __version__
from losslens.cli import app
from losslens.cli._app import main

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_version():
    r = run("--version")
    assert r.exit_code == 0 and __version__ in r.stdout


def test_eval_json_schema_and_verdict():
    r = run("eval", "x^2 - y^2", "--at", "0,0", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["kind"] == "saddle" and d["eigenvalues"] == [-2.0, 2.0] and d["hessian"] == [[2.0, 0.0], [0.0, -2.0]]
    assert set(d) >= {"expression", "names", "point", "value", "gradient", "gradient_norm", "hessian", "eigenvalues",
                      "kind", "reason", "tol", "zero_tol"}


def test_eval_table_and_catalog_name():
    r = run("eval", "rosenbrock", "--at", "1,1")
    assert r.exit_code == 0 and "min" in r.stdout and "802" in r.stdout


def test_eval_vars_order():
    d = json.loads(run("eval", "x - 2*y", "--vars", "y,x", "--at", "1,0", "--json").stdout)
    assert d["names"] == ["y", "x"] and d["value"] == -2.0


def test_eval_not_finite_is_reported_not_crashed():
    r = run("eval", "log(x)", "--at", "-1", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["kind"] == "not_finite"


def test_catalog_list_and_entry():
    r = run("catalog", "--json")
    names = [f["name"] for f in json.loads(r.stdout)["functions"]]
    assert "himmelblau" in names and "empirical-risk" in names
    d = json.loads(run("catalog", "rosenbrock", "--json").stdout)
    assert d["minima"] == [[1.0, 1.0]] and d["box"] == [[-2.0, 2.0], [-1.0, 3.0]]
    assert "risk" in run("catalog").stdout


@pytest.mark.parametrize("args, message", [
    (["eval", "", "--at", "1"], "expression is empty"),
    (["eval", "(x", "--at", "1"], "unbalanced parentheses"),
    (["eval", "foo(x)", "--at", "1"], "unknown function 'foo'"),
    (["eval", "x.__class__", "--at", "1"], "attribute access not allowed"),
    (["eval", "__import__('os')", "--at", "1"], "unknown function '__import__'"),
    (["eval", "x**10**10**10", "--at", "1"], "too large"),
    (["eval", "x+y", "--at", "1"], "--at has 1 coordinate(s)"),
    (["eval", "x", "--at", "nan"], "not finite"),
    (["eval", "x", "--at", "1", "--tol", "-1"], "--tol == -1.0, must be > 0"),
    (["catalog", "nope"], "unknown catalog function 'nope'"),
])
def test_bad_input_exit_2_one_line(args, message, capsys):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_usage_error_is_one_line(capsys):
    assert main(["eval", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert "Missing option '--at'" in err and len(err.splitlines()) == 1


def test_installed_entry_point():
    exe = shutil.which("losslens", path=str(Path(sys.executable).parent))
    assert exe, "the losslens script is not installed next to this Python"
    ok = subprocess.run([exe, "eval", "himmelblau", "--at", "3,2", "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["kind"] == "min"
    bad = subprocess.run([exe, "eval", "lambda: 1", "--at", "1"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "lambda not allowed" in bad.stderr


def test_saddles_command_json_store_and_figures(tmp_path):
    r = run("saddles", "--max-n", "4", "--trials", "2000", "--rare", "none", "--out", str(tmp_path), "--json",
            "--no-network")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    rows = d["random_matrices"]["rows"]
    assert [row["n"] for row in rows] == [1, 2, 3, 4] and rows[0]["exact_log_p"] == pytest.approx(-0.693147, abs=1e-6)
    assert (tmp_path / "saddles-goe-store.json").exists() and (tmp_path / "saddles-goe-logp-n2.png").exists()
    r2 = run("saddles", "--max-n", "4", "--trials", "2000", "--rare", "none", "--out", str(tmp_path), "--no-network")
    assert r2.exit_code == 0 and "saddles_dominate" in r2.stdout  # exact ln P(4) = -6.009 < -4 ln 2


def test_saddles_command_network_part(tmp_path):
    args = ("saddles", "--max-n", "2", "--trials", "1000", "--rare", "none", "--out", str(tmp_path), "--hidden", "1",
            "--samples", "30", "--inits", "1", "--path-steps", "10,100")
    r = run(*args, "--json")
    assert r.exit_code == 0, r.output
    net = json.loads(r.stdout)["network"]
    assert net["n_params"] == 64 + 1 + 10 + 10 and net["weight_decay"] == 1e-2 and len(net["points"]) == 4
    for p in net["points"]:
        assert p["converged"] == (p["gradient_norm"] <= net["tol"])
    assert (tmp_path / "saddles-network-index-loss.png").exists()
    r2 = run(*args)
    assert r2.exit_code == 0 and "critical points of MLP 64-1-10" in r2.stdout and net["verdict"] in r2.stdout


@pytest.mark.parametrize("args,msg", [
    (["--max-n", "0"], "--max-n == 0, must be an integer in [1, 200]"),
    (["--trials", "0"], "--trials == 0, must be an integer >= 1"),
    (["--ensemble", "gue"], "ensemble == 'gue', must be one of 'goe'"),
    (["--hidden", "0"], "--hidden == 0, must be an integer in [1, 64]"),
    (["--weight-decay", "0"], "--weight-decay == 0.0, must be > 0"),
    (["--inits", "0"], "--inits == 0, must be an integer >= 1"),
    (["--path-steps", "10,-1"], "--path-steps == -1, must be an integer >= 0"),
    (["--path-steps", "2.5"], "--path-steps == 2.5, must be an integer"),
    (["--path-steps", "x"], "--path-steps == 'x': 'x' is not a number"),
])
def test_saddles_bad_input_exit_2(args, msg, capsys):
    assert main(["saddles", *args]) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1
