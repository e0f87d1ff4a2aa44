"""Work budgets for symbolic steps: count work, never trust the clock with a verdict.

Symbolic algebra can blow up on small inputs: ``(x+y+z)^1000`` expands into 501,501 terms, ``diff`` of a nested
``max(x^x, 5)`` grows at each order, a Sturm sequence of degree 998 has huge rationals. Every symbolic step of
losslens therefore asks this module first, with a cheap *bound* computed on the unexpanded tree:

* ``nodes(e)``: the number of nodes of a sympy tree (counted with an early stop at the limit);
* ``degree_bound(e, syms)``: an upper bound of the total polynomial degree (``None``: not a polynomial);
* ``terms_bound(e)``: an upper bound of the number of terms after ``expand`` (multinomial counts for powers).

A step whose bound is past its limit is not run; the caller answers ``unknown`` and names the limit (or, for input
that can never be handled, raises :class:`InputError`). The limits are counts, so the same input gives the same
verdict on any machine. Wall-clock time is only an outer safety net (:func:`safety_net`), for the case a bound
misses a blow-up: it interrupts the step, and the result says that the *time* limit, not the work budget, stopped it.

Defaults (module constants):

=====================  ======  ================================================================
``MAX_NODES``          20000   nodes of an expression a symbolic step may produce (a derivative, a minor)
``MAX_REWRITE_NODES``    300   nodes of an expression that ``factor``/``expand``/``cancel`` may rewrite
``MAX_DEGREE``            60   total degree of a polynomial handed to ``Poly``, ``factor``, Sturm counting
``MAX_TERMS``           5000   terms an expansion may produce (multinomial bound)
``MAX_DERIVATIVE_ORDER``  12   order of repeated differentiation (higher-order tests)
``MAX_DIFF_NODES``       500   nodes of an expression differentiated once more in repeated differentiation
=====================  ======  ================================================================
"""
from __future__ import annotations

import contextlib
import math
import signal
import threading
import time

import sympy

MAX_NODES = 20_000
MAX_REWRITE_NODES = 300
MAX_DEGREE = 60
MAX_TERMS = 5_000
MAX_DERIVATIVE_ORDER = 12
MAX_DIFF_NODES = 500


class BudgetExceeded(Exception):
    """A symbolic step would exceed (or did exceed) its budget.

    ``what``: the step; ``counted``: the work measured (or bounded); ``limit``: the budget; ``kind``: ``"work"`` (a
    count decided it: deterministic) or ``"time"`` (the wall-clock safety net fired).
    """

    def __init__(self, what: str, counted: float, limit: float, kind: str = "work"):
        self.what, self.counted, self.limit, self.kind = what, counted, limit, kind
        unit = "s" if kind == "time" else ""
        super().__init__(f"{what}: {counted:g}{unit} past the {kind} budget of {limit:g}{unit}")


def nodes(e, limit: int | None = None) -> int:
    """Number of nodes of the sympy tree ``e``; counting stops at ``limit + 1`` when a limit is given."""
    count = 0
    stack = [e]
    while stack:
        a = stack.pop()
        count += 1
        if limit is not None and count > limit:
            return count
        stack.extend(getattr(a, "args", ()))
    return count


def check_nodes(e, what: str, limit: int | None = None):
    """``e`` itself when it has at most ``limit`` (default :data:`MAX_NODES`) nodes, else :class:`BudgetExceeded`."""
    limit = MAX_NODES if limit is None else limit
    k = nodes(e, limit)
    if k > limit:
        raise BudgetExceeded(f"{what} has more than {limit} nodes", k, limit)
    return e


def degree_bound(e, syms) -> int | None:
    """An upper bound of the total degree of ``e`` in ``syms`` without expanding; None when not a polynomial form.

    >>> x, y = sympy.symbols("x y")
    >>> degree_bound((x + y) ** 1000 + x, (x, y))
    1000
    """
    syms = set(syms)
    if not (e.free_symbols & syms):
        return 0
    if e.is_Symbol:
        return 1
    if isinstance(e, sympy.Add):
        ds = [degree_bound(a, syms) for a in e.args]
        return None if None in ds else max(ds)
    if isinstance(e, sympy.Mul):
        ds = [degree_bound(a, syms) for a in e.args]
        return None if None in ds else sum(ds)
    if isinstance(e, sympy.Pow):
        b, p = e.args
        if p.is_Integer and p >= 0:
            d = degree_bound(b, syms)
            return None if d is None else d * int(p)
    return None


def terms_bound(e, cap: int = 10 ** 9) -> int:
    """An upper bound (capped at ``cap``) of the number of terms of ``expand(e)``: sums add, products multiply, a
    power ``b^k`` of a ``t``-term base gives at most ``C(k + t − 1, t − 1)`` terms; anything else is one term."""
    if isinstance(e, sympy.Add):
        return min(cap, sum(terms_bound(a, cap) for a in e.args))
    if isinstance(e, sympy.Mul):
        out = 1
        for a in e.args:
            out = min(cap, out * terms_bound(a, cap))
        return out
    if isinstance(e, sympy.Pow) and e.args[1].is_Integer and e.args[1] > 0:
        t = terms_bound(e.args[0], cap)
        k = int(e.args[1])
        if t == 1:
            return 1
        if k > 10 ** 6:
            return cap
        return min(cap, math.comb(k + t - 1, t - 1)) if t <= 64 else cap
    return 1


def polynomial_ok(e, syms, *, max_degree: int = MAX_DEGREE, max_terms: int = MAX_TERMS) -> bool:
    """May ``e`` be turned into a ``sympy.Poly`` in ``syms`` (expanded) within budget? False also when ``e`` is not
    of polynomial form."""
    d = degree_bound(e, syms)
    return d is not None and d <= max_degree and terms_bound(e) <= max_terms and nodes(e, MAX_NODES) <= MAX_NODES


class PolynomialBudgetError(sympy.PolynomialError, BudgetExceeded):
    """Raised by :func:`poly` for a polynomial past the budget; a ``sympy.PolynomialError``, so code that treats
    "not a polynomial" as "cannot show it" treats this the same way."""

    def __init__(self, what: str, counted: float, limit: float):
        BudgetExceeded.__init__(self, what, counted, limit)


def poly(e, *syms) -> sympy.Poly:
    """``sympy.Poly(expand(e), *syms)`` within budget (degree <= MAX_DEGREE, at most MAX_TERMS terms after
    expansion), else :class:`PolynomialBudgetError` (a ``sympy.PolynomialError``). Non-polynomial forms raise
    sympy's own ``PolynomialError``.

    >>> x, y, z = sympy.symbols("x y z")
    >>> poly((x + y) ** 2, x, y).total_degree()
    2
    >>> poly((x + y + z) ** 1000, x, y, z)
    Traceback (most recent call last):
    ...
    losslens.budget.PolynomialBudgetError: polynomial of degree 1000: 1000 past the work budget of 60
    """
    d = degree_bound(e, syms)
    if d is not None and d > MAX_DEGREE:
        raise PolynomialBudgetError(f"polynomial of degree {d}", d, MAX_DEGREE)
    t = terms_bound(e)
    if t > MAX_TERMS:
        raise PolynomialBudgetError("expansion into more terms than allowed", t, MAX_TERMS)
    return sympy.Poly(sympy.expand(e), *syms)


def expanded(e):
    """``expand(e)`` when the expansion stays within :data:`MAX_TERMS` terms, else ``e`` unchanged (an equivalent,
    less normalised form: callers that look for a pattern then do not find it, and claim nothing)."""
    return sympy.expand(e) if terms_bound(e) <= MAX_TERMS and nodes(e, MAX_NODES) <= MAX_NODES else e


def rewrite_ok(e, *, max_nodes: int = MAX_REWRITE_NODES, max_terms: int = MAX_TERMS) -> bool:
    """May ``factor``/``expand``/``cancel`` run on ``e`` within budget (small tree, bounded expansion)?"""
    return nodes(e, max_nodes) <= max_nodes and terms_bound(e) <= max_terms


def diff(e, *args, what: str = "derivative", limit: int | None = None):
    """``sympy.diff(e, *args)`` with the result's size checked (:class:`BudgetExceeded` past ``limit`` nodes)."""
    return check_nodes(sympy.diff(e, *args), what, limit)


def hessian(e, syms, what: str = "Hessian", limit: int | None = None) -> sympy.Matrix:
    """``sympy.hessian(e, syms)``, each derivative's size checked; the gradient is built once."""
    g = [diff(e, s, what=f"{what} (gradient)", limit=limit) for s in syms]
    n = len(syms)
    H = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            H[i][j] = H[j][i] = diff(g[i], syms[j], what=what, limit=limit)
    return sympy.Matrix(H)


def _importing(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def safety_net(seconds: float | None, what: str):
    """Interrupt the enclosed step after ``seconds`` of wall-clock time (main thread only; elsewhere a no-op), as
    :class:`BudgetExceeded` with ``kind="time"``. Nested nets keep the earlier expiry. ``None``: no net.

    Only for pure-Python symbolic work (sympy, mpmath): the interruption is an exception raised wherever the step
    is, so it must not wrap torch calls; an import in progress is let finish first."""
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    seconds = max(float(seconds), 1e-3)
    start = time.monotonic()
    previous_left = signal.getitimer(signal.ITIMER_REAL)[0]
    if previous_left and previous_left <= seconds:        # an outer net expires first: let it fire
        yield
        return

    def fire(signum, frame):
        if _importing(frame):         # never interrupt an import: a half-imported module breaks later calls
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            return
        raise BudgetExceeded(what, time.monotonic() - start, seconds, kind="time")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if previous_left:     # restore the outer net with what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(1e-3, previous_left - (time.monotonic() - start)))
