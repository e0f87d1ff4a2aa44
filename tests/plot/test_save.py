import re

import matplotlib
import numpy as np
import pytest

from losslens import InputError
from losslens.plot import new_figure, save, svg_tight_bbox, tag_axes


def test_save_formats(tmp_path):
    for ext in ("png", "svg", "pdf"):
        fig = new_figure()
        fig.subplots().plot([0, 1], [1, 0])
        p = save(fig, tmp_path / f"f.{ext}")
        assert p.stat().st_size > 100


def test_save_rejects_unknown_format(tmp_path):
    fig = new_figure()
    fig.subplots()
    with pytest.raises(InputError, match=r"must end in \.png, \.svg or \.pdf"):
        save(fig, tmp_path / "f.gif")
    assert not (tmp_path / "f.gif").exists()


def _numbers_and_text(svg: str) -> tuple[list[float], list[str]]:
    """An SVG's numbers and the text between them; ids (hashes of clip rectangles) and the date left out."""
    svg = re.sub(r'(id|xlink:href|clip-path)="[^"]*"|<dc:date>.*?</dc:date>', "", svg)
    parts = re.split(r"(-?\d+(?:\.\d*)?(?:e-?\d+)?)", svg)
    return [float(x) for x in parts[1::2]], parts[0::2]


def _legend_best(fig):
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, 1, 4], label="rises to the right")
    ax.plot([0, 1, 2], [4, 3, 0], label="falls")
    ax.legend(loc="best")
    ax.set(xlabel="x", ylabel="$f(x) = x^2$", title="legend placed where the data are not")


def _annotated_colorbar_tight_layout(fig):
    ax, ax2 = fig.subplots(1, 2)
    m = ax.imshow(np.arange(12.0).reshape(3, 4))
    fig.colorbar(m, ax=ax, label="value")
    ax2.annotate("a long annotation far to the left", (0.5, 0.5), xytext=(-200, -40), textcoords="offset points",
                 arrowprops=dict(arrowstyle="->"))
    ax2.twinx().set_ylabel("twin axis")
    ax2.set_yscale("log")
    ax2.set_ylim(1e-3, 10)
    fig.suptitle("suptitle")
    fig.text(1.05, 0.5, "text outside the figure")
    fig.tight_layout()


def _constrained(fig):
    fig.set_layout_engine("constrained")
    fig.subplots(2, 2)[0, 0].set_title("constrained layout")


def _three_d(fig):
    ax = fig.add_subplot(projection="3d")
    ax.plot([0, 1], [0, 1], [0, 1])
    ax.set(xlabel="x", ylabel="y", zlabel="z")


@pytest.mark.parametrize("draw", [_legend_best, _annotated_colorbar_tight_layout, _constrained, _three_d])
def test_svg_is_cropped_as_matplotlibs_tight_bbox(tmp_path, draw):
    """save() measures the tight box without matplotlib's extra layout draw: the same SVG as bbox_inches="tight"
    (numbers equal up to float rounding, texts and sizes identical)."""
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "fixed"}):
        figs = [new_figure(figsize=(5, 3)) for _ in range(2)]
        for fig in figs:
            draw(fig)
        tag_axes(figs[0])
        figs[0].savefig(tmp_path / "tight.svg", dpi=120, bbox_inches="tight")
        save(figs[1], tmp_path / "once.svg")
    a, ta = _numbers_and_text((tmp_path / "tight.svg").read_text())
    b, tb = _numbers_and_text((tmp_path / "once.svg").read_text())
    assert ta == tb
    assert np.allclose(a, b, rtol=0, atol=1e-5)


def test_svg_tight_bbox_leaves_layout_engines_and_3d_axes_to_matplotlib():
    fig = new_figure()
    _constrained(fig)
    assert svg_tight_bbox(fig) is None
    fig = new_figure()
    _three_d(fig)
    assert svg_tight_bbox(fig) is None
    fig = new_figure()
    _annotated_colorbar_tight_layout(fig)
    assert svg_tight_bbox(fig) is not None


def test_svg_tight_bbox_restores_the_figure_and_never_resizes_its_window():
    class Manager:
        calls = []

        def resize(self, *size):
            self.calls.append(size)

    fig = new_figure(figsize=(4, 3), dpi=100)
    _legend_best(fig)
    manager = fig.canvas.manager = Manager()
    box = svg_tight_bbox(fig)
    assert fig.canvas.manager is manager and Manager.calls == [] and fig.dpi == 100
    assert 3 < box.width < 5 and 2 < box.height < 4
