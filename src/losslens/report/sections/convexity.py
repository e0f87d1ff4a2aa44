"""Convexity (D2L 11.2): sets, functions and Jensen, local = global, sublevel sets, Hessian PSD — each decided by the
checker with its certificate or witness."""
from __future__ import annotations

import math

import torch

from ...catalog import resolve
from ...convexity import check_convexity, check_set, intersect, local_convexity, parse_set, sublevel_set, union
from ...objective import Box
from ...optimize import run as run_opt
from ..tour import Claim, Context, Section
from ._common import verdict

CONVEX = ("convex", "strictly_convex", "strongly_convex")


def _status(ok: bool, *results) -> str:
    """A checker that answered ``unknown`` makes the claim unknown, never refuted."""
    return "unknown" if any(r.verdict == "unknown" for r in results) else verdict(ok)


def _proof_text(res) -> str:
    if res.proofs:
        p = res.proofs[0]
        return f"{p.method}: " + "; ".join(p.trace[:3])
    if res.witness is not None:
        w = res.witness
        return f"Jensen violation at a={list(w.a)}, b={list(w.b)}, λ={w.lam:g}"
    return res.reason


def _sets(ctx: Context) -> Claim:
    from ...plot.convexity import set_figure

    convex = check_set(parse_set("x^2 + y^2 <= 1 and y >= x^2"), seed=ctx.seed)
    ring = check_set(parse_set("x^2 + y^2 <= 1 and x^2 + y^2 >= 0.25"), seed=ctx.seed)
    box = Box((-1.1, -1.1), (1.1, 1.1))
    figs = (ctx.figure(set_figure(parse_set("x^2 + y^2 <= 1 and y >= x^2"), convex, box), "convex-set",
                       "The convex set x^2+y^2<=1 and y>=x^2"),
            ctx.figure(set_figure(parse_set("x^2 + y^2 <= 1 and x^2 + y^2 >= 0.25"), ring, box), "nonconvex-set",
                       "A ring is not convex: a segment between two of its points leaves it"))
    w = ring.witness
    return Claim(
        "A set is convex when the segment between any two of its points stays inside. An intersection of convex "
        "sets is convex; a ring is not.",
        "Each constraint g <= 0 proved convex, or a pair of points in the set whose convex combination is proved "
        "outside it (interval arithmetic).",
        _status(convex.verdict == "convex" and ring.verdict == "not_convex", convex, ring),
        {"x^2+y^2<=1 and y>=x^2": convex.verdict, "ring 0.25 <= x^2+y^2 <= 1": ring.verdict,
         "ring witness a": list(w.a) if w else None, "ring witness b": list(w.b) if w else None,
         "midpoint outside by at least": w.violation if w else None},
        figs, 'losslens convex-set "x^2+y^2<=1 and x^2+y^2>=0.25"')


def _functions(ctx: Context) -> list[Claim]:
    from ...plot.convexity import function_figure

    claims = []
    for name, want in (("half-square", "convex"), ("exp-half", "convex"), ("cosine", "not_convex")):
        obj = resolve(name)
        res = check_convexity(obj, seed=ctx.seed)
        ok = res.verdict == want or (want == "convex" and res.verdict in CONVEX)
        fig = function_figure(obj, res, obj.box)
        claims.append(Claim(
            f"{obj.expression.text} is {'convex: every chord lies above the graph and the epigraph is a convex set' if want == 'convex' else 'not convex: some chord dips below the graph (Jensen fails)'}.",
            "Proved by rules or a Hessian certificate, or refuted by a Jensen violation re-checked in interval "
            "arithmetic.",
            _status(ok, res),
            {"verdict": res.verdict, "domain": res.domain.get("text"), "evidence": _proof_text(res),
             "modulus": res.modulus},
            (ctx.figure(fig, f"convexity-{name}", f"{obj.expression.text}: chord and epigraph"),),
            f'losslens convex "{obj.expression.text}"'))
    return claims


def _jensen(ctx: Context) -> Claim:
    g = torch.Generator().manual_seed(ctx.seed)
    m = 20_000 if ctx.quick else 200_000
    X = torch.randn(m, generator=g, dtype=torch.float64)
    f = resolve("exp-half")
    Ef = f.values(X[:, None]).mean().item()
    fE = f.value([X.mean().item()]).item()
    se = f.values(X[:, None]).std().item() / math.sqrt(m)
    return Claim(
        "Jensen's inequality: for convex f, E[f(X)] >= f(E[X]). For f(x) = exp(x/2) and X ~ N(0, 1) the exact "
        "values are exp(1/8) = 1.1331 and 1.",
        f"Monte Carlo with {m} seeded samples, beside the exact expectation.",
        verdict(Ef - 3 * se > fE and abs(Ef - math.exp(0.125)) < 4 * se),
        {"E[f(X)] (Monte Carlo)": Ef, "standard error": se, "exact E[f(X)]": math.exp(0.125), "f(E[X])": fE},
        (), 'losslens convex "exp(0.5*x)"')


def _local_is_global(ctx: Context) -> Claim:
    from ...optimize import basins

    steps = 300 if ctx.quick else 1000
    convex = basins(resolve("booth"), "gd", starts=100 if ctx.quick else 400, steps=steps, lr=0.05, seed=ctx.seed)
    camel = basins(resolve("six-hump-camel"), "gd", starts=100 if ctx.quick else 400, steps=steps, lr=0.02,
                   seed=ctx.seed)
    proof = check_convexity(resolve("booth"), seed=ctx.seed)
    mins = lambda b: [e for e in b.endpoints if e.kind == "min"]
    return Claim(
        "For a convex function every local minimum is global: gradient descent from anywhere ends at the same "
        "minimum. A non-convex function has local minima that are not global.",
        "Booth (proved convex) and the six-hump camel (not convex), gradient descent from a grid of starts over "
        "the default box, endpoints classified.",
        _status(proof.verdict in CONVEX and len(mins(convex)) == 1 and len(mins(camel)) > 1, proof),
        {"booth verdict": proof.verdict, "booth minima reached": len(mins(convex)),
         "booth minimum": mins(convex)[0].point.tolist() if mins(convex) else None,
         "six-hump camel minima reached": len(mins(camel)),
         "camel minimum values": sorted(round(e.value, 6) for e in mins(camel))},
        (), "losslens basins booth --starts 400")


def _sublevel(ctx: Context) -> Claim:
    from ...plot.convexity import sublevel_figure

    q = resolve("elliptic")
    s1 = check_set(sublevel_set(q, 4.0), seed=ctx.seed)
    h = resolve("himmelblau")
    s2 = check_set(sublevel_set(h, 50.0), seed=ctx.seed)
    fig = sublevel_figure(h, h.box, levels=[10, 50, 150], result=None)
    return Claim(
        "Sublevel sets {x : f(x) <= c} of a convex function are convex; a non-convex function can have "
        "non-convex ones.",
        "The set checker on {x1^2 + 2 x2^2 <= 4} and on {Himmelblau <= 50}.",
        _status(s1.verdict == "convex" and s2.verdict == "not_convex", s1, s2),
        {"{x1^2+2x2^2 <= 4}": s1.verdict, "{himmelblau <= 50}": s2.verdict,
         "witness a": list(s2.witness.a) if s2.witness else None,
         "witness b": list(s2.witness.b) if s2.witness else None},
        (ctx.figure(fig, "sublevel-himmelblau", "Sublevel-set contours of Himmelblau's function"),),
        'losslens convex-set "(x^2+y-11)^2+(x+y^2-7)^2 <= 50"')


def _hessian_psd(ctx: Context) -> Claim:
    cases = {"x^4 + x^2": "convex", "(x - y)^2 + x^2": "convex", "x^2 - y^2": "not_convex",
             "log(1 + exp(x))": "convex", "x^3": "not_convex"}
    got = {t: check_convexity(resolve(t), seed=ctx.seed) for t in cases}
    good = lambda v, want: v == want or (want == "convex" and v in CONVEX)
    return Claim(
        "A twice-differentiable f is convex exactly when its Hessian is positive semidefinite everywhere; x^3 is "
        "not convex on the real line (f'' = 6x < 0 for x < 0).",
        "The checker's verdict and certificate (Hessian proof, composition rules or witness) for each function.",
        _status(all(good(r.verdict, cases[t]) for t, r in got.items()), *got.values()),
        {t: f"{r.verdict} ({_proof_text(r)})" for t, r in got.items()},
        (), 'losslens convex "x^4 + x^2"')


def _local_convexity(ctx: Context) -> Claim:
    f = resolve("local-minima")
    r = run_opt(f, "newton", [0.9], steps=50, lr=1.0)
    x_min = r.final_point.tolist()
    lc = local_convexity(f, x_min, seed=ctx.seed)
    whole = check_convexity(f, seed=ctx.seed)
    return Claim(
        "A non-convex loss can still be convex near a minimum: x cos(pi x) on [-1, 2] is not convex, but it is "
        "convex on an interval around its minimum.",
        "Newton's method locates the minimum; the largest interval around it with a proved PSD Hessian "
        "(interval arithmetic), and the nearest point where convexity fails.",
        _status(whole.verdict == "not_convex" and lc.radius > 0, whole),
        {"minimum": x_min, "whole box": whole.verdict, "proved radius": lc.radius,
         "fails at radius": lc.failed_radius, "failure point": lc.failure_point},
        (), f"losslens convex local-minima --around {x_min[0]:.6f}")


def _domain_matters(ctx: Context) -> Claim:
    cubic, positive = check_convexity("x^3", seed=ctx.seed), check_convexity("x^3", where="x >= 0", seed=ctx.seed)
    return Claim(
        "x^3 is not convex on the real line, only on x >= 0: a convexity verdict must say where it holds.",
        "A verified Jensen witness on R, and a proof on the region x >= 0, each reported with its region.",
        _status(cubic.verdict == "not_convex" and positive.verdict in CONVEX, cubic, positive),
        {"on R": cubic.verdict, "on x >= 0": positive.verdict, "region": positive.domain.get("text")}, (),
        "losslens convex 'x^3' --where 'x >= 0'")


def _intersection_union(ctx: Context) -> Claim:
    from ...plot.convexity import set_figure

    disk, shifted = parse_set("x^2 + y^2 <= 1"), parse_set("(x - 1.5)^2 + y^2 <= 1")
    ri, ru = check_set(intersect(disk, shifted), seed=ctx.seed), check_set(union(disk, shifted), seed=ctx.seed)
    return Claim(
        "The intersection of convex sets is convex; a union need not be.",
        "Intersection of two disks proved convex; for their union a witness pair in the set whose midpoint leaves "
        "it, verified in interval arithmetic.",
        _status(ri.verdict == "convex" and ru.verdict == "not_convex", ri, ru),
        {"intersection": ri.verdict, "union": ru.verdict},
        (ctx.figure(set_figure(union(disk, shifted), ru), "convexity-union",
                    "Two overlapping disks with a segment whose midpoint leaves their union"),),
        "losslens convex-set 'x^2+y^2<=1 or (x-1.5)^2+y^2<=1'")


def run(ctx: Context) -> list[Claim]:
    return [_sets(ctx), _intersection_union(ctx), *_functions(ctx), _domain_matters(ctx), _jensen(ctx),
            _local_is_global(ctx), _sublevel(ctx), _hessian_psd(ctx), _local_convexity(ctx)]


SECTION = Section("convexity", "Convexity", run)
