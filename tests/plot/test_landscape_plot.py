import numpy as np
import pytest
import torch

from losslens import parse
from losslens.landscape import Directions, evaluate, line_between, pca
from losslens.plot.landscape import (contour_figure, html_surface, line_figure, log_levels, save_figure,
                                     trajectory_figure)
from losslens.validation import InputError


def plane():
    f = parse("(x - 0.2)^2 + 3*y^2")
    return evaluate(f, Directions(torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64), "axes",
                                  None, {"names": ["x", "y"]}), 21, (-1, 1))


def test_log_levels_are_dense_near_the_minimum():
    Z = plane().values.numpy()
    lv = log_levels(Z, 20)
    assert np.all(np.diff(lv) > 0) and lv[0] < Z.min() + 1e-2 and lv[-1] == pytest.approx(Z.max())
    gaps = np.diff(lv)
    assert gaps[0] < gaps[-1] / 100
    with pytest.raises(InputError, match="no finite values"):
        log_levels(np.full((2, 2), np.nan))


@pytest.mark.parametrize("kind", ["contour", "filled", "surface"])
def test_figures_are_written(tmp_path, kind):
    p = save_figure(plane(), tmp_path / f"{kind}.png", kind)
    assert p.stat().st_size > 5000


def test_html_is_self_contained(tmp_path):
    p = html_surface(plane(), tmp_path / "s.html")
    text = p.read_text()
    assert "<script src=\"http" not in text and "Plotly.newPlot" in text and len(text) > 1_000_000
    with pytest.raises(InputError, match="must end in .html"):
        html_surface(plane(), tmp_path / "s.png")


def test_line_and_trajectory_figures(tmp_path):
    f = parse("x^2 + y^2 + z^2")
    assert save_figure(line_between(f, [1, 0, 0], [0, 1, 0], 9), tmp_path / "l.svg").exists()
    t = torch.linspace(0, 1, 6, dtype=torch.float64)
    C = torch.stack([1 - t, (1 - t) * t, (1 - t) ** 2], dim=1)
    L = evaluate(f, pca(C), 9, (-1, 1))
    assert save_figure(L, tmp_path / "t.png").exists()
    trajectory_figure(L).clf()
    with pytest.raises(InputError, match="needs PCA directions, got 'axes'"):
        trajectory_figure(plane())
    with pytest.raises(InputError, match="needs a 2-D landscape"):
        contour_figure(line_between(f, [1, 0, 0], [0, 1, 0], 3))
    with pytest.raises(InputError, match="kind == 'wire', must be one of"):
        contour_figure(plane(), "wire")


def _notes(fig) -> list[str]:
    return [line for line in fig.axes[0].get_xlabel().split("\n") if "grid values" in line]


@pytest.mark.parametrize("kind", ["contour", "filled", "surface"])
def test_a_plane_with_non_finite_values_says_how_many_are_blank(kind):
    f = parse("log(x) + y")                      # NaN for x < 0, -inf at x = 0: 15 of 25 grid values
    L = evaluate(f, Directions(torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64), "axes",
                               None, {"names": ["x", "y"]}), 5, (-1, 1))
    assert int((~torch.isfinite(L.values)).sum()) == 15
    assert _notes(contour_figure(L, kind)) == ["(15 of 25 grid values are NaN or infinite: left blank)"]
    assert _notes(contour_figure(plane(), kind)) == []


def test_a_line_with_non_finite_values_says_how_many_are_blank():
    f = parse("log(x)")
    L = evaluate(f, Directions(torch.zeros(1, dtype=torch.float64), torch.eye(1, dtype=torch.float64), "axes",
                               None, {"names": ["x"]}), 9, (-1, 1))
    fig = line_figure(L)
    assert _notes(fig) == ["(5 of 9 grid values are NaN or infinite: left blank)"]
    assert fig.axes[0].get_xlim() == (-1.0, 1.0)          # the whole line, the blank half too
