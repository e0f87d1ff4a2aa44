"""``check_convexity``: prove, refute, or say "unknown" — with the region the verdict holds on.

Order of work (cheapest first, each step bounded by the time budget): composition rules; if they do not prove
convexity, a Jensen-violation search whose witness is re-verified in interval arithmetic; then the symbolic Hessian;
then interval enclosures of the Hessian (one over the whole region, then with subdivision of a box). A proved
convexity is then strengthened where possible (strictly convex; strongly convex with a proved modulus μ,
``∇²f ⪰ μI``). A refuted convexity is followed by a concavity proof attempt.

Verdicts: ``strongly_convex`` (with ``modulus``), ``strictly_convex``, ``convex``, ``concave``, ``not_convex``,
``unknown``. The region is the whole space, the box, the natural domain of the expression (e.g. ``x > 0`` for
``log(x)``), or box ∩ natural domain; it is never restricted silently.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import sympy

from .. import budget
from ..budget import BudgetExceeded
from ..expr import Expression
from ..objective import AnalyticObjective, Box
from ..relations import conjunction, names_of, to_inequalities
from ..results import Result, VariablesAlias
from ..validation import InputError, check_float, check_int
from . import _interval as I
from .prove import (CONCAVE, AFFINE, Proof, composition_curvature, prove_composition, prove_interval_hessian,
                    prove_interval_whole, prove_symbolic_hessian)
from .refute import JensenWitness, along_constant_hessian, in_polynomial_dip, search_jensen
from .region import Condition, Region

VERDICTS = ("strongly_convex", "strictly_convex", "convex", "concave", "not_convex", "unknown")
_RANK = {"convex": 0, "strictly_convex": 1, "strongly_convex": 2}
_NONSMOOTH = (sympy.Abs, sympy.Max, sympy.Min, sympy.sign, sympy.Heaviside)


@dataclass(frozen=True)
class Convexity(VariablesAlias, Result):
    """The verdict on ``f`` over ``domain`` with its evidence.

    ``verdict``: one of :data:`VERDICTS`; ``domain``: the region (``kind`` whole_space | box | natural_domain |
    box_and_natural_domain, ``box``, ``conditions``, ``text``); ``modulus``: proved μ for strongly_convex;
    ``proofs``: the certificates found (strongest first); ``witness``: a proved Jensen violation (not_convex and
    concave); ``reason``: one line; ``tried``: the methods run; ``seconds``: wall time; ``stopped_by``: None when
    every method ran to its end, ``"work"`` when a step was skipped because its work budget (expression size,
    degree, boxes; see :mod:`losslens.budget`) was exceeded — deterministic — or ``"time"`` when the wall-clock
    safety net (``time_budget``) cut the work short; ``limits``: what each budget stopped, one line each.
    """

    expression: str
    names: tuple[str, ...]
    verdict: str
    domain: dict
    modulus: float | None
    proofs: tuple[Proof, ...]
    witness: JensenWitness | None
    reason: str
    tried: tuple[str, ...]
    seconds: float
    stopped_by: str | None = None
    limits: tuple[str, ...] = ()

    @property
    def decided(self) -> bool:
        return self.verdict != "unknown"


def as_objective(objective, vars=None) -> AnalyticObjective:
    """An :class:`AnalyticObjective` from an objective, an expression text or a catalog name."""
    if isinstance(objective, AnalyticObjective):
        return objective
    if isinstance(objective, Expression):
        return AnalyticObjective(objective)
    if isinstance(objective, str):
        from ..catalog import resolve

        return resolve(objective, vars)
    raise InputError(f"objective == {type(objective).__name__}, must be an expression text or an AnalyticObjective "
                     f"(convexity needs the symbolic form)")


def as_box(box, n: int) -> Box | None:
    return Box.coerce(box, n)


def domain_convexity(region: Region, deadline=None) -> tuple[bool, str]:
    """Is the region convex? A box is; each condition g > 0 or g >= 0 needs g concave; g != 0 is refused."""
    for c in region.conditions:
        if c.op == "!=":
            return False, f"the natural domain has {c.label} ({c}), which is not a convex set"
        curv, _ = composition_curvature(c.g, Region(region.symbols, region.box, ()), deadline)
        if curv not in (AFFINE, CONCAVE):
            return False, f"cannot prove the natural-domain set {{{c}}} convex ({c.label})"
    return True, ""


def where_conditions(where, variables) -> tuple[Condition, ...]:
    """Extra region conditions from text such as ``"x >= 0 and y > 1"`` (each ``g <= 0`` becomes ``-g >= 0``)."""
    if where is None:
        return ()
    if isinstance(where, tuple) and all(isinstance(c, Condition) for c in where):
        return where
    relations = conjunction(where, "where")
    unknown = sorted(names_of(relations) - set(variables))
    if unknown:
        raise InputError(f"where == {where!r} uses unknown variable(s) {', '.join(unknown)}; the variables are "
                         f"{','.join(variables)}")
    return tuple(Condition(f"where {c.text}", -c.sympy, ">" if c.strict else ">=")
                 for r in relations for c in to_inequalities(r, variables))


def prove_convex(g: sympy.Expr, region: Region, deadline=None) -> Proof | None:
    """Proof-only pipeline for a sympy expression (no witness search): composition, symbolic and interval Hessian."""
    p = prove_composition(g, region, 1, deadline)
    if p is not None or g.has(*_NONSMOOTH):
        return p
    try:
        H = budget.hessian(g, region.symbols)
    except BudgetExceeded:
        return None
    try:
        p = prove_symbolic_hessian(H, region, deadline)
    except (TypeError, ValueError, NotImplementedError, RecursionError):
        p = None
    return p if p is not None else prove_interval_whole(H, region)


def check_convexity(objective, box=None, *, vars=None, where=None, time_budget: float = 10.0, seed: int = 0,
                    samples: int = 2048) -> Convexity:
    """Decide whether ``f`` is convex on ``box`` (default: the whole space, or the natural domain of ``f``).

    ``objective``: expression text, catalog name or :class:`AnalyticObjective` (``n`` variables); ``box``: a
    :class:`Box`, text ``"-1:2,0:3"`` or None; ``where``: extra conditions restricting the region, text such as
    ``"x >= 0 and y >= 0"`` (named in the verdict's domain); ``time_budget``: seconds before the answer becomes ``unknown``
    (default 10); ``seed``: of the witness search; ``samples``: points per search box.

    >>> check_convexity("x^4 + x^2").verdict
    'strictly_convex'
    >>> check_convexity("x^3").verdict
    'not_convex'

    Budgets: every symbolic step is bounded by work counts (:mod:`losslens.budget`); a step past its count is
    skipped and named in ``limits`` (``stopped_by="work"``). ``time_budget`` is the outer safety net only: past it
    the remaining steps are skipped, and a single symbolic step still running one second after it is interrupted
    (``stopped_by="time"``).
    """
    t0 = time.monotonic()
    obj = as_objective(objective, vars)
    box = as_box(box, obj.n)
    time_budget = check_float("time_budget", time_budget, lo=0, lo_open=True)
    seed = check_int("seed", seed, lo=0)
    samples = check_int("samples", samples, lo=16, hi=1 << 20)
    expr = obj.expression
    region = Region.of(expr, box, where_conditions(where, expr.variables))
    with I.precision():          # interval proofs at losslens.interval.PREC bits, whatever the caller's mpmath
        return _check(obj, region, t0, time_budget, seed, samples)


SAFETY_GRACE = 1.0     # seconds a symbolic step may run past the time budget before the safety net interrupts it


def _check(obj, region, t0, time_budget, seed, samples) -> Convexity:
    deadline = t0 + time_budget
    expr = obj.expression
    f = expr.sympy
    limits: list[str] = []
    fired: list[str] = []

    def guarded(what, fn, *args, **kw):
        """``fn(*args, **kw)``, a symbolic step: None when its work budget or the time safety net stops it."""
        try:
            with budget.safety_net(max(0.05, deadline + SAFETY_GRACE - time.monotonic()), what):
                return fn(*args, **kw)
        except BudgetExceeded as err:
            (fired if err.kind == "time" else limits).append(f"{what} stopped: {err}")
            return None
    syms = region.symbols
    smooth = not f.has(*_NONSMOOTH)
    tried: list[str] = []
    proofs: list[Proof] = []
    hess_cache: dict[int, sympy.Matrix] = {}

    def H(sign):
        if sign not in hess_cache:
            hess_cache[sign] = budget.hessian(sign * f, syms)
        return hess_cache[sign]

    def done(verdict, reason, witness=None, modulus=None):
        ordered = tuple(sorted(proofs, key=lambda p: -_RANK.get(p.strength, 0)))
        if fired or time.monotonic() > deadline:
            limits.extend(fired or [f"time safety net: {time_budget:g} s reached, later steps skipped"])
            stopped = "time"
        else:
            stopped = "work" if limits else None
        if verdict == "unknown" and limits:
            reason = f"{reason}; budget: {'; '.join(limits)}"
        return Convexity(expr.text, expr.variables, verdict, region.to_dict(), modulus, ordered, witness, reason,
                         tuple(tried), time.monotonic() - t0, stopped, tuple(limits))

    def prove(sign, skip_composition=False) -> list[Proof]:
        """All proofs found for convexity of sign*f, cheapest first, stopping at the strongest possible."""
        found = []
        what = "" if sign > 0 else " (concavity)"
        if not skip_composition:
            tried.append("composition rules" + what)
            p = guarded("composition rules" + what, prove_composition, sign * f, region, 1, deadline)
            if p is not None:
                found.append(p)
        if not smooth or time.monotonic() > deadline:
            return found
        tried.append("symbolic Hessian" + what)
        if guarded("Hessian" + what, H, sign) is None:
            return found
        try:
            p = guarded("symbolic Hessian" + what, prove_symbolic_hessian, H(sign), region, deadline)
        except (TypeError, ValueError, NotImplementedError, RecursionError):
            p = None
        if p is not None:
            found.append(p)
        if any(q.strength == "strongly_convex" for q in found) or time.monotonic() > deadline:
            return found
        tried.append("interval Hessian over the region" + what)
        p = guarded("interval Hessian over the region" + what, prove_interval_whole, H(sign), region)
        if p is not None:
            found.append(p)
        if region.box is not None and not any(q.strength == "strongly_convex" for q in found):
            tried.append("interval Hessian with subdivision" + what)
            out = guarded("interval Hessian with subdivision" + what, prove_interval_hessian, H(sign), region,
                          region.box.lo, region.box.hi, deadline=deadline)
            if out is not None and out.proof is not None:
                found.append(out.proof)
        return found

    domain = guarded("domain convexity", domain_convexity, region, deadline)
    domain_ok, domain_note = domain if domain is not None else (False, "its convexity was not decided in budget")

    def refuted(w):
        concave = prove(-1) if time.monotonic() < deadline else []
        if concave and domain_ok:
            proofs.extend(concave)
            return done("concave", f"concave on {region.describe()} ({concave[0].method}); "
                                   f"not convex: {w.describe()}", w)
        return done("not_convex", w.describe(), w)

    # composition rules first: cheap and often enough; otherwise look for a witness before the costly proofs
    tried.append("composition rules")
    first = guarded("composition rules", prove_composition, f, region, 1, deadline)
    if first is None:
        tried.append("Jensen-violation search (interval-verified)")
        w = search_jensen(obj, f, region, sign=1, seed=seed, samples=samples, deadline=deadline)
        if w is not None:
            return refuted(w)
        proofs.extend(prove(1, skip_composition=True))
        if not proofs and hess_cache.get(1) is not None:
            tried.append("exact curvature: a constant Hessian's eigenvector, a univariate polynomial f'' < 0 "
                         "between its roots (interval-verified)")
            w = along_constant_hessian(hess_cache[1], f, region) or guarded("polynomial f''", in_polynomial_dip, f,
                                                                             region)
            if w is not None:
                return refuted(w)
    else:
        proofs.append(first)
        proofs.extend(prove(1, skip_composition=True))
    if time.monotonic() > deadline and not proofs:
        return done("unknown", f"time safety net {time_budget:g} s reached; tried: {', '.join(tried)}")
    if proofs:
        best = max(proofs, key=lambda q: _RANK.get(q.strength, 0))
        if not domain_ok:
            return done("unknown", f"the Hessian/rules hold on {region.describe()}, but {domain_note}; give a box")
        modulus = max((q.modulus for q in proofs if q.modulus is not None), default=None)
        verdict = best.strength
        return done(verdict, f"{verdict.replace('_', ' ')} on {region.describe()} ({best.method})"
                    + (f", modulus μ = {modulus:.6g}" if verdict == "strongly_convex" else ""), None,
                    modulus if verdict == "strongly_convex" else None)
    concave = prove(-1) if time.monotonic() < deadline else []
    if concave and domain_ok:
        proofs.extend(concave)
        return done("concave", f"concave on {region.describe()} ({concave[0].method}); convexity not proved")
    why = "" if domain_ok else f" ({domain_note})"
    return done("unknown", f"neither proved nor refuted{why}; tried: {', '.join(tried)}")
