import doctest
import importlib

import pytest

MODULES = ["losslens.optimize.constraints", "losslens.optimize.constrained", "losslens.optimize.epigraph",
           "losslens.optimize.projections", "losslens.relations",
           "losslens.optimize.weight_decay"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
