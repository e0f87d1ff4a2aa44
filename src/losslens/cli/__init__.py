"""``losslens`` command line: a thin typer layer, one module per command, each mapping to one API call.

``losslens --version`` answers before typer or any command module is imported; ``app`` (the typer app with every
command registered) is built on first access.
"""
import sys


def main() -> None:
    """The ``losslens`` script."""
    if sys.argv[1:] == ["--version"]:
        from .. import __version__

        sys.stdout.write(f"losslens {__version__}\n")
        sys.exit(0)
    from ._app import main as _main

    sys.exit(_main())


def __getattr__(name: str):
    if name == "app":
        from ._app import app, load_commands

        load_commands()
        return app
    raise AttributeError(f"module 'losslens.cli' has no attribute {name!r}")


__all__ = ["app", "main"]
