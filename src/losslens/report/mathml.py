"""Formulas for the page as MathML built from sympy objects (``sympy.printing.mathml``, presentation markup), which
browsers render natively: no network, no JavaScript.

``formula(*parts)`` joins sympy expressions with relation symbols and words that sympy has no object for
(``∈``, ``⪰``, "whenever") into one display formula.
"""
from __future__ import annotations

from html import escape

import sympy as sp
from sympy.printing.mathml import mathml


def ml(expr) -> str:
    """One sympy expression (or a number) as presentation MathML (without the <math> wrapper)."""
    return mathml(sp.sympify(expr), printer="presentation", order="none")


def op(symbol: str) -> str:
    return f"<mo>{escape(symbol)}</mo>"


def text(words: str) -> str:
    return f"<mtext>&#160;{escape(words)}&#160;</mtext>"


def formula(*parts, block: bool = True) -> str:
    """Parts are sympy objects (printed by sympy) or MathML strings from :func:`op` / :func:`text`."""
    body = "".join(p if isinstance(p, str) else ml(p) for p in parts)
    display = "block" if block else "inline"
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="{display}"><mrow>{body}</mrow></math>'
