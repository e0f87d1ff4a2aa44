"""Convexity (D2L 11.2): sets, functions and Jensen, local = global, sublevel sets, Hessian PSD — each decided by the
checker with its certificate or witness, and the Hessian test done exactly with sympy."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
import torch

from ...plot import new_figure
from ...catalog import resolve
from ...convexity import check_convexity, check_set, intersect, local_convexity, parse_set, sublevel_set, union
from ...objective import Box
from ...optimize import run as run_opt
from ..mathml import formula, op, text, times
from ..claims import Claim, Context, Section
from ._common import check, claim, exact_set, tour_command, unknown_if

CONVEX = ("convex", "strictly_convex", "strongly_convex")


def _is(verdict: str, want: str) -> bool:
    return verdict == want or (want == "convex" and verdict in CONVEX)


def _proof_text(res) -> str:
    if res.proofs:
        p = res.proofs[0]
        return f"{p.method}: " + "; ".join(p.trace[:3])
    if res.witness is not None:
        w = res.witness
        return f"Jensen violation at a={list(w.a)}, b={list(w.b)}, λ={w.lam:g}"
    return res.reason


@check("convexity.sets", lambda n: n.update({"ring 0.25 <= x^2+y^2 <= 1": "convex"}),
       lambda j: {"ring 0.25 <= x^2+y^2 <= 1": j["verdict"]})
def sets_ok(n: dict) -> bool | None:
    words = (n["x^2+y^2<=1 and y>=x^2"], n["ring 0.25 <= x^2+y^2 <= 1"])
    return unknown_if(words, words == ("convex", "not_convex"))


def _sets(ctx: Context) -> Claim:
    from ...plot.convexity import set_figure

    convex = check_set(parse_set("x^2 + y^2 <= 1 and y >= x^2"), seed=ctx.seed)
    ring = check_set(parse_set("x^2 + y^2 <= 1 and x^2 + y^2 >= 0.25"), seed=ctx.seed)
    box = Box((-1.2, -1.2), (1.2, 1.2))
    figs = (ctx.figure(set_figure(parse_set("x^2 + y^2 <= 1 and y >= x^2"), convex, box), "convex-set",
                       "The convex set x²+y²<=1 and y>=x²"),
            ctx.figure(set_figure(parse_set("x^2 + y^2 <= 1 and x^2 + y^2 >= 0.25"), ring, box), "nonconvex-set",
                       "A ring is not convex: a segment between two of its points leaves it"))
    w = ring.witness
    return claim(
        "convexity.sets",
        "A set is convex when the segment between any two of its points stays inside. The part of the unit disk "
        "above the parabola y = x² is convex; a ring is not.",
        "Each constraint g <= 0 proved convex (then the set, an intersection of convex sublevel sets, is convex), or "
        "a pair of points of the set whose convex combination is proved outside it in interval arithmetic "
        "(computing with intervals rounded outwards, so the result holds for the exact numbers).",
        {"x^2+y^2<=1 and y>=x^2": convex.verdict, "ring 0.25 <= x^2+y^2 <= 1": ring.verdict,
         "ring witness a": list(w.a) if w else None, "ring witness b": list(w.b) if w else None,
         "midpoint outside by at least": w.violation if w else None},
        figs, 'losslens convex-set "x^2+y^2<=1 and x^2+y^2>=0.25"')


@check("convexity.union", lambda n: n.update({"union": "convex"}), lambda j: {"union": j["verdict"]})
def union_ok(n: dict) -> bool | None:
    return unknown_if((n["intersection"], n["union"]), n["intersection"] == "convex" and n["union"] == "not_convex")


def _intersection_union(ctx: Context) -> Claim:
    from ...plot.convexity import set_figure

    disk, shifted = parse_set("x^2 + y^2 <= 1"), parse_set("(x - 1.5)^2 + y^2 <= 1")
    ri, ru = check_set(intersect(disk, shifted), seed=ctx.seed), check_set(union(disk, shifted), seed=ctx.seed)
    return claim(
        "convexity.union",
        "The intersection of convex sets is convex; a union need not be.",
        "Intersection of two disks proved convex; for their union a witness pair in the set whose midpoint leaves "
        "it, verified in interval arithmetic.",
        {"intersection": ri.verdict, "union": ru.verdict},
        (ctx.figure(set_figure(union(disk, shifted), ru, Box((-1.3, -1.4), (2.8, 1.4))), "convexity-union",
                    "Two overlapping disks with a segment whose midpoint leaves their union"),),
        "losslens convex-set 'x^2+y^2<=1 or (x-1.5)^2+y^2<=1'")


FUNCTIONS = (("half-square", "convex"), ("exp-half", "convex"), ("cosine", "not_convex"))


def _function_check(i: int, name: str, want: str):
    @check(f"convexity.function-{name}", lambda n: n.update({"verdict": "not_convex" if want == "convex" else "convex"}),
           lambda j: {"verdict": j["verdict"]})
    def ok(n: dict) -> bool | None:
        return unknown_if([n["verdict"]], _is(n["verdict"], want))


for _i, (_name, _want) in enumerate(FUNCTIONS):
    _function_check(_i, _name, _want)


def _functions(ctx: Context) -> list[Claim]:
    from ...plot.convexity import function_figure

    claims = []
    for name, want in FUNCTIONS:
        obj = resolve(name)
        res = check_convexity(obj, seed=ctx.seed)
        fig = function_figure(obj, res, obj.box)
        modulus = sp.nsimplify(res.modulus) if res.modulus is not None else None
        claims.append(claim(
            f"convexity.function-{name}",
            f"{obj.expression.text} is " + ("convex: every chord lies above the graph and the epigraph (the region "
                                            "on and above the graph) is a convex set." if want == "convex" else
                                            "not convex: some chord dips below the graph (Jensen's inequality fails)."),
            "Proved by composition rules or a Hessian certificate, or refuted by a Jensen violation re-checked in "
            "interval arithmetic.",
            {"verdict": res.verdict, "domain": res.domain.get("text"), "evidence": _proof_text(res),
             "modulus μ": None if modulus is None else str(modulus)},
            (ctx.figure(fig, f"convexity-{name}", f"{obj.expression.text}: chord and epigraph"),),
            f'losslens convex "{obj.expression.text}"'))
    return claims


@check("convexity.domain", lambda n: n.update({"f''(-1) (exact)": 6}),
       lambda j: {"on x >= 0": j["verdict"]})
def domain_ok(n: dict) -> bool | None:
    return unknown_if((n["on R"], n["on x >= 0"]), n["on R"] == "not_convex" and n["on x >= 0"] in CONVEX
                      and n["f''(-1) (exact)"] < 0 and n["f''(x) >= 0 for x >= 0 (exact)"] is True)


def _domain_matters(ctx: Context) -> Claim:

    x = sp.Symbol("x")
    f2 = sp.diff(x ** 3, x, 2)
    cubic, positive = check_convexity("x^3", seed=ctx.seed), check_convexity("x^3", where="x >= 0", seed=ctx.seed)
    xs = np.linspace(-1.5, 1.5, 200)
    fig = new_figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    ax.plot(xs, xs ** 3, label="f(x) = x³")
    ax.plot(xs, 6 * xs, "--", label="f''(x) = 6x")
    ax.axvspan(0, 1.5, color="C2", alpha=0.12, label="x >= 0: convex")
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="x", ylabel="f(x) and f''(x)")
    ax.legend(fontsize=8, loc="upper left")
    return claim(
        "convexity.domain",
        "x³ is not convex on the real line, only on x >= 0: a convexity verdict must say where it holds. The Hessian "
        "test decides it: f''(x) = 6x is negative for x < 0 and non-negative for x >= 0.",
        "The checker on R (a verified Jensen witness) and on the region x >= 0 (a proof); f'' exactly (sympy) at "
        "x = −1 and its sign on x >= 0.",
        {"on R": cubic.verdict, "on x >= 0": positive.verdict, "region": positive.domain.get("text"),
         "f''(-1) (exact)": int(f2.subs(x, -1)),
         "f''(x) >= 0 for x >= 0 (exact)": sp.solveset(f2 < 0, x, sp.Interval(0, sp.oo)) == sp.S.EmptySet},
        (ctx.figure(fig, "convexity-cubic-domain", "x³ and its second derivative; convex where x >= 0"),),
        "losslens convex 'x^3' --where 'x >= 0'")


@check("convexity.jensen", lambda n: n.update({"E[f(X)] (Monte Carlo)": 0.9}))
def jensen_ok(n: dict) -> bool:
    ef, se = n["E[f(X)] (Monte Carlo)"], n["standard error"]
    return ef - 3 * se > n["f(E[X]) = f(0) (exact)"] and abs(ef - n["E[f(X)] (exact)"]) < 4 * se


def _jensen(ctx: Context) -> Claim:

    g = torch.Generator().manual_seed(ctx.seed)
    m = 20_000 if ctx.quick else 200_000
    X = torch.randn(m, generator=g, dtype=torch.float64)
    f = resolve("exp-half")
    fX = f.values(X[:, None])
    Ef, se = fX.mean().item(), fX.std().item() / math.sqrt(m)
    t = sp.Symbol("t")
    exact = sp.exp(t ** 2 / 2).subs(t, sp.Rational(1, 2))  # E[exp(tX)] = exp(t²/2), the normal's moment generating function
    xs = np.linspace(-3, 3, 200)
    fig = new_figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
    ax.plot(xs, np.exp(xs / 2), label="f(x) = exp(x/2)")
    ax.axhline(Ef, color="C1", ls="--", label=f"E[f(X)] ≈ {Ef:.4f}")
    ax.scatter([0], [1.0], color="C3", zorder=3, label="f(E[X]) = f(0) = 1")
    ax.set(xlabel="x", ylabel="f(x)")
    ax.legend(fontsize=8, loc="upper left")
    return claim(
        "convexity.jensen",
        "Jensen's inequality: for convex f, E[f(X)] >= f(E[X]). For f(x) = exp(x/2) and X ~ N(0, 1) the exact "
        "values are E[f(X)] = exp(1/8) ≈ 1.1331 and f(E[X]) = f(0) = 1.",
        f"Monte Carlo with {m} seeded samples (mean and its standard error), beside the exact expectation "
        "(the normal's moment generating function E[exp(tX)] = exp(t²/2) at t = 1/2); the estimate must exceed f(E[X]) by three standard errors and agree with the exact "
        "value within four.",
        {"E[f(X)] (Monte Carlo)": Ef, "standard error": se, "E[f(X)] (exact)": float(exact),
         "E[f(X)], exact form": str(exact), "f(E[X]) = f(0) (exact)": 1.0,
         "f(sample mean) (for comparison)": f.value([X.mean().item()]).item()},
        (ctx.figure(fig, "convexity-jensen", "exp(x/2), its mean under N(0, 1) and its value at the mean"),),
        tour_command("convexity", ctx))


def _descent_ends(expr: str, starts, lr: float, steps: int) -> list[float]:
    obj = resolve(expr)
    return [run_opt(obj, "gd", [s], steps=steps, lr=lr, stop_at_tol=False).final_point.item() for s in starts]


@check("convexity.local-global", lambda n: n.update({"max(|x|-1, 0): values at the ends": [0.0, 0.5]}),
       lambda j: {"booth minima reached": sum(e["kind"] == "min" for e in j["endpoints"])})
def local_global_ok(n: dict) -> bool | None:
    words = (n["booth verdict"], n["max(|x|-1, 0) verdict"], n["exp(x) verdict"])
    ends = n["max(|x|-1, 0): ends"]
    return unknown_if(words, all(w in CONVEX for w in words) and n["booth minima reached"] == 1
                      and max(n["max(|x|-1, 0): values at the ends"]) <= 1e-12 and max(ends) - min(ends) > 1
                      and n["exp(x): x after 200 steps"] < n["exp(x): x after 100 steps"] < 0
                      and len(set(n["six-hump camel minimum values"])) > 1)


def _local_is_global(ctx: Context) -> Claim:

    from ...optimize import basins

    steps, starts_n = (300, 100) if ctx.quick else (1000, 400)
    booth = basins(resolve("booth"), "gd", starts=starts_n, steps=steps, lr=0.05, seed=ctx.seed)
    camel = basins(resolve("six-hump-camel"), "gd", starts=100 if ctx.quick else 400, steps=steps, lr=0.02,
                   seed=ctx.seed)
    verdicts = {t: check_convexity(t, seed=ctx.seed).verdict for t in ("booth", "max(abs(x) - 1, 0)", "exp(x)")}
    starts = [-3.0, -2.0, -0.5, 0.5, 2.0, 3.0]
    ends = _descent_ends("max(abs(x) - 1, 0)", starts, 0.1, 100)
    plateau = resolve("max(abs(x) - 1, 0)")
    exp_path = run_opt(resolve("exp(x)"), "gd", [1.0], steps=200, lr=0.5, stop_at_tol=False).points[:, 0]
    exp_runs = [exp_path[100].item(), exp_path[200].item()]      # one run of 200 steps, read after 100 and 200
    mins = lambda b: [e for e in b.endpoints if e.kind == "min"]
    fig = new_figure(figsize=(12, 3.6))
    a1, a2, a3 = fig.subplots(1, 3)
    xs = np.linspace(-3.5, 3.5, 300)
    a1.plot(xs, np.maximum(np.abs(xs) - 1, 0))
    a1.scatter(starts, [max(abs(s) - 1, 0) for s in starts], marker="o", facecolors="none", edgecolors="k",
               label="starts")
    a1.scatter(ends, [0] * len(ends), color="C3", zorder=3, label="where gradient descent ends")
    a1.set(xlabel="x", ylabel="f(x)", title="max(|x| − 1, 0): many minimisers")
    a1.legend(fontsize=8)
    xs2 = np.linspace(-6, 2, 300)
    a2.plot(xs2, np.exp(xs2))
    a2.scatter([1.0, *exp_runs], np.exp([1.0, *exp_runs]), color="C3", zorder=3, label="start, 100, 200 steps")
    a2.set(xlabel="x", ylabel="f(x)", title="exp(x): no minimum at all")
    a2.legend(fontsize=8)
    vals = sorted(round(e.value, 6) for e in mins(camel))
    a3.bar(range(len(vals)), vals)
    a3.set(xlabel="minimum found (sorted)", ylabel="f at the minimum", title="six-hump camel: unequal minima")
    fig.tight_layout()
    return claim(
        "convexity.local-global",
        "For a convex function every local minimum is a global minimum: wherever gradient descent settles, the value "
        "is the same. That does not make the minimiser unique — max(|x| − 1, 0) is minimal on the whole interval "
        "[−1, 1] — nor make one exist — exp(x) has none, and gradient descent drifts to −∞. A strongly convex "
        "function (Booth's) has exactly one. A non-convex function (the six-hump camel) has local minima with "
        "different values.",
        "The checker's verdicts; gradient descent on Booth's function and on the six-hump camel from a grid of "
        "starts over their boxes, endpoints classified; on max(|x| − 1, 0) from six starts; on exp(x) from x = 1.",
        {"booth verdict": verdicts["booth"], "booth minima reached": len(mins(booth)),
         "booth minimum": mins(booth)[0].point.tolist() if mins(booth) else None,
         "max(|x|-1, 0) verdict": verdicts["max(abs(x) - 1, 0)"], "max(|x|-1, 0): ends": ends,
         "max(|x|-1, 0): values at the ends": [plateau.value([e]).item() for e in ends],
         "exp(x) verdict": verdicts["exp(x)"], "exp(x): x after 100 steps": exp_runs[0],
         "exp(x): x after 200 steps": exp_runs[1], "six-hump camel minimum values": vals},
        (ctx.figure(fig, "convexity-local-global", "Minimisers of max(|x|−1, 0), the runaway on exp(x), and the "
                    "unequal minima of the six-hump camel"),),
        f"losslens basins booth --method gd --lr 0.05 --steps {steps} --starts {starts_n} --seed {ctx.seed}")


@check("convexity.cubic-local", lambda n: n.update({"f at the local minimum (exact)": "-1"}))
def cubic_local_ok(n: dict) -> bool:
    fmin = sp.sympify(n["f at the local minimum (exact)"])
    return (n["f''(1) (exact)"] > 0 and n["limit of f at −∞"] == "-oo" and fmin == 0
            and n["where f'' < 0 within x >= 1/3 (exact)"] == exact_set(sp.S.EmptySet)
            and n["smallest f on [1/3, 3]"] >= float(fmin) - 1e-12)


def _cubic_local(ctx: Context) -> Claim:

    x = sp.Symbol("x")
    f = (x + 1) * (x - 1) ** 2
    crit = sorted(sp.solve(sp.diff(f, x), x), key=float)
    local_min = [c for c in crit if sp.diff(f, x, 2).subs(x, c) > 0][0]
    f2 = sp.diff(f, x, 2)
    xs = np.linspace(-1.6, 2.0, 300)
    fx = sp.lambdify(x, f, "numpy")
    grid = np.linspace(1 / 3, 3, 2001)
    fig = new_figure(figsize=(5.8, 3.6))
    ax = fig.subplots()
    ax.plot(xs, fx(xs), label="f(x) = (x + 1)(x − 1)²")
    ax.axvspan(1 / 3, 2.0, color="C2", alpha=0.12, label="x >= 1/3: convex (f'' >= 0)")
    ax.scatter([float(local_min)], [0.0], color="C3", zorder=3, label="local minimum x = 1")
    ax.set(xlabel="x", ylabel="f(x)")
    ax.legend(fontsize=8, loc="upper left")
    return claim(
        "convexity.cubic-local",
        "D2L's example f(x) = (x + 1)(x − 1)²: x = 1 is a local minimum with f(1) = 0, not a global one, since "
        "f → −∞ as x → −∞. Restricted to x >= 1/3, where f'' = 6x − 2 >= 0 and f is convex, the same point is "
        "the global minimum.",
        "Critical points, f'' and the limit exactly (sympy); the set where f'' < 0 within x >= 1/3 (exact: empty "
        "means convex there); the smallest value on a fine grid of [1/3, 3].",
        {"critical points (exact)": [str(c) for c in crit], "f''(1) (exact)": int(sp.diff(f, x, 2).subs(x, 1)),
         "f at the local minimum (exact)": str(f.subs(x, local_min)), "limit of f at −∞": str(sp.limit(f, x, -sp.oo)),
         "where f'' < 0 within x >= 1/3 (exact)": exact_set(sp.solveset(f2 < 0, x,
                                                                      sp.Interval(sp.Rational(1, 3), sp.oo))),
         "smallest f on [1/3, 3]": float(fx(grid).min())},
        (ctx.figure(fig, "convexity-cubic-local", "(x+1)(x−1)² with its local minimum and its convex region"),),
        tour_command("convexity", ctx))


@check("convexity.sublevel", lambda n: n.update({"{himmelblau <= 50}": "convex"}),
       lambda j: {"{himmelblau <= 50}": j["verdict"]})
def sublevel_ok(n: dict) -> bool | None:
    words = (n["{x1^2+2x2^2 <= 4}"], n["{himmelblau <= 50}"])
    return unknown_if(words, words == ("convex", "not_convex"))


def _sublevel(ctx: Context) -> Claim:
    from ...plot.convexity import sublevel_figure

    s1 = check_set(sublevel_set(resolve("elliptic"), 4.0), seed=ctx.seed)
    h = resolve("himmelblau")
    s2 = check_set(sublevel_set(h, 50.0), seed=ctx.seed)
    fig = sublevel_figure(h, h.box, levels=[10, 50, 150], result=s2)
    return claim(
        "convexity.sublevel",
        "Sublevel sets {x : f(x) <= c} of a convex function are convex; a non-convex function can have "
        "non-convex ones.",
        "The set checker on {x1² + 2 x2² <= 4} and on {Himmelblau <= 50}.",
        {"{x1^2+2x2^2 <= 4}": s1.verdict, "{himmelblau <= 50}": s2.verdict,
         "witness a": list(s2.witness.a) if s2.witness else None,
         "witness b": list(s2.witness.b) if s2.witness else None},
        (ctx.figure(fig, "sublevel-himmelblau", "Sublevel-set contours of Himmelblau's function with a witness"),),
        'losslens convex-set "(x^2+y-11)^2+(x+y^2-7)^2 <= 50"')


HESSIAN_CASES = {"x^4 + x^2": "convex", "(x - y)^2 + x^2": "convex", "x^2 - y^2": "not_convex",
                 "log(1 + exp(x))": "convex", "x^3": "not_convex"}


def hessian_decision(text_: str) -> dict:
    """The Hessian test exactly: a constant Hessian by its eigenvalues; a 1-D f'' by the set where it is negative."""
    e = sp.sympify(text_.replace("^", "**"))
    xs = sorted(e.free_symbols, key=lambda s: s.name)
    H = sp.hessian(e, xs)
    if all(not entry.free_symbols for entry in H):
        eig = sorted(H.eigenvals(multiple=True), key=float)
        return {"Hessian": str(H.tolist()), "smallest eigenvalue (exact)": str(eig[0]),
                "Hessian test": "convex" if eig[0] >= 0 else "not_convex"}
    if len(xs) == 1:
        negative = sp.solveset(H[0, 0] < 0, xs[0], sp.S.Reals)
        return {"Hessian": str(sp.factor(H[0, 0])).replace("**", "^"), "where f'' < 0 (exact)": exact_set(negative),
                "Hessian test": "convex" if negative == sp.S.EmptySet else "not_convex"}
    return {"Hessian": str(H.tolist()), "Hessian test": "unknown"}


@check("convexity.hessian", lambda n: n.update({"x^3": {**n["x^3"], "Hessian test": "convex"}}),
       lambda j: {"(x - y)^2 + x^2": {"checker": j["verdict"]}})
def hessian_ok(n: dict) -> bool | None:
    rows = [n[t] for t in HESSIAN_CASES]
    if any(r["Hessian test"] == "unknown" for r in rows):
        return None
    return all(_is(r["Hessian test"], want) and _is(r["checker"], want) for r, want in zip(rows, HESSIAN_CASES.values()))


def _hessian_psd(ctx: Context) -> Claim:

    numbers = {}
    for t in HESSIAN_CASES:
        numbers[t] = {**hessian_decision(t), "checker": check_convexity(resolve(t), seed=ctx.seed).verdict}
    x = sp.Symbol("x")
    fig = new_figure(figsize=(6, 3.6))
    ax = fig.subplots()
    xs = np.linspace(-2, 2, 200)
    for t in ("x^4 + x^2", "log(1 + exp(x))", "x^3"):
        d2 = sp.lambdify(x, sp.diff(sp.sympify(t.replace("^", "**")), x, 2), "numpy")
        ax.plot(xs, np.broadcast_to(d2(xs), xs.shape), label=f"f'' of {t}")
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="x", ylabel="f''(x)", title="convex exactly where f'' >= 0")
    ax.legend(fontsize=8)
    mu = numbers["(x - y)^2 + x^2"]["smallest eigenvalue (exact)"]
    return claim(
        "convexity.hessian",
        "A twice-differentiable f is convex exactly when its Hessian is positive semidefinite everywhere. Each "
        f"function below is decided by its Hessian alone, and the checker agrees: (x − y)² + x² has the constant "
        f"Hessian [[4, −2], [−2, 2]] with smallest eigenvalue μ = {mu} > 0, so it is strongly convex; x² − y² has "
        "eigenvalue −2 and x³ has f'' < 0 for x < 0, so neither is convex.",
        "The Hessian exactly (sympy): eigenvalues of a constant Hessian, or the set where a 1-D f'' is negative; "
        "beside it the checker's verdict (rules, interval certificate or Jensen witness).",
        numbers, (ctx.figure(fig, "convexity-hessian", "Second derivatives of three 1-D functions"),),
        'losslens convex "(x - y)^2 + x^2"')


@check("convexity.affine", lambda n: n.update({"largest Jensen gap of g over random pairs": 0.5}),
       lambda j: {"g verdict": j["verdict"]})
def affine_ok(n: dict) -> bool | None:
    return unknown_if([n["g verdict"]], n["g verdict"] in CONVEX and n["largest Jensen gap of g over random pairs"]
                      <= 1e-12 and n["h = f(x² − 1) verdict"] == "not_convex")


def _affine(ctx: Context) -> Claim:
    from ...plot.convexity import sublevel_figure

    # f(u) = exp(u) + u² is convex; u = x − 2y + 1 is affine, so g(x, y) = f(x − 2y + 1) is convex.
    g_text, h_text = "exp(x - 2*y + 1) + (x - 2*y + 1)^2", "exp(x^2 - 1) + (x^2 - 1)^2"
    g, h = resolve(g_text), resolve(h_text)
    gen = torch.Generator().manual_seed(ctx.seed)
    a, b = (torch.rand(5000, 2, generator=gen, dtype=torch.float64) * 4 - 2 for _ in range(2))
    lam = torch.rand(5000, 1, generator=gen, dtype=torch.float64)
    gap = g.values(lam * a + (1 - lam) * b) - lam[:, 0] * g.values(a) - (1 - lam[:, 0]) * g.values(b)
    rg, rh = check_convexity(g, seed=ctx.seed), check_convexity(h, seed=ctx.seed)
    fig = sublevel_figure(g, Box((-2.0, -2.0), (2.0, 2.0)), levels=[0.5, 1, 2, 4, 8], result=None)
    return claim(
        "convexity.affine",
        "Composing a convex function with an affine map x ↦ Ax + b keeps it convex: f(u) = exp(u) + u² is convex, "
        "so g(x, y) = f(x − 2y + 1) is. A non-affine inner map can break it: h(x) = f(x² − 1) is not convex.",
        "The checker on g and h; Jensen's inequality for g on 5000 random pairs in [−2, 2]² with random λ "
        "(largest value of g(λa + (1−λ)b) − λg(a) − (1−λ)g(b), which must be <= 0).",
        {"g verdict": rg.verdict, "largest Jensen gap of g over random pairs": float(gap.max()),
         "h = f(x² − 1) verdict": rh.verdict},
        (ctx.figure(fig, "convexity-affine", "Sublevel sets of exp(x−2y+1) + (x−2y+1)²: convex bands"),),
        f'losslens convex "{g_text}"')


@check("convexity.local", lambda n: n.update({"proved radius": 0.0}),
       lambda j: {"proved radius": j["radius"], "fails at radius": j["failed_radius"]})
def local_ok(n: dict) -> bool | None:
    return unknown_if([n["whole box"]], n["whole box"] == "not_convex" and n["proved radius"] > 0
                      and n["fails at radius"] >= n["proved radius"])


def _local_convexity(ctx: Context) -> Claim:
    from ...plot.convexity import function_figure

    f = resolve("local-minima")
    r = run_opt(f, "newton", [0.9], steps=50, lr=1.0)
    x_min = r.final_point.tolist()
    lc = local_convexity(f, x_min, seed=ctx.seed)
    whole = check_convexity(f, seed=ctx.seed)
    return claim(
        "convexity.local",
        "A non-convex loss can still be convex near a minimum (D2L 11.2 on deep learning): x cos(πx) on [−1, 2] is "
        "not convex, but it is convex on an interval around its global minimum.",
        "Newton's method locates the minimum; the largest interval around it with a proved PSD Hessian "
        "(interval arithmetic), and the nearest point where convexity fails.",
        {"minimum": x_min, "whole box": whole.verdict, "proved radius": lc.radius,
         "fails at radius": lc.failed_radius, "failure point": lc.failure_point},
        (ctx.figure(function_figure(f, lc, f.box), "convexity-local", "x cos(πx) with the interval proved convex"),),
        f"losslens convex local-minima --around {x_min[0]!r}")


def intro() -> str:
    a, b, lam, x, xp = sp.symbols("a b lambda x x′")
    f, X = sp.Function("f"), sp.Symbol("𝒳")
    E = sp.Function("E")
    H = sp.Symbol("∇²f(x)")
    return (
        "<p>D2L 11.2: convexity makes optimization analysable — for a convex problem every local minimum is global. "
        "A set 𝒳 is <b>convex</b> when the segment between any two of its points stays in it:</p>"
        + formula(times(lam, a), op("+"), times(1 - lam, b), op("∈"), X, text("whenever"), a, op(","), b, op("∈"),
                  X, op(","),
                  lam, op("∈"), sp.Interval(0, 1))
        + "<p>A function is <b>convex</b> when every chord lies on or above its graph:</p>"
        + formula(sp.Le(f(sp.Add(times(lam, x), times(1 - lam, xp), evaluate=False)),
                        sp.Add(times(lam, f(x)), times(1 - lam, f(xp)), evaluate=False), evaluate=False))
        + "<p>Averaging over many points gives <b>Jensen's inequality</b> (for a random variable X):</p>"
        + formula(sp.Ge(E(f(sp.Symbol("X"))), f(E(sp.Symbol("X")))))
        + "<p>For a twice-differentiable f the <b>Hessian test</b> decides it: f is convex exactly when its Hessian "
          "is positive semidefinite everywhere,</p>"
        + formula(H, op("⪰"), 0, text("for all x"), op("⇔"), text("f convex"))
        + "<p>Proof sketch (D2L 11.2.2.3): in one dimension, convexity gives f'(x) ≤ (f(y) − f(x))/(y − x) ≤ f'(y) "
          "for x &lt; y, so f' is non-decreasing and f'' ≥ 0; conversely f'' ≥ 0 makes f' non-decreasing, and the "
          "mean value theorem then puts every chord above the graph. In n dimensions apply this to g(t) = f(x + tv) "
          "along every line: g''(t) = vᵀ∇²f v. A convexity verdict here is either a proof (rules, or interval "
          "arithmetic that encloses the exact Hessian) or a Jensen witness re-checked in interval arithmetic; when "
          "neither is found the answer is 'unknown'. Affine maps preserve convexity: f(Ax + b) has Hessian "
          "Aᵀ∇²f A ⪰ 0.</p>")


def run(ctx: Context) -> list[Claim]:
    return [_sets(ctx), _intersection_union(ctx), *_functions(ctx), _domain_matters(ctx), _jensen(ctx),
            _local_is_global(ctx), _cubic_local(ctx), _sublevel(ctx), _hessian_psd(ctx), _affine(ctx),
            _local_convexity(ctx)]


SECTION = Section("convexity", "Convexity", run, intro)
