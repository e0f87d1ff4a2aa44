"""The results of :func:`losslens.critical.find_critical_points`: one point, the global minimum, the whole search."""
from __future__ import annotations

from dataclasses import dataclass

from ..results import Result

KINDS = ("min", "max", "saddle", "degenerate", "nonsmooth")


@dataclass(frozen=True)
class CriticalPoint(Result):
    """One zero of ∇f in the box, or a point where the search stopped on a kink of ``abs``/``max``/``min``/``relu``
    (kind ``nonsmooth``: ∇f need not exist there, see :func:`losslens.classify.kinks`).

    ``point`` [n] and ``value``; ``gradient_norm`` = ‖∇f‖ at the float64 point; ``residual`` = ‖∇f‖ at the 50-digit
    refined point (None when no symbolic form); ``eigenvalues`` [n] of the Hessian, ascending; ``kind`` in
    :data:`KINDS` (after higher-order evidence), ``second_order`` the plain second-order verdict, ``reason`` and
    ``evidence`` (certified 50-digit second-order test, higher-order test or witnesses); ``certified`` when a
    Krawczyk certificate proves one zero in ``certificate["box"]``; ``starts`` how many starts converged here.
    """

    point: tuple[float, ...]
    value: float
    gradient_norm: float
    residual: float | None
    eigenvalues: tuple[float, ...]
    kind: str
    second_order: str
    reason: str
    evidence: dict | None
    certified: bool
    certificate: dict
    starts: int


@dataclass(frozen=True)
class GlobalMinimum(Result):
    """The best point of ``f`` on the closed box and an interval lower bound over the whole box.

    ``where`` is ``interior`` (a reported critical point) or ``boundary``; ``certified`` when
    ``value - lower_bound <= epsilon``; ``boxes`` sub-boxes examined.
    """

    point: tuple[float, ...]
    value: float
    where: str
    lower_bound: float | None
    gap: float | None
    epsilon: float
    certified: bool
    reason: str
    boxes: int
    seconds: float


@dataclass(frozen=True)
class CriticalPoints(Result):
    """All critical points found in ``box`` (sorted by value), the completeness claim and the global minimum.

    ``counts``: kind -> number; ``complete`` only when proved (``completeness`` gives the reason and the cost:
    boxes, seconds); ``undefined``: what was skipped because ``f`` is undefined there.
    """

    expression: str
    names: tuple[str, ...]
    box: dict
    points: tuple[CriticalPoint, ...]
    counts: dict
    complete: bool
    completeness: dict
    global_minimum: GlobalMinimum | None
    undefined: dict
    starts: int
    seed: int
    seconds: float

    @property
    def verdict(self) -> str:
        """``complete`` when every critical point of the box is proved listed, else ``partial``."""
        return "complete" if self.complete else "partial"

    @property
    def reason(self) -> str:
        return f"{len(self.points)} critical point(s); {self.completeness['reason']}"

    def of_kind(self, kind: str) -> list[CriticalPoint]:
        return [p for p in self.points if p.kind == kind]
