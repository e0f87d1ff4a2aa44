"""``losslens`` command line: a thin typer layer, one module per command, each mapping to one API call."""
import sys

from ._app import app, main as _main
from . import catalog, evaluate, tour  # noqa: F401  (register commands)
from . import saddles  # noqa: F401


def main() -> None:
    sys.exit(_main())


__all__ = ["app", "main"]
