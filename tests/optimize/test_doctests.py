import doctest

import pytest

from losslens.optimize import basins, run


@pytest.mark.parametrize("module", [run, basins], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    import sys
    mod = sys.modules[module.__module__]
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
