import json

import pytest
from typer.testing import CliRunner

from losslens.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_optimize_json_schema():
    r = run("optimize", "x^2", "--start", "10", "--lr", "0.2", "--steps", "10", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert set(d) >= {"expression", "objective", "names", "settings", "start", "points", "values", "gradient_norms",
                      "lrs", "steps", "steps_to_tol", "perturbations", "scale", "verdict", "reason", "evidence",
                      "risk", "schema_version", "losslens"}
    assert d["points"][-1][0] == pytest.approx(10 * 0.6 ** 10, rel=1e-12)
    assert d["verdict"] == "max_steps" and d["expression"] == "x^2"   # still moving after 10 steps
    assert set(d["evidence"]) == {"step", "value", "gradient_norm", "eigenvalues", "escape_direction",
                                  "model_distance", "reversals"}
    assert set(d["scale"]) >= {"region", "length", "slope", "gtol", "gslow", "samples", "tol", "slow"}


def test_optimize_tol_changes_when_a_run_counts_as_converged():
    loose = json.loads(run("optimize", "quadratic", "--start", "1", "--steps", "50", "--tol", "1e-2", "--json").stdout)
    tight = json.loads(run("optimize", "quadratic", "--start", "1", "--steps", "50", "--json").stdout)
    assert loose["verdict"] == "converged" and loose["steps"] < tight["steps"] == 50
    # gd with eta = 0.1 on x^2: |g_k| = 2 * 0.8^k; mean slope on [-2, 2] is 2, so gtol = 2e-2 first holds at k = 21
    assert loose["steps"] == 21


def test_optimize_table_verdict_and_escape_direction():
    r = run("optimize", "saddle", "--start", "1,0", "--steps", "200")
    assert r.exit_code == 0, r.output
    assert "stalled_at_saddle" in r.stdout and "escape direction" in r.stdout


def test_optimize_risk_and_plot(tmp_path):
    out = tmp_path / "run.png"
    r = run("optimize", "empirical-risk", "--start", "1.1", "--lr", "0.01", "--steps", "50", "--risk", "risk",
            "--plot", str(out))
    assert r.exit_code == 0, r.output
    assert "risk risk: lowest at step" in r.stdout
    assert out.stat().st_size > 1000 and (tmp_path / "run-curves.png").stat().st_size > 1000


def test_optimize_risk_expression_uses_the_same_variables():
    r = run("optimize", "x^2 + y^2", "--start", "1,1", "--risk", "(x-1)^2 + y^2", "--steps", "5", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["risk"]["values"][0] == pytest.approx(1.0)


def test_compare_table_and_plot(tmp_path):
    out = tmp_path / "cmp.svg"
    r = run("compare", "ill-conditioned", "--start", "-5,-2", "--methods", "gd,momentum,newton",
            "--lr", "gd=0.4,momentum=0.4,newton=1", "--steps", "30", "--momentum", "0.5", "--plot", str(out))
    assert r.exit_code == 0, r.output
    for word in ("gd", "momentum", "newton", "converged", "steps to"):
        assert word in r.stdout
    assert out.read_text().startswith("<?xml")


def test_compare_json():
    r = run("compare", "elliptic", "--start", "-5,-2", "--methods", "gd,adam", "--steps", "20", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["methods"] == ["gd", "adam"] and len(d["runs"]) == 2


def test_basins_table_json_and_plot(tmp_path):
    out = tmp_path / "b.png"
    r = run("basins", "himmelblau", "--starts", "400", "--steps", "300", "--plot", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout.count("global_min") == 4 and out.stat().st_size > 1000
    r = run("basins", "himmelblau", "--starts", "100", "--steps", "300", "--json")
    d = json.loads(r.stdout)
    assert d["known_minimum"] == 0.0 and len(d["labels"]) == 100
    assert {e["role"] for e in d["endpoints"]} == {"global_min"}


@pytest.mark.parametrize("args, message", [
    (["optimize", "x^2", "--start", "1", "--lr", "0"], "lr == 0.0, must be > 0"),
    (["optimize", "x^2", "--start", "1", "--lr", "nan"], "lr == nan, must be a finite number"),
    (["optimize", "x^2", "--start", "1", "--method", "sgdd"], "method == 'sgdd', must be one of 'gd'"),
    (["optimize", "x^2", "--start", "1,2"], "--start has 2 coordinate(s)"),
    (["optimize", "log(x)", "--start", "-1"], "outside the function's domain"),
    (["optimize", "x^2", "--start", "1", "--steps", "0"], "steps == 0, must be an integer >= 1"),
    (["optimize", "x^2", "--start", "1", "--risk", "himmelblau"], "--risk 'himmelblau' has variables ['x', 'y']"),
    (["optimize", "x^2", "--start", "1", "--plot", "a.txt"], "must end in .png, .svg or .pdf"),
    (["optimize", "x^2", "--start", "1", "--tol", "0"], "tol == 0.0, must be > 0"),
    (["optimize", "x^2", "--start", "1", "--slow", "-1"], "slow == -1.0"),
    (["compare", "x^2", "--start", "1", "--methods", "gd,foo"], "'foo' is not a method; valid: gd"),
    (["compare", "x^2", "--start", "1", "--methods", "gd", "--lr", "adam=1"], "'adam' is not one of the methods"),
    (["compare", "x^2", "--start", "1", "--lr", "gd=-1"], "--lr gd == -1.0"),
    (["basins", "x^2 + y^2", "--starts", "4"], "box is missing"),
    (["basins", "himmelblau", "--starts", "0"], "starts == 0"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    from losslens.cli._app import main
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(args)
    assert code == 2
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err.getvalue()
