"""``losslens`` command line: a thin typer layer, one module per command, each mapping to one API call."""
import sys

from ._app import app, main as _main
from . import catalog, evaluate  # noqa: F401  (register commands)
from . import constrained, project  # noqa: F401,E402  (register commands)


def main() -> None:
    sys.exit(_main())


__all__ = ["app", "main"]
