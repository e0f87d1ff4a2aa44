import json

import pytest
from typer.testing import CliRunner

from losslens.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_points_json_schema_local_versus_global(tmp_path):
    out = tmp_path / "curve.png"
    r = run("points", "x*cos(pi*x)", "--box=-1:2", "--time-budget", "30", "--json", "--plot", str(out))
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["counts"] == {"min": 2, "max": 1, "saddle": 0, "degenerate": 0, "nonsmooth": 0} and d["complete"] is True
    assert {"point", "value", "gradient_norm", "residual", "eigenvalues", "kind", "second_order", "evidence",
            "certified", "certificate", "starts"} <= set(d["points"][0])
    assert d["global_minimum"]["certified"] is True and abs(d["global_minimum"]["point"][0] - 1.0904) < 1e-3
    assert out.stat().st_size > 1000


def test_points_table_for_a_catalog_name_with_its_box(tmp_path):
    out = tmp_path / "saddle.svg"
    r = run("points", "saddle", "--time-budget", "30", "--plot", str(out), "--view", "surface")
    assert r.exit_code == 0, r.output
    assert "saddle" in r.stdout and "complete: yes" in r.stdout and out.exists()


def test_points_degenerate_evidence_in_the_table():
    r = run("points", "x^3", "--box=-1:1", "--time-budget", "0.5")
    assert r.exit_code == 0, r.output
    assert "order 3 (odd)" in r.stdout and "complete: no" in r.stdout


@pytest.mark.parametrize("args, match", [
    (["x^2 + y^2"], "--box is missing"),
    (["x^2 + y^2", "--box=-1:1,0:1,2:3"], "box has 3 lo:hi parts"),
    (["x^2", "--box=1:-1"], "must have lo < hi"),
    (["x^2", "--box=-1:1", "--starts", "0"], "starts == 0"),
    (["x^2", "--box=-1:1", "--time-budget", "0"], "--time-budget == 0"),
    (["x^2", "--box=-1:1", "--view", "side"], "--view == 'side'"),
    (["x^2", "--box=-1:1", "--plot", "f.gif"], "must end in .png"),
    (["x1^2 + x2^2 + x3^2", "--box=-1:1", "--plot", "f.png", "--time-budget", "0.2"], "1 or 2 variables"),
])
def test_points_bad_input_is_one_line_exit_2(args, match):
    r = run("points", *args)
    assert r.exit_code == 2 and match in r.output and "Traceback" not in r.output
