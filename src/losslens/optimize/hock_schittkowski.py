"""Test problems from Hock & Schittkowski, *Test Examples for Nonlinear Programming Codes* (Springer, 1981),
with their published starting points and optima.

Each problem is typed the way a person would type it (objective text and relation texts), so the collection
exercises the whole path from text to answer. ``x_star`` and ``f_star`` are the published optima; where the book
gives rounded digits, the closed form (when one exists) is used and the source says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..results import Result
from ..validation import InputError

_S3 = math.sqrt(3.0)
_S7 = math.sqrt(7.0)


@dataclass(frozen=True)
class HSProblem(Result):
    """Hock–Schittkowski problem ``number``: minimise ``objective`` subject to ``constraints`` from ``x0``;
    published optimum ``x_star`` with value ``f_star``; ``kind`` says what it tests."""

    number: int
    objective: str
    constraints: tuple[str, ...]
    x0: tuple[float, ...]
    x_star: tuple[float, ...]
    f_star: float
    kind: str

    @property
    def name(self) -> str:
        return f"HS{self.number}"


def _bounds(names, lo=None, hi=None):
    out = []
    for v in names:
        if lo is not None:
            out.append(f"{v} >= {lo}")
        if hi is not None:
            out.append(f"{v} <= {hi}")
    return out


PROBLEMS: dict[str, HSProblem] = {p.name: p for p in [
    HSProblem(1, "100*(x2 - x1^2)^2 + (1 - x1)^2", ("x2 >= -1.5",), (-2.0, 1.0), (1.0, 1.0), 0.0,
              "Rosenbrock with an inactive bound"),
    HSProblem(5, "sin(x1 + x2) + (x1 - x2)^2 - 1.5*x1 + 2.5*x2 + 1",
              ("x1 >= -1.5", "x1 <= 4", "x2 >= -3", "x2 <= 3"), (0.0, 0.0),
              (0.5 - math.pi / 3, -0.5 - math.pi / 3), -_S3 / 2 - math.pi / 3,
              "nonconvex objective, box bounds all inactive"),
    HSProblem(6, "(1 - x1)^2", ("10*(x2 - x1^2) = 0",), (-1.2, 1.0), (1.0, 1.0), 0.0,
              "one nonlinear equality"),
    HSProblem(7, "log(1 + x1^2) - x2", ("(1 + x1^2)^2 + x2^2 - 4 = 0",), (2.0, 2.0), (0.0, _S3), -_S3,
              "nonconvex objective and equality"),
    HSProblem(10, "x1 - x2", ("-3*x1^2 + 2*x1*x2 - x2^2 + 1 >= 0",), (-10.0, 10.0), (0.0, 1.0), -1.0,
              "linear objective, one active convex inequality, infeasible start"),
    HSProblem(12, "0.5*x1^2 + x2^2 - x1*x2 - 7*x1 - 7*x2", ("25 - 4*x1^2 - x2^2 >= 0",), (0.0, 0.0),
              (2.0, 3.0), -30.0, "convex quadratic, one active convex inequality"),
    HSProblem(14, "(x1 - 2)^2 + (x2 - 1)^2", ("x1 - 2*x2 + 1 = 0", "-x1^2/4 - x2^2 + 1 >= 0"), (2.0, 2.0),
              ((_S7 - 1) / 2, (_S7 + 1) / 4), 9 - 23 * _S7 / 8,
              "equality and active inequality (closed-form optimum)"),
    HSProblem(21, "0.01*x1^2 + x2^2 - 100", ("10*x1 - x2 - 10 >= 0", "x1 >= 2", "x1 <= 50", "x2 >= -50",
                                             "x2 <= 50"), (-1.0, -1.0), (2.0, 0.0), -99.96,
              "active bound, inactive linear inequality"),
    HSProblem(28, "(x1 + x2)^2 + (x2 + x3)^2", ("x1 + 2*x2 + 3*x3 - 1 = 0",), (-4.0, 1.0, 1.0),
              (0.5, -0.5, 0.5), 0.0, "affine equality, convex"),
    HSProblem(35, "9 - 8*x1 - 6*x2 - 4*x3 + 2*x1^2 + 2*x2^2 + x3^2 + 2*x1*x2 + 2*x1*x3",
              ("3 - x1 - x2 - 2*x3 >= 0", *_bounds(["x1", "x2", "x3"], lo=0)), (0.5, 0.5, 0.5),
              (4 / 3, 7 / 9, 4 / 9), 1 / 9, "convex QP, one active and three inactive inequalities"),
    HSProblem(48, "(x1 - 1)^2 + (x2 - x3)^2 + (x4 - x5)^2",
              ("x1 + x2 + x3 + x4 + x5 - 5 = 0", "x3 - 2*(x4 + x5) + 3 = 0"), (3.0, 5.0, -3.0, 2.0, -2.0),
              (1.0, 1.0, 1.0, 1.0, 1.0), 0.0, "two affine equalities in five variables"),
    HSProblem(71, "x1*x4*(x1 + x2 + x3) + x3",
              ("x1*x2*x3*x4 >= 25", "x1^2 + x2^2 + x3^2 + x4^2 = 40", *_bounds(["x1", "x2", "x3", "x4"], 1, 5)),
              (1.0, 5.0, 5.0, 1.0), (1.0, 4.7429994, 3.8211503, 1.3794082), 17.0140173,
              "nonconvex: equality, active product inequality and an active bound"),
    HSProblem(76, "x1^2 + 0.5*x2^2 + x3^2 + 0.5*x4^2 - x1*x3 + x3*x4 - x1 - 3*x2 + x3 - x4",
              ("5 - x1 - 2*x2 - x3 - x4 >= 0", "4 - 3*x1 - x2 - 2*x3 + x4 >= 0", "x2 + 4*x3 - 1.5 >= 0",
               *_bounds(["x1", "x2", "x3", "x4"], lo=0)), (0.5, 0.5, 0.5, 0.5),
              (3 / 11, 23 / 11, 0.0, 6 / 11), -103 / 22, "convex QP, active linear inequalities and a bound"),
]}


def get(name: str) -> HSProblem:
    """``"HS71"`` (or ``"71"``) -> the problem."""
    key = name.strip().upper()
    key = key if key.startswith("HS") else f"HS{key}"
    if key not in PROBLEMS:
        raise InputError(f"problem {name!r} is not in the collection; known: {', '.join(PROBLEMS)}")
    return PROBLEMS[key]
