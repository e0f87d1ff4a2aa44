"""The typer app, its error policy and output helpers. Commands live one per module and register here.

Exit codes: 0 done, 2 bad input or usage (one line on stderr, no traceback), 1 internal error.
"""
from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import typer
from rich.console import Console

from .. import __version__
from ..validation import InputError

app = typer.Typer(
    name="losslens",
    help="Where and why optimization of a loss slows down or stops, and whether a problem is convex.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False, emoji=False)   # a model spec "pkg:factory:" is no emoji code
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

JSON_OPTION = typer.Option(False, "--json", help="Print the result's to_dict() as JSON (the documented schema).")


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit with ``code``."""
    err_console.print(f"losslens: error: {message}", markup=False)
    raise typer.Exit(code)


def command(name: str | None = None, **kwargs) -> Callable:
    """Register a CLI command whose :class:`InputError` becomes a one-line exit-2 message."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kw):
            try:
                return fn(*args, **kw)
            except InputError as err:
                fail(str(err).splitlines()[0] if str(err) else type(err).__name__)

        return app.command(name, **kwargs)(wrapper)

    return decorate


def emit_json(result: Any) -> None:
    """Write a result (anything with ``to_dict()``, or a JSON-ready object) to stdout."""
    data = result.to_dict() if hasattr(result, "to_dict") else result
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")


def _version(value: bool) -> None:
    if value:
        console.print(f"losslens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """losslens: optimization landscapes, critical points and convexity, as checked computations."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``losslens`` script: usage errors are one line and exit 2, crashes exit 1."""
    try:
        rv = app(args=argv, prog_name="losslens", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except typer.TyperException as err:  # usage errors (bad option, missing argument, ...)
        msg = err.format_message() if hasattr(err, "format_message") else str(err)
        err_console.print(f"losslens: error: {' '.join(msg.split())}", markup=False)
        return getattr(err, "exit_code", 2)
    except typer.Abort:
        err_console.print("losslens: interrupted", markup=False)
        return 130
    except KeyboardInterrupt:
        err_console.print("losslens: interrupted", markup=False)
        return 130
    except InputError as err:
        err_console.print(f"losslens: error: {err}", markup=False)
        return 2
    except Exception as err:  # noqa: BLE001 - the last line of defence: report, do not dump a traceback
        err_console.print(f"losslens: internal error: {type(err).__name__}: {err}", markup=False)
        return 1
