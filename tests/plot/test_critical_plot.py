import pytest

from losslens import InputError, parse
from losslens.critical import find_critical_points
from losslens.plot.critical import contour, curve, figure, surface


@pytest.fixture(scope="module")
def risk():
    obj = parse("x*cos(pi*x)", box="-1:2")
    return obj, find_critical_points(obj, time_budget=1)


def test_curve_marks_every_point_at_its_computed_position(risk):
    obj, r = risk
    fig = curve(obj, r)
    ax = fig.axes[0]
    texts = {t.get_text(): t.xy for t in ax.texts}
    assert len(ax.texts) == len(r.points) and sorted(texts) == sorted({p.kind for p in r.points})
    for p in r.points:      # each annotation points at the computed coordinates
        assert any(abs(t.xy[0] - p.point[0]) < 1e-12 and abs(t.xy[1] - p.value) < 1e-12 for t in ax.texts)


def test_contour_and_surface_for_two_variables():
    obj = parse("saddle")
    r = find_critical_points(obj, time_budget=0.5)
    (p,) = r.points
    for fig in (contour(obj, r), figure(obj, r)):
        ax = fig.axes[0]
        assert ax.name == "rectilinear"
        marks = [c.get_offsets().tolist() for c in ax.collections if c.get_label() == "saddle"]
        assert marks == [[list(p.point)]]                             # the saddle drawn where it was computed
    ax = surface(obj, r).axes[0]
    assert ax.name == "3d" and ax.get_zlabel() == "f"
    assert [c.get_label() for c in ax.collections if not c.get_label().startswith("_")] == ["saddle"]


def test_wrong_dimension_is_an_input_error(risk):
    obj, r = risk
    with pytest.raises(InputError, match="needs a function of 2 variable"):
        contour(obj, r)
    with pytest.raises(InputError, match="needs a function of 1 variable"):
        curve(parse("saddle"), r)
