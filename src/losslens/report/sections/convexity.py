"""Convexity (D2L 11.2): convex functions and Jensen's inequality, sets, sublevel sets, local convexity."""
from __future__ import annotations

from ...catalog import resolve
from ...convexity import check_convexity, check_set, intersect, local_convexity, parse_set, sublevel_set, union
from ...objective import Box
from ...plot.convexity import function_figure, set_figure, sublevel_figure
from ..tour import Claim, Context, Section

CONVEX = ("convex", "strictly_convex", "strongly_convex")


def _status(ok: bool, r) -> str:
    return "unknown" if r.verdict == "unknown" else ("confirmed" if ok else "refuted")


def run(ctx: Context) -> list[Claim]:
    claims = []
    cosine = resolve("cosine")
    r = check_convexity(cosine, seed=ctx.seed)
    w = r.witness
    claims.append(Claim(
        "cos(πx) is not convex: some chord lies below its graph (Jensen's inequality fails).",
        "A Jensen violation f(λa + (1−λ)b) > λf(a) + (1−λ)f(b) found by search and re-verified in interval "
        "arithmetic; the reported gap is a proved lower bound.",
        _status(r.verdict == "not_convex", r),
        {"verdict": r.verdict, "a": list(w.a) if w else None, "b": list(w.b) if w else None,
         "gap lower bound": w.gap if w else None},
        (ctx.figure(function_figure(cosine, r, Box((-1.5,), (1.5,))), "convexity-chord",
                    "cos(pi x) with a chord below the graph, and its non-convex epigraph"),),
        "losslens convex cosine --plot chord.png"))
    rows = {name: check_convexity(resolve(name)) for name in ("half-square", "exp-half")}
    claims.append(Claim(
        "0.5x² and exp(0.5x) are convex on the whole real line; 0.5x² is even strongly convex.",
        "Proofs: exact constant Hessian (0.5x², modulus μ = 1) and composition/Hessian sign rules (exp(0.5x)).",
        "confirmed" if all(r.verdict in CONVEX for r in rows.values()) else "unknown",
        {name: {"verdict": r.verdict, "modulus": r.modulus, "method": r.proofs[0].method if r.proofs else None}
         for name, r in rows.items()}, (), "losslens convex half-square"))
    cubic, positive = check_convexity("x^3"), check_convexity("x^3", where="x >= 0")
    claims.append(Claim(
        "x³ is not convex on the real line (convex only for x ≥ 0): the domain of a verdict matters.",
        "A verified Jensen witness on R, and a proof on the region x ≥ 0, each reported with its region.",
        _status(cubic.verdict == "not_convex" and positive.verdict in CONVEX, cubic),
        {"on R": cubic.verdict, "on x >= 0": positive.verdict}, (),
        "losslens convex 'x^3' --where 'x >= 0'"))
    f = resolve("x^2 + 2*y^2")
    level = sublevel_set(f, 1.0)
    rs = check_set(level)
    claims.append(Claim(
        "Sublevel sets {x : f(x) ≤ c} of a convex function are convex.",
        "The set {x² + 2y² ≤ 1} proved convex constraint by constraint.",
        _status(rs.verdict == "convex", rs), {"set": level.text, "verdict": rs.verdict},
        (ctx.figure(sublevel_figure(f, Box.cube(-1.5, 1.5, 2), levels=[0.25, 0.5, 1.0, 2.0]), "convexity-sublevel",
                    "Elliptic sublevel-set contours of x^2 + 2y^2"),),
        "losslens convex-set 'x^2 + 2*y^2' --level 1"))
    disk, shifted = parse_set("x^2 + y^2 <= 1"), parse_set("(x - 1.5)^2 + y^2 <= 1")
    ri, ru = check_set(intersect(disk, shifted)), check_set(union(disk, shifted), seed=ctx.seed)
    claims.append(Claim(
        "The intersection of convex sets is convex; a union need not be.",
        "Intersection of two disks proved convex; for their union a witness pair a, b in the set whose midpoint "
        "leaves it, verified in interval arithmetic.",
        _status(ri.verdict == "convex" and ru.verdict == "not_convex", ru),
        {"intersection": ri.verdict, "union": ru.verdict},
        (ctx.figure(set_figure(union(disk, shifted), ru), "convexity-union",
                    "Two overlapping disks with a segment whose midpoint leaves their union"),),
        "losslens convex-set 'x^2+y^2<=1 or (x-1.5)^2+y^2<=1' --plot union.png"))
    loc = local_convexity(resolve("himmelblau"), [3.0, 2.0], time_budget=5.0 if ctx.quick else 10.0)
    claims.append(Claim(
        "A non-convex loss can still be convex near a minimum: Himmelblau's function around (3, 2).",
        "The largest cube around (3, 2) on which the Hessian is proved PSD (interval arithmetic with subdivision), "
        "and a point just outside where the Hessian is proved not PSD.",
        "confirmed" if loc.radius > 0 and loc.failure_point is not None else "unknown",
        {"half-width proved convex": loc.radius, "failure point": list(loc.failure_point or ()),
         "curvature there <=": loc.failure_curvature}, (), "losslens convex himmelblau --around 3,2"))
    return claims


SECTION = Section("convexity", "Convexity", run)
