"""Safe expression language: typed text -> (sympy expression, torch function). Never ``eval``.

The text is parsed by :func:`ast.parse` and walked against a whitelist. Each node keeps its two meanings side by
side (sympy for exact math, torch for fast numbers), like micrograd keeps each op's value and chain rule together:

* numbers (exact: ``0.1`` becomes the rational 1/10 in sympy), variables, constants ``pi`` and ``e``;
* ``+ - * /``, ``**`` and ``^`` (power), unary ``-`` and ``+``;
* ``abs sqrt exp log log1p sin cos tan tanh sigmoid softplus relu min max``.

Limits keep it safe and fast: text length, nesting depth, number of variables, digits of integers, and size of
constant powers (``x**10**10**10`` is refused at once, before sympy could try to build it). Every constant
subexpression must be a finite float64 number: ``exp(exp(30))`` (about 10^(4.6e12)) is refused with the reason, before
sympy could try to evaluate ``sin`` of it to 30 digits (that would need trillions of digits).
"""
from __future__ import annotations

import ast
import math
import re
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import sympy
import torch

from .validation import InputError

MAX_LENGTH = 2000
MAX_DEPTH = 100
MAX_VARIABLES = 32
MAX_EXPONENT = 1000          # |p| for a constant exponent p
MAX_EXACT_DIGITS = 2000      # digits of an exact constant power b**p built by sympy
MAX_INTEGER_DIGITS = 300     # digits of an integer literal
FLOAT_MAX = 1.7976931348623157e308   # every constant subexpression must be a float64 number: |c| <= FLOAT_MAX
CONSTANTS = {"pi": (sympy.pi, math.pi), "e": (sympy.E, math.e)}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

TorchFn = Callable[[Sequence[torch.Tensor], torch.dtype], torch.Tensor]


class ExprError(InputError):
    """The text is not a valid losslens expression."""


@dataclass(frozen=True)
class Function:
    """One whitelisted function: its arity, sympy meaning, torch meaning and natural-domain condition."""

    arity: tuple[int, int | None]        # (min, max) arguments; None = any number
    sym: Callable[..., sympy.Expr]
    torch: Callable[..., torch.Tensor]
    domain: Callable[[sympy.Expr], sympy.Basic] | None = None
    why: str = ""


def _cond(relation, lhs: sympy.Expr) -> sympy.Basic:
    """``relation(lhs, 0)``, simplified by sympy where it can decide (``exp(x) > 0`` is True), else left unevaluated
    (sympy refuses to compare expressions it cannot prove real, e.g. ``log(min(x, 0))``)."""
    try:
        return relation(lhs, 0)
    except TypeError:
        return relation(lhs, 0, evaluate=False)


def _softplus(a):
    return torch.logaddexp(a, torch.zeros_like(a))   # log(1+e^a) without overflow or a cut-off threshold


def _reduce(op):
    def f(*args):
        out = args[0]
        for a in args[1:]:
            out = op(out, a)
        return out
    return f


FUNCTIONS: dict[str, Function] = {
    "abs": Function((1, 1), sympy.Abs, torch.abs),
    "sqrt": Function((1, 1), sympy.sqrt, torch.sqrt, lambda a: _cond(sympy.Ge, a), "sqrt argument >= 0"),
    "exp": Function((1, 1), sympy.exp, torch.exp),
    "log": Function((1, 1), sympy.log, torch.log, lambda a: _cond(sympy.Gt, a), "log argument > 0"),
    "log1p": Function((1, 1), lambda a: sympy.log(1 + a), torch.log1p, lambda a: _cond(sympy.Gt, 1 + a), "log1p argument > -1"),
    "sin": Function((1, 1), sympy.sin, torch.sin),
    "cos": Function((1, 1), sympy.cos, torch.cos),
    "tan": Function((1, 1), sympy.tan, torch.tan, lambda a: _cond(sympy.Ne, sympy.cos(a)),
                     "tan argument not at a pole"),
    "tanh": Function((1, 1), sympy.tanh, torch.tanh),
    "sigmoid": Function((1, 1), lambda a: 1 / (1 + sympy.exp(-a)), torch.sigmoid),
    "softplus": Function((1, 1), lambda a: sympy.log(1 + sympy.exp(a)), _softplus),
    "relu": Function((1, 1), lambda a: sympy.Max(0, a), torch.relu),
    "min": Function((2, None), sympy.Min, _reduce(torch.minimum)),
    "max": Function((2, None), sympy.Max, _reduce(torch.maximum)),
}

_FORBIDDEN = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambda",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts",
    ast.Set: "sets", ast.Compare: "comparisons", ast.BoolOp: "boolean operators", ast.IfExp: "if-expressions",
    ast.JoinedStr: "strings", ast.NamedExpr: "assignments", ast.Starred: "starred arguments",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "slices",
}


@dataclass(frozen=True)
class _Node:
    sym: sympy.Expr
    fn: TorchFn
    value: float | None      # the float value when the node is a constant
    depth: int


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed expression.

    ``sympy``: exact sympy expression over real ``symbols``; ``variables``: names in coordinate order;
    ``domain``: sympy conditions that define the natural domain (log argument > 0, ...), each with a label;
    :meth:`evaluate` maps coordinate tensors (all the same shape) to the value tensor of that shape.
    """

    text: str
    variables: tuple[str, ...]
    symbols: tuple[sympy.Symbol, ...]
    sympy: sympy.Expr
    domain: tuple[tuple[str, sympy.Basic], ...]
    _fn: TorchFn

    def evaluate(self, cols: Sequence[torch.Tensor]) -> torch.Tensor:
        """f(cols[0], ..., cols[n-1]) elementwise; cols are same-shape tensors, one per variable."""
        out = self._fn(cols, cols[0].dtype)
        if out.shape == cols[0].shape:
            return out
        # a constant (sympy folded log(0*x+1) to 0): tie it to x so that autograd and torch.func see ∇f = 0
        return out.expand(cols[0].shape) + cols[0].mul(0)

    def __str__(self) -> str:
        return self.text


def natural_order(names) -> list[str]:
    """x < y < z and x1 < x2 < x10: compare digit runs as numbers."""
    key = lambda s: [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s) if t]
    return sorted(names, key=key)


def parse(text: str, variables: Sequence[str] | str | None = None) -> Expression:
    """Parse ``text`` into an :class:`Expression`. ``variables`` fixes the coordinate order (and may add variables
    the text does not use); by default they are the names used, in natural order.

    >>> e = parse("x^2 + 3*y")
    >>> e.variables, str(e.sympy)
    (('x', 'y'), 'x**2 + 3*y')
    """
    if not isinstance(text, str):
        raise ExprError(f"expression must be text, got {type(text).__name__}")
    src = text.strip()
    if not src:
        raise ExprError("expression is empty")
    if len(src) > MAX_LENGTH:
        raise ExprError(f"expression has {len(src)} characters, at most {MAX_LENGTH} are allowed")
    if src.count("(") != src.count(")"):
        raise ExprError(f"unbalanced parentheses in {_short(src)}: {src.count('(')} '(' and {src.count(')')} ')'")
    try:
        with warnings.catch_warnings():       # Python's own warnings on odd literals ("1if", "\\d"): the user's text
            warnings.simplefilter("ignore")   # gets one error of ours or none
            tree = ast.parse(src.replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise ExprError(f"cannot parse {_short(src)}: invalid syntax at column {err.offset or '?'}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError(f"cannot parse {_short(src)}: too deeply nested") from None

    declared = _check_variables(variables) if variables is not None else None
    used: dict[str, sympy.Symbol] = {}
    domain: list[tuple[str, sympy.Basic]] = []
    builder = _Builder(declared, used, domain)
    try:
        node = builder.build(tree.body, 1)
    except RecursionError:
        raise ExprError(f"expression nests deeper than {MAX_DEPTH} levels") from None
    names = list(declared) if declared is not None else natural_order(used)
    if not names:
        raise ExprError(f"expression {_short(src)} has no variables; give them with vars (--vars)")
    if len(names) > MAX_VARIABLES:
        raise ExprError(f"expression has {len(names)} variables, at most {MAX_VARIABLES} are allowed")
    symbols = tuple(used.get(n) or sympy.Symbol(n, real=True) for n in names)
    index = {n: i for i, n in enumerate(names)}
    fn = builder.finish(node, index)
    return Expression(src, tuple(names), symbols, node.sym, tuple(_simplify_domain(domain)), fn)


def _short(s: str, k: int = 40) -> str:
    return repr(s if len(s) <= k else s[:k] + "...")


def _check_variables(variables) -> tuple[str, ...]:
    if isinstance(variables, str):
        variables = [v.strip() for v in variables.split(",")]
    names = tuple(variables)
    if not names:
        raise ExprError("vars is empty, give names such as x,y")
    for v in names:
        if not isinstance(v, str) or not _NAME.match(v):
            raise ExprError(f"variable name {v!r} is not allowed: use letters, digits and _, starting with a letter")
        if v in FUNCTIONS or v in CONSTANTS:
            raise ExprError(f"variable name {v!r} is taken by a function or constant")
    if len(set(names)) != len(names):
        raise ExprError(f"vars {','.join(names)} repeats a name")
    if len(names) > MAX_VARIABLES:
        raise ExprError(f"{len(names)} variables given, at most {MAX_VARIABLES} are allowed")
    return names


def _simplify_domain(domain):
    seen = set()
    for label, cond in domain:
        if cond is sympy.true or cond == True:  # noqa: E712  (sympy booleans)
            continue
        if (label, cond) not in seen:
            seen.add((label, cond))
            yield label, cond


class _Builder:
    """Walks a whitelisted AST. The torch side refers to variables by name until :meth:`finish` binds indices."""

    def __init__(self, declared, used, domain):
        self.declared, self.used, self.domain = declared, used, domain
        self.index: dict[str, int] = {}

    def finish(self, node: _Node, index: dict[str, int]) -> TorchFn:
        self.index.update(index)
        return node.fn

    def build(self, node: ast.AST, depth: int) -> _Node:
        if depth > MAX_DEPTH:
            raise ExprError(f"expression nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            return self._number(node.value)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            a = self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return a
            return _Node(-a.sym, lambda c, d, f=a.fn: -f(c, d), None if a.value is None else -a.value, a.depth + 1)
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        what = _FORBIDDEN.get(type(node))
        if what is None:
            what = {ast.UnaryOp: "this unary operator", ast.BinOp: "this operator"}.get(type(node),
                                                                                      type(node).__name__)
        raise ExprError(f"{what} not allowed in expressions")

    def _number(self, v) -> _Node:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            kind = "strings" if isinstance(v, (str, bytes)) else f"{type(v).__name__} literals"
            raise ExprError(f"{kind} not allowed in expressions, only real numbers")
        if isinstance(v, float) and not math.isfinite(v):
            raise ExprError(f"number {v} is not finite")
        if isinstance(v, int) and abs(v) >= 10 ** MAX_INTEGER_DIGITS:
            raise ExprError(f"integer literal {_short(str(v), 20)} is too large (more than {MAX_INTEGER_DIGITS} "
                            f"digits)")
        sym = sympy.Integer(v) if isinstance(v, int) else sympy.Rational(repr(v))
        fv = float(v)
        return _Node(sym, lambda c, d: torch.tensor(fv, dtype=d), fv, 1)

    def _name(self, name: str) -> _Node:
        if name in CONSTANTS:
            sym, fv = CONSTANTS[name]
            return _Node(sym, lambda c, d: torch.tensor(fv, dtype=d), fv, 1)
        if name in FUNCTIONS:
            raise ExprError(f"{name} is a function: call it as {name}(...)")
        if not _NAME.match(name):
            raise ExprError(f"name {name!r} is not allowed: names are ASCII letters, digits and _, starting with a letter")
        if self.declared is not None and name not in self.declared:
            raise ExprError(f"unknown name {name!r}: not among vars {','.join(self.declared)}")
        sym = self.used.setdefault(name, sympy.Symbol(name, real=True))
        return _Node(sym, lambda c, d, idx=self.index: c[idx[name]], None, 1)

    def _binop(self, node: ast.BinOp, depth: int) -> _Node:
        a = self.build(node.left, depth + 1)
        b = self.build(node.right, depth + 1)
        node_out = self._binop_node(node.op, a, b, max(a.depth, b.depth) + 1)
        _check_finite(node_out, "constant subexpression")
        return node_out

    def _binop_node(self, op, a: _Node, b: _Node, dep: int) -> _Node:
        fa, fb = a.fn, b.fn
        if isinstance(op, ast.Add):
            return _Node(a.sym + b.sym, lambda c, d: fa(c, d) + fb(c, d), _const(a, b, lambda x, y: x + y), dep)
        if isinstance(op, ast.Sub):
            return _Node(a.sym - b.sym, lambda c, d: fa(c, d) - fb(c, d), _const(a, b, lambda x, y: x - y), dep)
        if isinstance(op, ast.Mult):
            return _Node(a.sym * b.sym, lambda c, d: fa(c, d) * fb(c, d), _const(a, b, lambda x, y: x * y), dep)
        if isinstance(op, ast.Div):
            if b.value == 0:
                raise ExprError("division by zero")
            self.domain.append(("denominator != 0", _cond(sympy.Ne, b.sym)))
            return _Node(a.sym / b.sym, lambda c, d: fa(c, d) / fb(c, d), _const(a, b, lambda x, y: x / y), dep)
        if isinstance(op, (ast.Pow, ast.BitXor)):
            return self._pow(a, b, dep)
        raise ExprError(f"operator {type(op).__name__} not allowed; use + - * / ** ^")

    def _pow(self, a: _Node, b: _Node, dep: int) -> _Node:
        p = b.value
        if p is not None:
            if abs(p) > MAX_EXPONENT:
                raise ExprError(f"exponent {p:g} is too large, |exponent| <= {MAX_EXPONENT} is allowed")
            if a.value is not None and a.value != 0 and abs(p) * math.log10(max(abs(a.value), 1 / abs(a.value))) > 300:
                raise ExprError(f"constant power {a.value:g}**{p:g} is too large")
            if isinstance(a.sym, sympy.Rational) and isinstance(b.sym, sympy.Rational):
                digits = abs(p) * max(math.log10(abs(a.sym.p) + 1), math.log10(a.sym.q + 1))
                if digits > MAX_EXACT_DIGITS:
                    raise ExprError(f"constant power {a.value:g}**{p:g} is too large to compute exactly")
            if a.value == 0 and p < 0:
                raise ExprError("division by zero (0 to a negative power)")
        if p is not None and float(p).is_integer():
            k = int(p)
            if k < 0:
                self.domain.append(("base of negative power != 0", _cond(sympy.Ne, a.sym)))
            fa = a.fn
            fn = lambda c, d: torch.pow(fa(c, d), k)
        else:
            if p is not None:
                self.domain.append(("base of fractional power >= 0" if p > 0 else "base of fractional power > 0",
                                    _cond(sympy.Ge if p > 0 else sympy.Gt, a.sym)))
            else:
                self.domain.append(("base of variable power > 0", _cond(sympy.Gt, a.sym)))
            fa, fb = a.fn, b.fn
            fn = lambda c, d: torch.pow(fa(c, d), fb(c, d))
        value = None
        if a.value is not None and p is not None:
            _check_constant(a.sym ** b.sym, "power")
            try:
                value = float(a.value ** p)
            except (OverflowError, ZeroDivisionError, TypeError):
                value = math.inf
        return _Node(a.sym ** b.sym, fn, value, dep)

    def _call(self, node: ast.Call, depth: int) -> _Node:
        if not isinstance(node.func, ast.Name):
            raise ExprError("only calls of named functions are allowed, e.g. sin(x)")
        name = node.func.id
        fun = FUNCTIONS.get(name)
        if fun is None:
            raise ExprError(f"unknown function {name!r}; known: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise ExprError(f"{name}() takes no keyword arguments")
        lo, hi = fun.arity
        k = len(node.args)
        if k < lo or (hi is not None and k > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}"
            raise ExprError(f"{name}() takes {want} argument(s), got {k}")
        args = [self.build(a, depth + 1) for a in node.args]
        try:
            sym = fun.sym(*[a.sym for a in args])
        except (ValueError, TypeError, ArithmeticError) as err:
            raise ExprError(f"{name}() cannot be applied here: {err}") from None
        if all(a.value is not None for a in args) or not sym.free_symbols:
            _check_constant(sym, name)   # sympy may see a constant where the tree does not: log1p(-(x/x))
        if fun.domain is not None:
            self.domain.append((fun.why, fun.domain(args[0].sym)))
        fns = [a.fn for a in args]
        tf = fun.torch
        fn = lambda c, d: tf(*[f(c, d) for f in fns])
        value = None
        if not sym.free_symbols:
            # an exact constant (sqrt(tan(pi)) == 0): float rounding of the argument must not move it off its domain
            value = _float_constant(sym, f"{name}()")
            fn = lambda c, d, v=value: torch.tensor(v, dtype=d)
        elif all(a.value is not None for a in args):
            with torch.no_grad():
                value = float(tf(*[torch.tensor(a.value, dtype=torch.float64) for a in args]))
        out = _Node(sym, fn, value, max(a.depth for a in args) + 1)
        _check_finite(out, f"constant {name}()")
        return out


def _check_constant(sym: sympy.Expr, what: str) -> None:
    """A constant subexpression must be a finite real number (log(0), log(-1), 0**-1 are refused)."""
    if sym.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or sym.is_real is False:
        raise ExprError(f"constant {what} subexpression {sym} is not a finite real number")


def _check_finite(node: _Node, what: str) -> None:
    """A constant node must have a finite float64 value: ``exp(exp(30))`` or ``10^200 * 10^200`` cannot be
    represented, and sympy could spend unbounded time evaluating functions of it."""
    if node.value is not None and not math.isfinite(node.value):
        raise ExprError(f"{what} {_short(str(node.sym), 30)} is not representable: its value is beyond the float64 "
                        f"range (|c| <= {FLOAT_MAX:.4g}) or undefined")


def _float_constant(sym: sympy.Expr, what: str) -> float:
    """The float64 value of an exact sympy constant, checked finite in float arithmetic *before* sympy evaluates it
    to 30 digits (``sin(exp(exp(30)))`` would need trillions of digits of ``exp(exp(30))`` for the reduction)."""
    try:
        rough = float(sympy.lambdify((), sym, "math")())
    except (OverflowError, ValueError, ZeroDivisionError, TypeError, NameError, AttributeError):
        rough = math.inf
    if not math.isfinite(rough):
        raise ExprError(f"constant {what} subexpression {_short(str(sym), 30)} is not representable: a part of it is "
                        f"beyond the float64 range (|c| <= {FLOAT_MAX:.4g}) or undefined")
    return float(sym.evalf(30))


def _const(a: _Node, b: _Node, op) -> float | None:
    if a.value is None or b.value is None:
        return None
    try:
        return float(op(a.value, b.value))
    except (OverflowError, ZeroDivisionError):
        return math.inf
