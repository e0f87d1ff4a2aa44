"""Grammar-aware fuzzing of every expression-taking command: any input ends in exit 0 or exit 2 with one short line.

Expressions come from the README grammar (numbers, variables, ``+ - * / ** ^``, unary minus, the whitelisted
functions, ``pi``, ``e``); flags take ordinary and hostile values (zero-width and reversed boxes, huge and negative
seeds, schedules with zero parameters, starts with inf/nan/huge). Each command runs in-process through typer's
``CliRunner`` in an empty directory, with small work flags.

Checked for every input: exit code 0 or 2 (never an internal error); on exit 2 exactly one line on stderr, at most
300 characters; no warning text in the output; no file written; ``--json`` output is valid JSON.

The default suite runs a few examples per command (derandomized, so the same inputs every time). For a longer local
run: ``HYPOTHESIS_PROFILE=fuzz pytest tests/cli/test_fuzz.py`` (``LOSSLENS_FUZZ_EXAMPLES`` sets the count).

The grammar keeps exponents and nesting small: huge powers and towers are the symbolic work budgets' domain (see the
expression parser's limits), not this test's.
"""
from __future__ import annotations

import json
import os
import signal
import tempfile
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from losslens.cli import app
from losslens.cli._app import MAX_ERROR_CHARS

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
EXAMPLES = int(os.environ.get("LOSSLENS_FUZZ_EXAMPLES", 300 if PROFILE == "fuzz" else 4))
SECONDS_PER_EXAMPLE = 60      # a safety net against hangs, far above what the small work flags need

FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=PROFILE != "fuzz", database=None,
                suppress_health_check=list(HealthCheck), print_blob=True)
runner = CliRunner()

# ---- the expression grammar (README "Expressions") -------------------------------------------------------------
UNARY = ("abs", "sqrt", "exp", "log", "log1p", "sin", "cos", "tan", "tanh", "sigmoid", "softplus", "relu")
NUMBERS = ("0", "1", "2", "0.5", "3.25", "1e-3", "1000", "1e300", "123456789012345678901234567890", "pi", "e",
           "0.0", "7")
variables = st.sampled_from(("x", "y"))
leaf = st.one_of(variables, variables, st.sampled_from(NUMBERS))


def _extend(children, unary=UNARY, binary=("min", "max")):
    return st.one_of(
        st.tuples(children, st.sampled_from(("+", "-", "*", "/")), children).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        st.tuples(children, st.sampled_from(("**", "^")), st.sampled_from(("0", "1", "2", "3", "-1", "0.5", "-2")))
        .map(lambda t: f"({t[0]}){t[1]}{t[2]}"),
        children.map(lambda c: f"-{c}"),
        st.tuples(st.sampled_from(unary), children).map(lambda t: f"{t[0]}({t[1]})"),
        *([st.tuples(st.sampled_from(binary), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})")]
          if binary else []),
    )


grammar = st.recursive(leaf, _extend, max_leaves=5)
garbage = st.text(alphabet="xyz+-*/^()., 0123456789e", min_size=0, max_size=12)
expressions = st.one_of(grammar, grammar, grammar, garbage)

# ---- flag values --------------------------------------------------------------------------------------------------
NUM = ("0", "1", "-1", "0.5", "2", "-2", "1e308", "-1e308", "1e20", "inf", "nan", "-inf", "1e-300")
number = st.sampled_from(NUM)
point = st.lists(number, min_size=1, max_size=3).map(",".join)
bound = st.tuples(number, number).map(lambda t: f"{t[0]}:{t[1]}")
box = st.one_of(st.sampled_from(("-2:2", "1:1", "0:0,0:1", "2:-2", "-1:1,-1:1", "-1e308:1e308", "a:b", "")),
                st.lists(bound, min_size=1, max_size=2).map(",".join))
seed = st.sampled_from(("0", "7", "-1", "18446744073709551616", "99999999999999999999999", "x"))
schedule = st.sampled_from(("step:step_size=0", "step:step_size=2,gamma=0.5", "exponential:gamma=0",
                            "exponential:gamma=-1", "cosine:T_max=0", "cosine:T_max=3", "linear:total_iters=0",
                            "multistep:milestones=0;2", "polynomial:power=-1", "constant:factor=0", "bogus",
                            "step:gamma=inf", "exponential:gamma=1e308", "cosine:eta_min=nan"))
small_steps = st.sampled_from(("1", "3", "5", "0", "-1", "1e3x"))
lr = st.sampled_from(("0.1", "1", "1e300", "0", "-1", "nan", "1e-300"))
budget = st.sampled_from(("0.3", "0.5", "0", "-1", "inf", "nan"))
METHODS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "newton",
           "saddle-free-newton", "perturbed-gd", "bogus")


def maybe(flag: str, values) -> st.SearchStrategy[list[str]]:
    """``[]`` or ``[flag, value]``."""
    return st.one_of(st.just([]), values.map(lambda v: [flag, v]))


def argv(*parts) -> st.SearchStrategy[list[str]]:
    """Concatenate fixed strings and strategies of one argument or of argument lists."""
    return st.tuples(*(st.just(p) if isinstance(p, str) else p for p in parts)).map(
        lambda t: sum(([a] if isinstance(a, str) else a for a in t), []))


one = expressions.map(lambda e: [e])
relation = st.tuples(grammar, st.sampled_from(("<=", ">=", "=", "<", "==")), number).map(lambda t: "".join(t))
COMMANDS = {
    "eval": argv("eval", one, "--at", point, maybe("--tol", number), maybe("--vars", st.just("y,x")),
                 maybe("--json", st.just("--json")).map(lambda a: a[:1])),
    "convex": argv("convex", one, "--time-budget", budget, maybe("--box", box), maybe("--seed", seed),
                   maybe("--around", point), maybe("--where", relation), st.just(["--json"])),
    "convex-set": argv("convex-set", st.tuples(relation, st.sampled_from((" and ", " or ")), relation)
                       .map(lambda t: ["".join(t)]), "--time-budget", budget, maybe("--at", point),
                       maybe("--seed", seed), st.just(["--json"])),
    "convex-set-level": argv("convex-set", one, "--level", number, "--time-budget", budget, st.just(["--json"])),
    "points": argv("points", one, "--box", box, "--starts", st.sampled_from(("4", "8", "0", "-3")), "--time-budget",
                   budget, maybe("--seed", seed), maybe("--epsilon", number), st.just(["--json"])),
    "optimize": argv("optimize", one, "--start", point, "--steps", small_steps, maybe("--method",
                     st.sampled_from(METHODS)), maybe("--lr", lr), maybe("--schedule", schedule),
                     maybe("--seed", seed), maybe("--noise", number), maybe("--momentum", number),
                     maybe("--damping", number), maybe("--tol", number), maybe("--box", box),
                     maybe("--risk", expressions), maybe("--json", st.just("--json")).map(lambda a: a[:1])),
    "compare": argv("compare", one, "--start", point, "--steps", small_steps,
                    maybe("--methods", st.lists(st.sampled_from(METHODS), min_size=0, max_size=3).map(",".join)),
                    maybe("--lr", st.one_of(lr, st.just("gd=0.1,adam=0"), st.just("bogus=1"))),
                    maybe("--schedule", schedule), maybe("--seed", seed), st.just(["--json"])),
    "basins": argv("basins", one, "--box", box, "--starts", st.sampled_from(("1", "4", "8", "0")), "--steps",
                   small_steps, maybe("--method", st.sampled_from(METHODS)), maybe("--lr", lr),
                   maybe("--layout", st.sampled_from(("grid", "random", "bogus"))), maybe("--seed", seed),
                   maybe("--schedule", schedule), maybe("--noise", number), st.just(["--json"])),
    "constrained": argv("constrained", one, st.lists(relation, max_size=2).map(lambda rs: sum((["--st", r]
                        for r in rs), [])), maybe("--method", st.sampled_from(("alm", "penalty", "projected", "x"))),
                        maybe("--start", point), "--max-iter", st.sampled_from(("3", "10", "0", "-1")),
                        maybe("--tol", number), st.just(["--json"])),
    "weight-decay": argv("weight-decay", one, "--lam", number, maybe("--start", point), st.just(["--json"])),
    "project": argv("project", "--set", st.sampled_from(("box", "l2", "l1", "simplex", "affine", "halfspace", "x")),
                    "--at", point, maybe("--radius", number), maybe("--center", point), maybe("--lo", point),
                    maybe("--hi", point), maybe("--total", number), maybe("--A", st.sampled_from(("1,1", "1,0;0,1",
                    "1;2,3", "0,0", "inf,1"))), maybe("--a", point), maybe("--b", point), st.just(["--json"])),
    "landscape": argv("landscape", one, maybe("--box", box), "--grid", st.sampled_from(("2", "3", "5", "1", "0")),
                      st.just(["--json"])),
    "catalog": argv("catalog", st.one_of(st.sampled_from(("rosenbrock", "himmelblau", "risk", "")), expressions)
                    .map(lambda e: [e]), maybe("--json", st.just("--json")).map(lambda a: a[:1])),
}


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so that no ``except Exception`` in the code under test hides it."""


@contextmanager
def alarm(seconds: int, args: list[str]):
    def ring(*_):
        raise Hang(f"no answer within {seconds} s: losslens {' '.join(map(repr, args))}")

    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def check_invocation(args: list[str]) -> None:
    """Run ``losslens *args`` in an empty directory and check the exit policy."""
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            with alarm(SECONDS_PER_EXAMPLE, args):
                r = runner.invoke(app, args)
            written = os.listdir(tmp)
        finally:
            os.chdir(cwd)
    where = f"losslens {' '.join(map(repr, args))}"
    assert r.exit_code in (0, 2), f"{where}: exit {r.exit_code}: {r.stderr.strip()[:2000]}"
    assert written == [], f"{where}: wrote {written}"
    for stream in (r.stdout, r.stderr):
        assert "Warning" not in stream and "warnings.warn" not in stream, f"{where}: warning text: {stream[:500]}"
    if r.exit_code == 2:
        lines = r.stderr.splitlines()
        assert len(lines) == 1, f"{where}: {len(lines)} lines on stderr: {r.stderr[:1000]}"
        assert len(lines[0]) <= MAX_ERROR_CHARS and lines[0].startswith("losslens: error: "), f"{where}: {lines[0]}"
    elif "--json" in args:
        json.loads(r.stdout)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_fuzz_command(command):
    @FUZZ
    @given(COMMANDS[command])
    def fuzz(args):
        check_invocation(args)

    fuzz()


@pytest.mark.parametrize("args", [
    ["optimize", "log(0*x+1)", "--start", "1", "--json"],              # a constant folded by sympy keeps ∇f = 0
    ["optimize", "x^2", "--start", "1", "--schedule", "step:step_size=0"],
    ["optimize", "x^2", "--start", "1", "--schedule", "cosine:T_max=0"],
    ["optimize", "x^2", "--start", "1", "--seed", "99999999999999999999999"],
    ["basins", "x^2", "--box", "1:1", "--starts", "3", "--steps", "3"],
    ["eval", "exp(x)", "--at", "1000", "--json"],
    ["eval", "1e300*x^2", "--at", "1e10", "--json"],
])
def test_known_inputs_follow_the_exit_policy(args):
    check_invocation(args)
