"""D2L 11.2's exercises, each with its statement, a computed answer and a figure."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
import torch

from ...convexity import check_convexity, check_set, parse_set
from ...objective import Box
from ...optimize import L1Ball, L2Ball, project
from ..mathml import formula, op, text
from ..claims import Claim, Context, Section
from ._common import check, claim, unknown_if

CONVEX = ("convex", "strictly_convex", "strongly_convex")


@check("exercises.max-min", lambda n: n.update({"min(f, g)": "convex"}), lambda j: {"min(f, g)": j["verdict"]})
def max_min_ok(n: dict) -> bool | None:
    words = (n["max(f, g)"], n["min(f, g)"])
    return unknown_if(words, words[0] in CONVEX and words[1] == "not_convex")


def _max_min(ctx: Context) -> Claim:
    import matplotlib.pyplot as plt

    f, g = "(x - 1)^2", "(x + 1)^2"
    rmax = check_convexity(f"max({f}, {g})", seed=ctx.seed)
    rmin = check_convexity(f"min({f}, {g})", seed=ctx.seed)
    xs = np.linspace(-2.5, 2.5, 300)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(xs, np.maximum((xs - 1) ** 2, (xs + 1) ** 2), label="max(f, g): convex")
    ax.plot(xs, np.minimum((xs - 1) ** 2, (xs + 1) ** 2), label="min(f, g): not convex")
    if rmin.witness is not None:
        w = rmin.witness
        ax.plot([w.a[0], w.b[0]], [min((w.a[0] - 1) ** 2, (w.a[0] + 1) ** 2), min((w.b[0] - 1) ** 2,
                (w.b[0] + 1) ** 2)], "k--", lw=1, label="a chord below min(f, g)")
    ax.set(xlabel="x", ylabel="value", ylim=(-0.5, 8))
    ax.legend(fontsize=8, loc="upper center")
    return claim(
        "exercises.max-min",
        "Exercise 3: for convex f and g, max(f, g) is convex (each chord lies above both, hence above the larger), "
        "but min(f, g) need not be: with f = (x − 1)², g = (x + 1)² it has two separate minima.",
        "The convexity checker on both (a proof for the maximum, a Jensen witness for the minimum).",
        {"f": f, "g": g, "max(f, g)": rmax.verdict, "min(f, g)": rmin.verdict,
         "witness for min": None if rmin.witness is None else [rmin.witness.a[0], rmin.witness.b[0]]},
        (ctx.figure(fig, "exercise-max-min", "max and min of two convex parabolas"),),
        f'losslens convex "min({f}, {g})"')


@check("exercises.logsumexp", lambda n: n.update({"smallest Hessian eigenvalue at random points": -0.1}),
       lambda j: {"checker": j["verdict"]})
def logsumexp_ok(n: dict) -> bool | None:
    return unknown_if([n["checker"]], n["checker"] in CONVEX
                      and n["smallest Hessian eigenvalue at random points"] >= -1e-12
                      and n["Hessian (exact)"] == "diag(p) − p pᵀ with p = softmax(x)")


def _logsumexp(ctx: Context) -> Claim:
    from ...catalog import resolve
    from ...plot.convexity import sublevel_figure

    text_ = "log(exp(x) + exp(y) + exp(z))"
    r = check_convexity(text_, seed=ctx.seed)
    xs = sp.symbols("x y z")
    e = sp.log(sum(sp.exp(v) for v in xs))
    H = sp.hessian(e, xs)
    p = [sp.exp(v) / sum(sp.exp(w) for w in xs) for v in xs]
    same = (H - (sp.diag(*p) - sp.Matrix(p) * sp.Matrix(p).T)).applyfunc(sp.cancel) == sp.zeros(3, 3)
    Hn = sp.lambdify(xs, H, "numpy")
    rng = np.random.default_rng(ctx.seed)
    smallest = min(float(np.linalg.eigvalsh(np.array(Hn(*pt), dtype=float)).min()) for pt in rng.normal(0, 3, (200, 3)))
    two = resolve("log(exp(x) + exp(y))")
    fig = sublevel_figure(two, Box((-3.0, -3.0), (3.0, 3.0)), levels=[-0.5, 0, 0.5, 1, 2], result=None)
    return claim(
        "exercises.logsumexp",
        "Exercise 4: the log-sum-exp f(x) = log Σ exp(x_i) (softmax's normaliser) is convex: its Hessian "
        "diag(p) − p pᵀ, p = softmax(x), is positive semidefinite because vᵀ(diag(p) − p pᵀ)v is the variance of v "
        "under the distribution p.",
        "The checker on log(e^x + e^y + e^z); the Hessian exactly (sympy) compared with diag(p) − p pᵀ; its smallest "
        "eigenvalue at 200 random points.",
        {"checker": r.verdict,
         "Hessian (exact)": "diag(p) − p pᵀ with p = softmax(x)" if same else str(H),
         "smallest Hessian eigenvalue at random points": smallest},
        (ctx.figure(fig, "exercise-logsumexp", "Sublevel sets of log(e^x + e^y): convex"),),
        f'losslens convex "{text_}"')


@check("exercises.half-ball", lambda n: n.update({"midpoint value (exact)": "1/2"}),
       lambda j: {"p = 1/2 checker": j["verdict"]})
def half_ball_ok(n: dict) -> bool | None:
    words = [n["p = 1/2 checker"], *n["p >= 1 checker"].values()]
    return unknown_if(words, sp.sympify(n["midpoint value (exact)"]) > 1 and n["p = 1/2 checker"] == "not_convex"
                      and all(v == "convex" for v in n["p >= 1 checker"].values()))


def _half_ball(ctx: Context) -> Claim:
    from ...plot.convexity import set_figure

    half = "sqrt(abs(x)) + sqrt(abs(y)) <= 1"
    r = check_set(parse_set(half), seed=ctx.seed)
    balls = {p: check_set(parse_set(s), seed=ctx.seed).verdict
             for p, s in (("1", "abs(x) + abs(y) <= 1"), ("2", "x^2 + y^2 <= 1"), ("4", "x^4 + y^4 <= 1"))}
    mid = 2 * sp.sqrt(sp.Rational(1, 2))  # (½, ½) between (1, 0) and (0, 1)
    fig = set_figure(parse_set(half), r, Box((-1.2, -1.2), (1.2, 1.2)))
    return claim(
        "exercises.half-ball",
        "Exercise 2: the ball {‖x‖_p <= 1} is convex for p >= 1 (the triangle inequality of the norm). For p = 1/2 "
        "the 'ball' {√|x| + √|y| <= 1} is not convex: (1, 0) and (0, 1) lie in it, their midpoint (1/2, 1/2) "
        "does not, since √(1/2) + √(1/2) = √2 > 1.",
        "The midpoint's value exactly (sympy); the set checker on the p = 1/2 set and on the p = 1, 2, 4 balls.",
        {"midpoint value (exact)": str(sp.nsimplify(mid)), "p = 1/2 checker": r.verdict, "p >= 1 checker": balls},
        (ctx.figure(fig, "exercise-half-ball", "The p = 1/2 'ball' with a segment leaving it"),),
        f'losslens convex-set "{half}"')


@check("exercises.nonexpansive", lambda n: n.update({"largest ratio, L2 ball": 1.2}))
def nonexpansive_ok(n: dict) -> bool:
    return max(n["largest ratio, L2 ball"], n["largest ratio, L1 ball"]) <= 1 + 1e-12


def _nonexpansive(ctx: Context) -> Claim:
    import matplotlib.pyplot as plt

    gen = torch.Generator().manual_seed(ctx.seed)
    pairs = 300 if ctx.quick else 2000
    A, B = (3 * torch.randn(pairs, 2, generator=gen, dtype=torch.float64) for _ in range(2))
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    numbers = {}
    for name, s in (("L2 ball", L2Ball(torch.zeros(2, dtype=torch.float64), 1.0)),
                    ("L1 ball", L1Ball(torch.zeros(2, dtype=torch.float64), 1.0))):
        ratio = torch.stack([(project(s, a).projection - project(s, b).projection).norm() / (a - b).norm()
                             for a, b in zip(A, B)])
        numbers[f"largest ratio, {name}"] = float(ratio.max())
        ax.hist(ratio.numpy(), bins=40, alpha=0.6, label=name)
    ax.axvline(1, color="k", lw=0.8)
    ax.set(xlabel="‖P(a) − P(b)‖ / ‖a − b‖", ylabel="number of pairs")
    ax.legend(fontsize=8)
    return claim(
        "exercises.nonexpansive",
        "Exercise 8: projections onto a convex set never increase distances, ‖P(a) − P(b)‖ <= ‖a − b‖ (they are "
        "non-expansive).",
        f"Exact projections of {pairs} seeded pairs onto the unit L2 and L1 balls; the largest ratio of distances.",
        numbers, (ctx.figure(fig, "exercise-nonexpansive", "Histogram of distance ratios after projection"),))


@check("exercises.subspace", lambda n: n.update({"‖M² − M‖": 0.5}))
def subspace_ok(n: dict) -> bool:
    return n["‖M² − M‖"] == 0 and n["‖M − Mᵀ‖"] == 0 and n["largest |Mx − P(x)| over random x"] <= 1e-12


def _subspace(ctx: Context) -> Claim:
    import matplotlib.pyplot as plt

    from ...optimize.projections import Affine

    A = sp.Matrix([[1, 1, -1]])             # the plane x + y − z = 0 (b = 0: a linear subspace)
    M = sp.eye(3) - A.T * (A * A.T).inv() * A
    Mt = torch.tensor(np.array(M, dtype=float))
    s = Affine(torch.tensor([[1.0, 1.0, -1.0]], dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
    gen = torch.Generator().manual_seed(ctx.seed)
    X = torch.randn(200, 3, generator=gen, dtype=torch.float64)
    worst = max(float((Mt @ x - project(s, x).projection).abs().max()) for x in X)
    # a 2-D picture of the same fact: projection onto the line y = x/2
    u = np.array([2.0, 1.0]) / math.sqrt(5)
    P2 = np.outer(u, u)
    pts = X[:8, :2].numpy() * 1.5
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([-4, 4], [-2, 2], color="C0", label="the subspace y = x/2")
    for p in pts:
        q = P2 @ p
        ax.plot([p[0], q[0]], [p[1], q[1]], color="0.6", lw=0.8)
    ax.scatter(pts[:, 0], pts[:, 1], s=12, color="k", label="x")
    proj = pts @ P2.T
    ax.scatter(proj[:, 0], proj[:, 1], s=12, color="C3", zorder=3, label="M x, M = u uᵀ")
    ax.set(xlabel="x1", ylabel="x2", aspect="equal", xlim=(-4, 4), ylim=(-4, 4))
    ax.legend(fontsize=8, loc="upper left")
    return claim(
        "exercises.subspace",
        "Exercises 5-6: a linear subspace {x : Ax = 0} is convex, and the projection onto it is linear, x ↦ Mx with "
        "M = I − Aᵀ(AAᵀ)⁻¹A, a symmetric matrix with M² = M.",
        "M exactly (sympy) for the plane x + y − z = 0; M² − M and M − Mᵀ exactly; Mx against losslens's projection "
        "onto the same plane for 200 random x.",
        {"M (exact)": str(M.tolist()), "‖M² − M‖": float((M * M - M).norm()), "‖M − Mᵀ‖": float((M - M.T).norm()),
         "largest |Mx − P(x)| over random x": worst},
        (ctx.figure(fig, "exercise-subspace", "Projection onto a line through the origin is a matrix product"),))


def intro() -> str:
    r = sp.Symbol("r")
    return (
        "<p>The exercises of D2L 11.2 (numbering as in the book), each answered by a computation. For p ≥ 1 the "
        "p-norm ball</p>"
        + formula(sp.Symbol("B_p[r]"), op("="), text("{x :"), sp.Symbol("‖x‖_p"), op("≤"), r, text("}"))
        + "<p>is convex; for p &lt; 1 the same formula does not define a norm, and the set is not convex.</p>")


def run(ctx: Context) -> list[Claim]:
    return [_max_min(ctx), _logsumexp(ctx), _half_ball(ctx), _nonexpansive(ctx), _subspace(ctx)]


SECTION = Section("exercises", "Exercises of D2L 11.2", run, intro)
