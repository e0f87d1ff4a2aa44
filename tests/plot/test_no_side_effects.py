"""Importing and using losslens leaves the user's matplotlib backend and mpmath precision as they were."""
import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

SCRIPT = r"""
import sys
import matplotlib
import mpmath
mpmath.iv.prec = 80
mpmath.mp.dps = 30
before = (matplotlib.get_backend(), mpmath.iv.prec, mpmath.mp.dps)

import losslens, losslens.interval, losslens.critical, losslens.convexity
import losslens.plot, losslens.plot.critical, losslens.plot.training, losslens.plot.landscape
after_import = (matplotlib.get_backend(), mpmath.iv.prec, mpmath.mp.dps)

from losslens import parse
from losslens.critical import find_critical_points
from losslens.plot import save
from losslens.plot.critical import figure
obj = parse("x^3 - 3*x", box="-2:2")
r = find_critical_points(obj, starts=16, time_budget=1, max_boxes=200)
out = save(figure(obj, r), sys.argv[1])
after_use = (matplotlib.get_backend(), mpmath.iv.prec, mpmath.mp.dps)
print(before, after_import, after_use, "matplotlib.pyplot" in sys.modules, out.stat().st_size > 1000,
      sorted(p.kind for p in r.points))
"""


def test_imports_and_a_figure_keep_backend_and_precision(tmp_path):
    env = {**os.environ, "MPLBACKEND": "svg", "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "f.png")], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    before = "('svg', 80, 30)"
    assert out.stdout.strip() == f"{before} {before} {before} False True ['max', 'min']"


TOUR = r"""
import sys
import matplotlib
from losslens.report.tour import run_tour, select_sections
r = run_tour(sys.argv[1], quick=True, sections=select_sections("convexity"))
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules, r.verdict)
"""


def test_the_tour_draws_without_pyplot(tmp_path):
    """A notebook's pyplot (inline backend) would collect and show every figure the tour draws; the tour's figures
    are Agg-canvas Figures, so pyplot is never loaded."""
    env = {**os.environ, "MPLBACKEND": "svg", "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", TOUR, str(tmp_path / "tour")], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "svg False all_confirmed"
