import pytest

from losslens import InputError
from losslens.catalog import resolve
from losslens.convexity import check_convexity, check_set, parse_set
from losslens.objective import Box
from losslens.plot import save
from losslens.plot.convexity import function_figure, set_figure, sublevel_figure


def test_figures_are_written(tmp_path):
    f = resolve("cos(pi*x)")
    r = check_convexity(f)
    fig = function_figure(f, r)
    assert len(fig.axes) == 2 and "not_convex" in fig.axes[0].get_title()
    assert save(fig, tmp_path / "chord.png").stat().st_size > 1000
    g = resolve("x^2 + 3*x*y + y^2")
    assert save(sublevel_figure(g, Box.cube(-1, 1, 2), result=check_convexity(g)), tmp_path / "s.svg").exists()
    s = parse_set("x^2 + y^2 >= 1 and x^2 + y^2 <= 4")
    assert save(set_figure(s, check_set(s)), tmp_path / "set.pdf").exists()


def test_figure_dimension_errors():
    with pytest.raises(InputError, match="the chord figure needs a function of 1 variable"):
        function_figure(resolve("x*y"), check_convexity("x*y"))
    with pytest.raises(InputError, match="the set figure needs 2 variables"):
        s = parse_set("x^2 <= 1")
        set_figure(s, check_set(s))
    with pytest.raises(InputError, match="sublevel-set figure needs a function of 2"):
        sublevel_figure(resolve("x^2"), Box.cube(-1, 1, 1))


def test_an_equality_set_is_drawn_as_its_curve():
    import numpy as np
    from matplotlib.contour import ContourSet

    for text, on_curve in (("x^2 + y^2 = 1", lambda x, y: x ** 2 + y ** 2 - 1),
                           ("y = x^2 and x >= 0", lambda x, y: y - x ** 2)):
        s = parse_set(text)
        fig = set_figure(s, check_set(s))
        pts = np.concatenate([p.vertices for c in fig.axes[0].collections if isinstance(c, ContourSet)
                              for p in c.get_paths() if len(p.vertices)])
        assert len(pts) > 50 and np.abs(on_curve(pts[:, 0], pts[:, 1])).max() < 0.05       # the curve, not an area
        if "x >= 0" in text:
            assert pts[:, 0].min() > -0.02                                                   # only where x >= 0


def test_a_set_thinner_than_the_grid_is_explained_not_left_blank():
    thin = parse_set("1e300*x^2 + y^2 <= 1")           # |x| <= 1e-150: between the grid's columns
    texts = [t.get_text() for t in set_figure(thin, check_set(thin)).axes[0].texts]
    assert len(texts) == 1 and "no point of the 240×240 grid lies in the set" in texts[0]
    disc = parse_set("x^2 + y^2 <= 1")
    assert len(set_figure(disc, check_set(disc)).axes[0].texts) == 0
