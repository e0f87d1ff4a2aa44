"""``losslens`` command line: a thin typer layer, one module per command, each mapping to one API call."""
import sys

from ._app import app, main as _main

# Importing a command module registers its commands (one import per line keeps additions independent).
from . import catalog  # noqa: F401,E402
from . import evaluate  # noqa: F401,E402
from . import tour  # noqa: F401,E402
from . import optimize  # noqa: F401,E402
from . import basins  # noqa: F401,E402
from . import convex  # noqa: F401,E402
from . import landscape, interpolate  # noqa: F401,E402
from . import gap, gradflow, hessian, train  # noqa: F401  (network commands)
from . import constrained, project  # noqa: F401,E402
from . import saddles  # noqa: F401,E402
from . import points  # noqa: F401,E402


def main() -> None:
    sys.exit(_main())


__all__ = ["app", "main"]
