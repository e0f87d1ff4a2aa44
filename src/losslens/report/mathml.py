"""Formulas for the page as MathML built from sympy objects (``sympy.printing.mathml``, presentation markup), which
browsers render natively: no network, no JavaScript.

``formula(*parts)`` joins sympy expressions with relation symbols and words that sympy has no object for
(``∈``, ``⪰``, "whenever") into one display formula.
"""
from __future__ import annotations

from html import escape

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.mathml import MathMLPresentationPrinter


class _Printer(MathMLPresentationPrinter):
    """sympy's presentation printer with two changes: an undefined function keeps its name as written, printed like
    a symbol (``E`` stays E, not e; ``c_i`` gets its subscript), and a product keeps the order of its factors (an
    unevaluated ``Mul(λ, a)`` reads λa, as in the book)."""

    def _print_Function(self, e):
        if not isinstance(e, AppliedUndef):
            return super()._print_Function(e)
        mrow = self.dom.createElement("mrow")
        mrow.appendChild(self._print(sp.Symbol(e.func.__name__)))
        mrow.appendChild(self._paren_comma_separated(*e.args))
        return mrow

    def _print_Mul(self, expr):
        order, self._settings["order"] = self._settings["order"], "old"
        try:
            return super()._print_Mul(expr)
        finally:
            self._settings["order"] = order


def ml(expr) -> str:
    """One sympy expression (or a number) as presentation MathML (without the <math> wrapper)."""
    return _Printer({"order": "none"}).doprint(sp.sympify(expr))


def times(*factors) -> sp.Expr:
    """The product of ``factors`` in the order given (for printing)."""
    return sp.Mul(*factors, evaluate=False)


def op(symbol: str) -> str:
    return f"<mo>{escape(symbol)}</mo>"


def text(words: str) -> str:
    return f"<mtext>&#160;{escape(words)}&#160;</mtext>"


def formula(*parts, block: bool = True) -> str:
    """Parts are sympy objects (printed by sympy) or MathML strings from :func:`op` / :func:`text`."""
    body = "".join(p if isinstance(p, str) else ml(p) for p in parts)
    display = "block" if block else "inline"
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="{display}"><mrow>{body}</mrow></math>'
