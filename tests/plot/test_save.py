import pytest

from losslens import InputError
from losslens.plot import new_figure, save


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
