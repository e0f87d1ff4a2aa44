"""The command line starts without torch: ``--version`` and ``--help`` import no heavy library."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import losslens
from losslens.cli import _choices

SRC = str(Path(losslens.__file__).resolve().parents[1])
HEAVY = ("torch", "sympy", "scipy", "matplotlib", "sklearn", "numpy", "mpmath")


def imported_after(code: str) -> list[str]:
    """Heavy top-level modules present in sys.modules after running ``code`` in a fresh interpreter."""
    probe = (f"import sys, json, contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()):\n"
             f"    try:\n        {code}\n    except SystemExit:\n        pass\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["eval", "--help"], ["optimize", "--help"],
                                  ["landscape", "--help"], ["hessian", "--help"], ["constrained", "--help"]])
def test_version_and_help_import_no_heavy_library(argv):
    assert imported_after(f"sys.argv = ['losslens', *{argv!r}]; from losslens.cli import main; main()") == []


def test_import_losslens_is_light_and_names_resolve_on_use():
    assert imported_after("import losslens") == []
    assert "torch" in imported_after("import losslens; losslens.run")


def test_lazy_public_names_are_the_real_objects():
    from losslens.optimize import run
    from losslens.catalog import resolve

    assert losslens.run is run and losslens.parse is resolve
    assert set(losslens.__all__) <= set(dir(losslens))
    for name in losslens.__all__:
        assert getattr(losslens, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        losslens.nonexistent  # noqa: B018


def test_help_name_lists_match_the_library():
    from losslens.optimize.constrained import METHODS as constrained_methods
    from losslens.optimize.methods import METHODS
    from losslens.optimize.projections import SETS
    from losslens.plot import FORMATS

    assert _choices.OPTIMIZER_METHODS == tuple(METHODS)
    assert _choices.CONSTRAINED_METHODS == tuple(constrained_methods)
    assert _choices.PROJECTION_SETS == tuple(SETS)
    assert _choices.FIGURE_FORMATS == tuple(FORMATS)


def test_version_script_output():
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run([sys.executable, "-m", "losslens", "--version"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0 and out.stdout == f"losslens {losslens.__version__}\n"
