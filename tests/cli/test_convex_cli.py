import json

from typer.testing import CliRunner

from losslens.cli import app
from losslens.cli._app import main

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_convex_table_and_json():
    r = run("convex", "x^4 + x^2")
    assert r.exit_code == 0 and "strictly_convex" in r.stdout and "whole space" in r.stdout
    r = run("convex", "x^3", "--json")
    d = json.loads(r.stdout)
    assert d["verdict"] == "not_convex" and d["witness"]["gap"] > 0 and d["domain"]["kind"] == "whole_space"
    r = run("convex", "x*y", "--box", "0:1,0:1", "--json")
    assert json.loads(r.stdout)["verdict"] == "not_convex"
    r = run("convex", "x^3", "--where", "x >= 0", "--json")
    assert json.loads(r.stdout)["verdict"] in ("convex", "strictly_convex")


def test_convex_around():
    r = run("convex", "x^4 - x^2", "--around", "1", "--json")
    d = json.loads(r.stdout)
    assert 0.58 < d["radius"] <= 1 - 6 ** -0.5 and d["failure_point"] is not None


def test_convex_set():
    r = run("convex-set", "x^2+y^2<=1 and y>=x^2", "--at", "0,0.5")
    assert r.exit_code == 0 and "convex" in r.stdout and "inside" in r.stdout
    d = json.loads(run("convex-set", "x^2+y^2>=1", "--json").stdout)
    assert d["verdict"] == "not_convex" and d["witness"]["violation"] > 0
    d = json.loads(run("convex-set", "x^2 + y^2", "--level", "4", "--json").stdout)
    assert d["verdict"] == "convex"


def test_plots(tmp_path):
    for args in (["convex", "x^3", "--plot"], ["convex", "rosenbrock", "--plot"],
                 ["convex", "x^4 - x^2", "--around", "1", "--plot"], ["convex", "himmelblau", "--around", "3,2",
                                                                       "--plot"],
                 ["convex-set", "x^2+y^2<=1 or (x-3)^2+y^2<=1", "--plot"]):
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.png"
        r = run(*args, str(path))
        assert r.exit_code == 0, r.output
        assert path.stat().st_size > 1000


def test_bad_input_is_one_line_exit_2(capsys):
    cases = [
        (["convex", "log(x)", "--box", "-2:-1"], "undefined on all of box -2:-1"),
        (["convex-set", "x^2<=-1"], "is empty"),
        (["convex-set", "x^2+z<=1", "--vars", "x,y"], "unknown variable(s) z"),
        (["convex", "x^2 +"], "cannot parse"),
        (["convex", "x^2", "--time-budget", "-1"], "--time-budget == -1.0"),
        (["convex", "x^2", "--plot", "out.txt"], "must end in .png"),
        (["convex", "x", "--around", "a"], "--around"),
        (["convex", "x^2", "--around", "0", "--where", "x > 0"], "takes no --where"),
        (["convex", "x^2", "--around", "0", "--box", "-1:1"], "takes no --box"),
        (["convex", "x^2", "--around", "1e308"], "float64 range"),
        (["convex", "x^3", "--where", "x > 1 and x < 1"], "the region is empty"),
        (["convex-set", "x < 0 and x > 0"], "is empty"),
    ]
    for argv, msg in cases:
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert msg in err and len(err.strip().splitlines()) == 1, err
