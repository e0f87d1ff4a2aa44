import numpy as np
import pytest

from losslens import parse
from losslens.optimize import basins, compare, run
from losslens.plot import save
from losslens.plot.optimize import basin_map, curves, trajectories


def test_2d_trajectories_are_the_runs_points(tmp_path):
    f = parse("elliptic")
    c = compare(f, "gd,adam", [-5.0, -2.0], steps=20, lr=0.1)
    fig = trajectories(c.runs, f, c.methods)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "o"]
    assert len(lines) == 2
    for ln, r in zip(lines, c.runs):
        np.testing.assert_array_equal(np.asarray(ln.get_xydata()), r.points.numpy())
    assert fig.axes[0].collections, "contour lines are drawn"
    assert save(fig, tmp_path / "t.png").stat().st_size > 1000


def test_1d_iterates_sit_on_the_curve(tmp_path):
    f = parse("x^2")
    r = run(f, "gd", [10.0], steps=10, lr=0.2)
    fig = trajectories([r], f)
    it = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "o"][0]
    xy = np.asarray(it.get_xydata())
    np.testing.assert_allclose(xy[:, 1], xy[:, 0] ** 2, rtol=1e-12)
    save(fig, tmp_path / "t1.pdf")


def test_many_variables_and_curves_with_risk(tmp_path):
    f = parse("x^2 + y^2 + z^2")
    r = run(f, "momentum", [1.0, 2.0, 3.0], steps=10, lr=0.1)
    save(trajectories([r], f), tmp_path / "t3.png")
    g = run(parse("empirical-risk"), "gd", [1.1], steps=30, lr=0.01, risk=parse("risk"))
    fig = curves([g])
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert any(lab.startswith("risk") for lab in labels)
    save(fig, tmp_path / "c.png")


@pytest.mark.parametrize("spec, box, layout", [("himmelblau", None, None), ("local-minima", None, None),
                                               ("himmelblau", None, "random")])
def test_basin_maps(tmp_path, spec, box, layout):
    f = parse(spec)
    b = basins(f, "gd", box, starts=100, steps=200, lr=0.01, layout=layout)
    fig = basin_map(b, f)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("min" in t for t in legend)
    assert save(fig, tmp_path / "b.png").stat().st_size > 1000


def test_curves_mark_every_value_so_a_run_that_overflows_at_once_is_seen():
    r = run(parse("1e300*x^2"), "gd", [1.0], steps=5, lr=0.1)       # f = 1e300 at step 0, inf from step 1
    assert np.isfinite(r.values.numpy()).sum() == 1
    fig = curves([r])
    for ax in fig.axes:
        line = ax.get_lines()[0]
        assert line.get_marker() == "o"
        assert np.isfinite(np.asarray(line.get_ydata(), dtype=float)).sum() == 1


@pytest.mark.parametrize("spec, box, blank", [("log(x)", "-2:-1", True), ("log(x)", "-1:1", False)])
def test_1d_basin_strip_is_drawn_where_f_is_not_finite(spec, box, blank):
    b = basins(parse(spec, box=box), "gd", None, 5, 5, 0.05, seed=0)
    ax = basin_map(b, parse(spec, box=box)).axes[0]
    strip = np.asarray(ax.collections[0].get_offsets())
    assert len(strip) == 5 and np.isfinite(strip).all()
    lo, hi = ax.get_ylim()
    assert (lo <= strip[:, 1]).all() and (strip[:, 1] <= hi).all()
    assert [t.get_text() for t in ax.texts] == (["f is NaN or infinite on the whole box"] if blank else [])
