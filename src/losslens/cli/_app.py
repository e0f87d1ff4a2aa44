"""The typer app, its error policy and output helpers. Commands live one per module and register here.

Exit codes: 0 done, 2 bad input or usage (one line on stderr, no traceback), 1 internal error (one line), 130
interrupted.
"""
from __future__ import annotations

import errno
import functools
import json
import re
import sys
import warnings
from typing import Any, Callable

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from ..validation import InputError, check_counts, check_int

MAX_SEED = 2 ** 63 - 1

# Importing a command module registers its commands (one per line keeps additions independent).
COMMAND_MODULES = (
    "catalog",
    "evaluate",
    "tour",
    "optimize",
    "basins",
    "convex",
    "landscape", "interpolate",
    "gap", "gradflow", "hessian", "train",     # network commands
    "constrained", "project",
    "saddles",
    "points",
)


class Group(TyperGroup):
    """The ``losslens`` group: run in standalone mode (``app()``, typer's ``CliRunner``) it follows the same error
    policy as the script (:func:`main`); non-standalone calls raise as click does."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        sys.exit(run_guarded(lambda: super(Group, self).main(*args, standalone_mode=False, **kwargs)))

    def invoke(self, ctx):
        """Run the command; Ctrl-C becomes :class:`typer.Abort` (typer would turn it into a silent exit 130), so
        :func:`run_guarded` says ``losslens: interrupted``."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise typer.Abort() from None


app = typer.Typer(
    name="losslens",
    help="Where and why optimization of a loss slows down or stops, and whether a problem is convex.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
)
console = Console(highlight=False, emoji=False)   # a model spec "pkg:factory:" is no emoji code
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

JSON_OPTION = typer.Option(False, "--json", help="Print the result's to_dict() as JSON (the documented schema).")
MAX_ERROR_CHARS = 300


def one_line(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``message`` on one line (whitespace runs become one space), cut to ``limit`` characters with an ellipsis."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def error_line(message: str, prefix: str = "losslens: error: ") -> None:
    """Write ``prefix + message`` as one line of at most :data:`MAX_ERROR_CHARS` characters to stderr."""
    err_console.print(prefix + one_line(message, MAX_ERROR_CHARS - len(prefix)), markup=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit with ``code``."""
    error_line(message)
    raise typer.Exit(code)


# Old spellings of options, accepted (and not shown in --help) for one release after the rename:
# command -> {old: new}.
_START = {"--x0": "--start"}        # the start point, as in optimize and compare
_SAMPLES = {"--subset": "--samples"}  # a fixed random subset of the data, as in hessian and saddles
_OUTPUT_KEY = {"--output": "--output-key"}   # the model output the loss takes (not a file: files are --out)
OPTION_ALIASES = {"constrained": _START, "weight-decay": _START,
                  "landscape": {**_SAMPLES, **_OUTPUT_KEY}, "interpolate": {**_SAMPLES, **_OUTPUT_KEY},
                  "hessian": {"--steps": "--slq-steps", **_OUTPUT_KEY},  # --steps trains or optimizes elsewhere
                  "gap": _OUTPUT_KEY, "gradflow": _OUTPUT_KEY, "train": _OUTPUT_KEY,
                  "basins": {"--checkpoint": "--store"}}   # a resumable study's file, as gap --store


def rename_aliases(args: list[str], options: dict[str, bool], aliases: dict[str, str]) -> list[str]:
    """``args`` with every old option spelling of ``aliases`` (``--x0 1,2``, ``--x0=1,2``) written in the new one,
    where the command (``options``: name -> takes a value) has the new option and not the old. The value of an
    option and everything after ``--`` are left as they are."""
    out: list[str] = []
    i = 0
    while i < len(args):
        t = args[i]
        if t == "--":
            return out + args[i:]
        name, eq, value = t.partition("=")
        new = aliases.get(name)
        if new is not None and new in options and name not in options:
            name, t = new, new + eq + value
        out.append(t)
        if not eq and options.get(name):      # the option's value: kept whatever it looks like
            out += args[i + 1:i + 2]
            i += 1
        i += 1
    return out


_LONG_OPTION = re.compile(r"--[A-Za-z][\w-]*(=.*)?", re.DOTALL)


def split_dashed_positionals(args: list[str], options: dict[str, bool]) -> list[str]:
    """``args`` with every positional token that starts with ``-`` (``-x^2-y^2``, ``-1``) moved behind ``--``.

    ``options`` maps each option name of the command to whether it takes a value. A token is an option when it is one
    of those names (its value, the next token, is kept whatever it looks like: ``--at -1,2``), ``NAME=VALUE`` of one,
    or looks like a long option (``--word``: unknown ones stay options, so a typo is still "No such option"). Every
    other token is positional, in the order given. Arguments without a dashed positional come back unchanged.
    """
    opts: list[str] = []
    pos: list[str] = []
    i = 0
    while i < len(args):
        t = args[i]
        if t == "--":
            pos += args[i + 1:]
            break
        name = t.split("=", 1)[0]
        if t in options:
            take = 2 if options[t] else 1
            opts += args[i:i + take]
            i += take
            continue
        if name in options or _LONG_OPTION.fullmatch(t):
            opts.append(t)
        else:
            pos.append(t)
        i += 1
    if not any(p.startswith("-") and p != "-" for p in pos):
        return args
    return opts + ["--"] + pos


class Command(TyperCommand):
    """A typer command whose positional arguments may start with ``-`` (an expression such as ``-x^2``)."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        options = {name: not (p.is_flag or p.count) for p in self.get_params(ctx) if p.param_type_name == "option"
                   for name in (*p.opts, *p.secondary_opts)}
        args = rename_aliases(list(args), options, OPTION_ALIASES.get(self.name, {}))
        return super().parse_args(ctx, split_dashed_positionals(args, options))


def command(name: str | None = None, **kwargs) -> Callable:
    """Register a CLI command whose :class:`InputError` becomes a one-line exit-2 message."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kw):
            try:
                if "seed" in kw:   # one bound for every command: torch, numpy and scipy all take it
                    check_int("--seed", kw["seed"], lo=0, hi=MAX_SEED)
                check_counts(name or fn.__name__, kw)
                return fn(*args, **kw)
            except InputError as err:
                fail(str(err).splitlines()[0] if str(err) else type(err).__name__)

        return app.command(name, cls=Command, **kwargs)(wrapper)

    return decorate


def emit_json(result: Any) -> None:
    """Write ``result.to_dict()`` to stdout: the ``--json`` document is the API result's, nothing added."""
    from ..results import jsonable   # torch is loaded by then: a result exists

    data = jsonable(result.to_dict())
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=False, default=str) + "\n")


def load_commands() -> None:
    """Register every command (each module is light: heavy libraries are imported inside the commands)."""
    from importlib import import_module

    for name in COMMAND_MODULES:
        import_module(f"{__package__}.{name}")


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        console.print(f"losslens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """losslens: optimization landscapes, critical points and convexity, as checked computations."""


# errors of a path the user gave (a --out, --plot, --checkpoint or --store that cannot be made): bad input, exit 2
PATH_ERRORS = (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR, errno.EEXIST)


def run_guarded(call: Callable[[], Any]) -> int:
    """Run ``call`` (the app in non-standalone mode) under the error policy; return the exit code.

    Usage errors and :class:`InputError` -> one line, 2; interrupts -> 130; anything else -> one line, 1 (no
    traceback). Warnings of the libraries underneath (overflow in numpy, deprecations) are not shown: results carry
    their own diagnostics.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rv = call()
        return rv if isinstance(rv, int) else 0
    except typer.TyperException as err:  # usage errors (bad option, missing argument, ...)
        message = err.format_message() if hasattr(err, "format_message") else str(err)
        if message.strip():    # no arguments at all: the help was the answer
            error_line(message)
        return getattr(err, "exit_code", 2)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("losslens: interrupted", markup=False)
        return 130
    except InputError as err:
        error_line(str(err))
        return 2
    except OSError as err:
        if err.errno in PATH_ERRORS and err.filename is not None:    # an output path that cannot be made
            error_line(f"cannot write or read {str(err.filename)!r}: {err.strerror}")
            return 2
        error_line(f"{type(err).__name__}: {err}", "losslens: internal error: ")
        return 1
    except Exception as err:  # noqa: BLE001 - the last line of defence: report, do not dump a traceback
        error_line(f"{type(err).__name__}: {err}", "losslens: internal error: ")
        return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``losslens`` script: usage errors are one line and exit 2, crashes exit 1."""
    load_commands()
    TEARDOWN["skippable"] = False
    return run_guarded(lambda: app(args=argv, prog_name="losslens", standalone_mode=False))


# Set by a command once everything it wrote is written and closed (files through losslens.storage, the console): the
# ``losslens`` script may then end without the interpreter's teardown (losslens.cli.main). Commands that leave files
# open, threads running or a process group joined do not set it.
TEARDOWN = {"skippable": False}


def outputs_closed() -> None:
    """Called by a command at its end: all its output is written and closed (see :data:`TEARDOWN`)."""
    TEARDOWN["skippable"] = True
