"""Every docstring example in the package runs and gives the printed answer."""
import doctest
import importlib
import pkgutil

import pytest

import losslens

MODULES = sorted(m.name for m in pkgutil.walk_packages(losslens.__path__, "losslens.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_examples_are_found():
    # guards the walk itself: modules known to carry examples must be among those run
    finder = doctest.DocTestFinder()
    with_examples = {n for n in MODULES if any(t.examples for t in finder.find(importlib.import_module(n)))}
    assert {"losslens.classify", "losslens.expr", "losslens.optimize.run", "losslens.curvature.lanczos"} <= with_examples
