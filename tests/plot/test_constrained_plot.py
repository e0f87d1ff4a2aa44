import matplotlib
import pytest

from losslens.optimize.constrained import solve_constrained
from losslens.plot import save
from losslens.plot.constrained import constrained_figure
from losslens.validation import InputError


def test_figure_has_path_solution_and_balanced_arrows(tmp_path):
    r = solve_constrained("(x-2)^2 + (y-1)^2", ["x - 2*y + 1 = 0", "-x^2/4 - y^2 + 1 >= 0"], x0=[2.0, 2.0])
    fig = constrained_figure(r)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("iterates" in t for t in labels) and "solution" in labels and len(labels) == 5
    arrows = [a for a in ax.texts if isinstance(a, matplotlib.text.Annotation)]
    # −∇f equals the sum of the two weighted normals (same scale for all arrows)
    vec = [(a.xy[0] - a.xyann[0], a.xy[1] - a.xyann[1]) for a in arrows]
    assert abs(vec[0][0] - vec[1][0] - vec[2][0]) < 1e-6 and abs(vec[0][1] - vec[1][1] - vec[2][1]) < 1e-6
    out = save(fig, tmp_path / "c.png")
    assert out.exists() and out.stat().st_size > 1000


def test_figure_needs_two_variables():
    r = solve_constrained("x^2", ["x >= 1"])
    with pytest.raises(InputError, match="needs 2 variables, the problem has 1"):
        constrained_figure(r)
