"""``losslens`` command line: a thin typer layer, one module per command, each mapping to one API call.

``losslens --version`` answers before typer or any command module is imported; ``app`` (the typer app with every
command registered) is built on first access.
"""
import os
import sys


def main() -> None:
    """The ``losslens`` script."""
    if sys.argv[1:] == ["--version"]:
        from .. import __version__

        sys.stdout.write(f"losslens {__version__}\n")
        sys.exit(0)
    from ._app import TEARDOWN, main as _main

    code = _main()
    if code == 0 and TEARDOWN["skippable"]:
        end_without_teardown()
    sys.exit(code)


def end_without_teardown() -> None:
    """End the process with exit code 0 as ``sys.exit(0)`` would, but without the interpreter's teardown.

    At exit Python frees every loaded module one by one; after a tour (torch with torch._dynamo, sympy, scipy,
    matplotlib) that alone takes about 1.3 s of CPU, and nothing depends on it. The exit handlers still run
    (``atexit``: logging, temporary files, ``weakref.finalize``) and both output streams are flushed; then
    ``os._exit(0)``. With other threads still running it falls back to ``sys.exit(0)``, which waits for them.
    """
    import atexit
    import threading

    if threading.active_count() > 1:
        sys.exit(0)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):     # a closed pipe or stream: nothing more can be written to it
            pass
    os._exit(0)


def __getattr__(name: str):
    if name == "app":
        from ._app import app, load_commands

        load_commands()
        return app
    raise AttributeError(f"module 'losslens.cli' has no attribute {name!r}")


__all__ = ["app", "main", "end_without_teardown"]
