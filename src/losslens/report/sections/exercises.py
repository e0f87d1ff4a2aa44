"""D2L 11.2's exercises, each with its statement, a computed answer and a figure."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp
import torch

from ...plot import new_figure
from ...convexity import check_convexity, check_set, parse_set
from ...objective import Box
from ...optimize import L1Ball, L2Ball, project
from ..mathml import formula, op, text
from ..claims import Claim, Context, Section
from ._common import check, claim, tour_command, unknown_if

CONVEX = ("convex", "strictly_convex", "strongly_convex")


@check("exercises.max-min", lambda n: n.update({"min(f, g)": "convex"}), lambda j: {"min(f, g)": j["verdict"]})
def max_min_ok(n: dict) -> bool | None:
    words = (n["max(f, g)"], n["min(f, g)"])
    return unknown_if(words, words[0] in CONVEX and words[1] == "not_convex")


def _max_min(ctx: Context) -> Claim:

    f, g = "(x - 1)^2", "(x + 1)^2"
    rmax = check_convexity(f"max({f}, {g})", seed=ctx.seed)
    rmin = check_convexity(f"min({f}, {g})", seed=ctx.seed)
    xs = np.linspace(-2.5, 2.5, 300)
    fig = new_figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
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

    gen = torch.Generator().manual_seed(ctx.seed)
    pairs = 300 if ctx.quick else 2000
    A, B = (3 * torch.randn(pairs, 2, generator=gen, dtype=torch.float64) for _ in range(2))
    fig = new_figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
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
        numbers, (ctx.figure(fig, "exercise-nonexpansive", "Histogram of distance ratios after projection"),),
        tour_command("exercises", ctx))


@check("exercises.subspace", lambda n: n.update({"‖M² − M‖": 0.5}))
def subspace_ok(n: dict) -> bool:
    return n["‖M² − M‖"] == 0 and n["‖M − Mᵀ‖"] == 0 and n["largest |Mx − P(x)| over random x"] <= 1e-12


def _subspace(ctx: Context) -> Claim:

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
    fig = new_figure(figsize=(5, 5))
    ax = fig.subplots()
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
        (ctx.figure(fig, "exercise-subspace", "Projection onto a line through the origin is a matrix product"),),
        tour_command("exercises", ctx))


# Exercise 1: polygons given as sets of linear inequalities (a union of conjunctions), with their vertices in
# counter-clockwise order
L_SHAPE = "0 <= x <= 2 and 0 <= y <= 1 or 0 <= x <= 1 and 0 <= y <= 2"
L_VERTICES = ((0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2))
HEXAGON = "-2 <= y <= 2 and 2*x + y <= 4 and 2*x - y <= 4 and y - 2*x <= 4 and -2*x - y <= 4"
HEX_VERTICES = ((2, 0), (1, 2), (-1, 2), (-2, 0), (-1, -2), (1, -2))
SEGMENT = ((Fraction(9, 5), Fraction(1, 2)), (Fraction(1, 2), Fraction(9, 5)))   # two points of the L-shape


def _linear_parts(spec) -> list[list[tuple[list[Fraction], Fraction, bool]]]:
    """Each part of a polygon's set as rows ``(c, c0, strict)`` of ``g(x) = c·x + c0 <= 0`` (``< 0`` when strict),
    exact rationals from the parsed sympy constraints."""
    parts = []
    for part in spec.parts:
        rows = []
        for con in part:
            p = sp.Poly(spec.expression(con).sympy, *spec.symbols)
            if p.total_degree() > 1:
                raise ValueError(f"{con.text!r} is not linear: the polygon helpers need linear constraints")
            rows.append(([Fraction(str(p.coeff_monomial(v))) for v in spec.symbols],
                         Fraction(str(p.coeff_monomial(1))), con.strict))
        parts.append(rows)
    return parts


def _g(row, x) -> Fraction:
    c, c0, _ = row
    return sum((ci * xi for ci, xi in zip(c, x)), c0)


def _inside(parts, x) -> bool:
    """Exact membership of the rational point ``x``."""
    return any(all(_g(r, x) < 0 if r[2] else _g(r, x) <= 0 for r in part) for part in parts)


def _outside_pieces(parts, a, b) -> list[tuple[Fraction, Fraction]]:
    """The open intervals of t in [0, 1] where a + t(b − a) lies outside the set, exactly: every g is linear in t,
    so membership can only change where some g(a + t(b − a)) = 0; between two such t it is that of the midpoint."""
    ts = {Fraction(0), Fraction(1)}
    for row in (r for part in parts for r in part):
        g0, g1 = _g(row, a), _g(row, b)
        if g0 != g1 and 0 < g0 / (g0 - g1) < 1:
            ts.add(g0 / (g0 - g1))
    ts = sorted(ts)
    at = lambda t: [ai + t * (bi - ai) for ai, bi in zip(a, b)]
    pieces: list[tuple[Fraction, Fraction]] = []
    for s, t in zip(ts, ts[1:]):
        if not _inside(parts, at((s + t) / 2)):
            if pieces and pieces[-1][1] == s and not _inside(parts, at(s)):
                pieces[-1] = (pieces[-1][0], t)
            else:
                pieces.append((s, t))
    return pieces


def _on_boundary(parts, x) -> bool:
    """In the (closed) set, with some constraint of a part that contains it active (g = 0)."""
    return any(all(_g(r, x) <= 0 for r in part) and any(_g(r, x) == 0 for r in part) for part in parts)


def _reflex(vertices) -> list[int]:
    """Indices of the vertices of a counter-clockwise polygon whose interior angle exceeds 180° (a right turn)."""
    out = []
    for i, (px, py) in enumerate(vertices):
        (ax, ay), (bx, by) = vertices[i - 1], vertices[(i + 1) % len(vertices)]
        if (px - ax) * (by - py) - (py - ay) * (bx - px) < 0:
            out.append(i)
    return out


def _pt(x) -> str:
    return "(" + ", ".join(str(v) for v in x) + ")"


@check("exercises.boundary-vertices", lambda n: n.update({"hexagon: vertex pairs whose segment leaves": 1}),
       lambda j: {"L-shape checker": j["verdict"]})
def boundary_vertices_ok(n: dict) -> bool | None:
    words = (n["L-shape checker"], n["hexagon checker"])
    # per polygon: the vertex test, the checker and the reflex vertices must all say the same
    agree = all(len({n[f"{k}: vertex pairs whose segment leaves"] > 0, n[f"{k} checker"] == "not_convex",
                     bool(n[f"{k}: reflex vertices"])}) == 1 for k in ("L-shape", "hexagon"))
    return unknown_if(words, n["L-shape checker"] == "not_convex" and n["hexagon checker"] in CONVEX and agree
                      and n["L-shape: vertices in the set (exact)"] and n["hexagon: vertices in the set (exact)"]
                      and n["L-shape: the neighbours of each reflex vertex give a leaving pair"]
                      and n["segment a–b leaves for t in"] != []
                      and n["exit and re-entry points on the boundary (exact)"]
                      and n["midpoint of exit and re-entry outside (exact)"])


def _segment_exits(parts, a, b) -> tuple[list[tuple[Fraction, Fraction]], list[tuple], list[tuple]]:
    """The t-intervals where a–b is outside, the points where it leaves and re-enters, and their midpoints."""
    pieces = _outside_pieces(parts, a, b)
    at = lambda t: tuple(ai + t * (bi - ai) for ai, bi in zip(a, b))
    return pieces, [at(t) for piece in pieces for t in piece], [at((s + t) / 2) for s, t in pieces]


def _polygon_panel(ax, name, verts, leaving, verdict) -> None:
    poly = np.array(verts + (verts[0],), dtype=float)
    ax.fill(poly[:, 0], poly[:, 1], color="C0", alpha=0.25)
    ax.plot(poly[:, 0], poly[:, 1], color="C0", lw=1)
    for i, j in itertools.combinations(range(len(verts)), 2):
        out = (i, j) in leaving
        ax.plot([verts[i][0], verts[j][0]], [verts[i][1], verts[j][1]], color="C3" if out else "0.55",
                ls="--" if out else "-", lw=1.3 if out else 0.6, zorder=2)
    ax.scatter(poly[:-1, 0], poly[:-1, 1], color="k", s=14, zorder=3)
    ax.set(xlabel="x", ylabel="y", aspect="equal", title=f"{name}: {verdict.replace('_', ' ')}")


def _boundary_vertices(ctx: Context) -> Claim:

    fig = new_figure(figsize=(11, 4.2))
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    numbers = {}
    for ax, (name, text_, verts) in zip(axes, (("L-shape", L_SHAPE, L_VERTICES), ("hexagon", HEXAGON, HEX_VERTICES))):
        spec = parse_set(text_)
        parts = _linear_parts(spec)
        q = [tuple(Fraction(v) for v in p) for p in verts]
        leaving = {(i, j) for i, j in itertools.combinations(range(len(q)), 2) if _outside_pieces(parts, q[i], q[j])}
        reflex = _reflex(verts)
        numbers[f"{name} checker"] = check_set(spec, seed=ctx.seed).verdict
        numbers[f"{name}: vertices in the set (exact)"] = all(_inside(parts, p) for p in q)
        numbers[f"{name}: vertex pairs whose segment leaves"] = len(leaving)
        numbers[f"{name}: reflex vertices"] = [_pt(verts[i]) for i in reflex]
        _polygon_panel(ax, name, verts, leaving, numbers[f"{name} checker"])
        if name == "L-shape":
            numbers["L-shape: leaving pairs"] = [f"{_pt(verts[i])}–{_pt(verts[j])}" for i, j in sorted(leaving)]
            numbers["L-shape: the neighbours of each reflex vertex give a leaving pair"] = bool(reflex) and all(
                tuple(sorted(((i - 1) % len(q), (i + 1) % len(q)))) in leaving for i in reflex)
            a, b = SEGMENT
            pieces, ends, mids = _segment_exits(parts, a, b)
            numbers["segment a–b"] = f"{_pt(a)}–{_pt(b)}"
            numbers["segment a–b leaves for t in"] = [f"({s}, {t})" for s, t in pieces]
            numbers["exit and re-entry points (exact)"] = [_pt(p) for p in ends]
            numbers["exit and re-entry points on the boundary (exact)"] = bool(ends) and all(
                _on_boundary(parts, p) for p in ends)
            numbers["midpoint of exit and re-entry outside (exact)"] = bool(mids) and not any(
                _inside(parts, p) for p in mids)
            ax.plot([float(a[0]), float(b[0])], [float(a[1]), float(b[1])], color="k", lw=1.5, label="segment a–b")
            ax.scatter([float(p[0]) for p in ends], [float(p[1]) for p in ends], color="C1", zorder=4, s=30,
                       label="where it leaves and re-enters")
            ax.plot([], [], color="C3", ls="--", label="vertex pair leaving the set")
            ax.plot([], [], color="0.55", lw=0.6, label="vertex pair inside")
            ax.annotate("a", (float(a[0]), float(a[1])), xytext=(4, -12), textcoords="offset points")
            ax.annotate("b", (float(b[0]), float(b[1])), xytext=(-12, 2), textcoords="offset points")
            ax.set(xlim=(-0.3, 5.2), ylim=(-0.3, 2.3))
            ax.legend(fontsize=8, loc="lower right")
        else:
            ax.set(xlim=(-2.4, 2.4), ylim=(-2.4, 2.4))
    return claim(
        "exercises.boundary-vertices",
        "Exercise 1: to test a closed set for convexity by segments, pairs of boundary points suffice: if the segment "
        "between two points of the set leaves it, the part outside starts and ends at boundary points, and the segment "
        "between those two leaves the set too. For a polygon (edges meeting only at shared vertices), pairs of "
        "vertices suffice: a polygon that is not convex has a reflex vertex (interior angle above 180°), and the "
        "segment between its two neighbours leaves it.",
        "Exactly, in rational arithmetic: every constraint is linear along a segment, so the segment's parts outside "
        "the set are found from the points where a constraint changes sign. For the L-shape the segment a–b, its exit "
        "and re-entry points, and their midpoint; for the L-shape and a hexagon every pair of vertices and the reflex "
        "vertices (turn direction of consecutive edges); the set checker's verdict beside the vertex test.",
        numbers,
        (ctx.figure(fig, "exercise-boundary-vertices", "An L-shaped polygon with its vertex segments, one leaving, and "
                    "a segment that leaves through boundary points; a hexagon whose vertex segments all stay inside"),),
        f'losslens convex-set "{L_SHAPE}"')


TAYLOR_CASES = (("exp(x)", 0), ("x^4", 1))           # (f, the point x)
EPSILONS = (sp.Rational(1, 2), sp.Integer(1), sp.Integer(2), sp.Integer(-1))


@check("exercises.taylor", lambda n: n["ξ/ε"].update({next(iter(n["ξ/ε"])): 1.25}),
       lambda j: {"checker": {"x^4": j["verdict"]}})
def taylor_ok(n: dict) -> bool | None:
    words = list(n["checker"].values())
    return unknown_if(words, all(w in CONVEX for w in words) and len(n["ξ/ε"]) == n["cases"]
                      and all(0 <= r <= 1 for r in n["ξ/ε"].values())
                      and n["largest |f(x+ε) − f(x) − εf'(x) − ½ε²f''(x+ξ)|"] <= 1e-25
                      and n["smallest f(x+ε) − f(x) − εf'(x)"] >= 0)


@dataclass(frozen=True)
class _TaylorCase:
    """f (sympy, in ``x``) at ``x0``; per step ε: the gap f(x0+ε) − f(x0) − εf'(x0) and the exact ξ between 0 and
    ε with f''(x0+ξ) = 2·gap/ε² (none when sympy finds none)."""

    text: str
    x0: int
    f: sp.Expr
    x: sp.Symbol
    steps: tuple[tuple[sp.Expr, sp.Expr, sp.Expr | None], ...]   # (ε, gap, ξ)

    def key(self, eps) -> str:
        return f"{self.text}, x = {self.x0}, ε = {eps}"

    def numeric(self):
        """f, f' and f'' as numpy functions."""
        return [sp.lambdify(self.x, sp.diff(self.f, self.x, k), "numpy") for k in range(3)]


def _taylor_case(text_: str, x0: int) -> _TaylorCase:
    from ...expr import parse

    e = parse(text_)
    x, = e.symbols
    xi = sp.Symbol("xi", real=True)
    f1, f2 = sp.diff(e.sympy, x), sp.diff(e.sympy, x, 2)
    steps = []
    for eps in EPSILONS:
        gap = e.sympy.subs(x, x0 + eps) - e.sympy.subs(x, x0) - eps * f1.subs(x, x0)
        sol = sp.solveset(sp.Eq(f2.subs(x, x0 + xi), 2 * gap / eps ** 2), xi, sp.Interval(min(0, eps), max(0, eps)))
        found = sorted(sol, key=sp.default_sort_key) if isinstance(sol, sp.FiniteSet) else []
        steps.append((eps, gap, sp.expand_log(found[0], force=True) if found else None))
    return _TaylorCase(text_, x0, e.sympy, x, tuple(steps))


def _xi_ratio(case: _TaylorCase, eps_grid: np.ndarray) -> np.ndarray:
    """ξ/ε for many ε by root finding on f''(x0+ξ) − 2·gap/ε² over [0, ε] (NaN where it has no sign change): the
    curves of the figure, between the exact points."""
    from scipy.optimize import brentq

    f, f1, f2 = case.numeric()
    out = []
    for e in eps_grid:
        target = 2 * (f(case.x0 + e) - f(case.x0) - e * f1(case.x0)) / e ** 2
        h = lambda s: f2(case.x0 + s) - target
        lo, hi = sorted((0.0, float(e)))
        out.append(brentq(h, lo, hi) / e if h(lo) * h(hi) <= 0 else np.nan)
    return np.array(out)


def _taylor_figure(cases):

    fig = new_figure(figsize=(10.5, 3.8))
    a1, a2 = fig.subplots(1, 2)
    first = cases[0]
    f, f1, _ = first.numeric()
    xs = first.x0 + np.linspace(-1.6, 2.3, 300)
    a1.plot(xs, f(xs), label=f"f(x) = {first.text}")
    a1.plot(xs, f(first.x0) + (xs - first.x0) * f1(first.x0), "--", color="0.4",
            label=f"tangent at {first.x0}: f + εf'")
    for eps, _, xi in first.steps:
        if xi is not None:
            e = first.x0 + float(eps)
            a1.plot([e, e], [f(first.x0) + float(eps) * f1(first.x0), f(e)], color="C3", lw=2)
            a1.scatter([first.x0 + float(xi)], [0], color="C3", marker="|", s=80, zorder=3)
    a1.plot([], [], color="C3", lw=2, label="½ε²f''(x+ξ) at ε = " + ", ".join(str(e) for e, _, _ in first.steps))
    a1.set(xlabel=f"x = {first.x0} + ε (ticks on the axis: x + ξ)", ylabel="f",
           ylim=(min(-0.3, float(np.min(f(xs)))), 8))
    a1.legend(fontsize=8, loc="upper left")
    grid = np.concatenate([np.linspace(-1.5, -0.05, 50), np.linspace(0.05, 2.5, 60)])
    for i, case in enumerate(cases):
        a2.plot(grid, _xi_ratio(case, grid), color=f"C{i}", label=f"{case.text} at x = {case.x0}")
        pts = [(float(eps), float(xi / eps)) for eps, _, xi in case.steps if xi is not None]
        a2.scatter(*zip(*pts), color=f"C{i}", edgecolors="k", s=18, zorder=3) if pts else None
    for level in (0, 1):
        a2.axhline(level, color="k", lw=0.6)
    a2.set(xlabel="step ε", ylabel="ξ / ε", ylim=(-0.1, 1.1))
    a2.legend(fontsize=8, loc="center right")
    return fig


def _taylor(ctx: Context) -> Claim:
    cases = [_taylor_case(t, x0) for t, x0 in TAYLOR_CASES]
    solved = [(c, eps, gap, xi) for c in cases for eps, gap, xi in c.steps if xi is not None]
    f2 = lambda c, at: sp.diff(c.f, c.x, 2).subs(c.x, at)
    residual = max((abs(sp.N(gap - eps ** 2 / 2 * f2(c, c.x0 + xi), 40)) for c, eps, gap, xi in solved),
                   default=sp.oo)
    numbers = {"cases": sum(len(c.steps) for c in cases),
               "ξ (exact)": {c.key(eps): None if xi is None else str(xi) for c in cases for eps, _, xi in c.steps},
               "ξ/ε": {c.key(eps): float(xi / eps) for c, eps, _, xi in solved},
               "largest |f(x+ε) − f(x) − εf'(x) − ½ε²f''(x+ξ)|": float(residual),
               "smallest f(x+ε) − f(x) − εf'(x)": min(float(gap) for c in cases for _, gap, _ in c.steps),
               "checker": {t: check_convexity(t, seed=ctx.seed).verdict for t, _ in TAYLOR_CASES}}
    return claim(
        "exercises.taylor",
        "Exercise 7: for twice-differentiable f, f(x + ε) = f(x) + εf'(x) + ½ε²f''(x + ξ) for some ξ between 0 and ε "
        "(Taylor's theorem with Lagrange's remainder: Rolle's theorem applied twice to f(x + s) − f(x) − sf'(x) − Ks², "
        "K chosen to vanish at s = ε). For convex f, f'' >= 0, so the remainder is non-negative and f lies above each "
        "of its tangents: f(x + ε) >= f(x) + εf'(x).",
        "The checker's verdict on each f; ξ solved exactly (sympy) for "
        + " and ".join(f"{t} at x = {x0}" for t, x0 in TAYLOR_CASES)
        + f" with ε = {', '.join(map(str, EPSILONS))}: it must exist, lie between 0 and ε (0 <= ξ/ε <= 1) and satisfy "
        "the identity to 40 digits; the gap above the tangent must be non-negative.",
        numbers,
        (ctx.figure(_taylor_figure(cases), "exercise-taylor", "A convex function above its tangent with the remainder "
                    "at four steps; ξ/ε between 0 and 1 for each function"),),
        'losslens convex "x^4"')


def intro() -> str:
    r = sp.Symbol("r")
    x, eps, xi = sp.symbols("x epsilon xi")
    f, f1, f2 = sp.Function("f"), sp.Function("f'"), sp.Function("f''")
    return (
        "<p>The exercises of D2L 11.2 (numbering as in the book), each answered by a computation. For p ≥ 1 the "
        "p-norm ball</p>"
        + formula(sp.Symbol("B_p"), op("["), r, op("]"), op("="), op("{"), sp.Symbol("x"), op(":"),
                  sp.Symbol("‖x‖_p"), op("≤"), r, op("}"))
        + "<p>is convex; for p &lt; 1 the same formula does not define a norm, and the set is not convex. "
          "Exercise 7 is Taylor's theorem with Lagrange's remainder, which ties convexity to the second derivative:</p>"
        + formula(f(x + eps), op("="), f(x), op("+"), eps * f1(x), op("+"), eps ** 2 / 2 * f2(x + xi), op(","),
                  text("for some"), xi, op("∈"), sp.Interval(0, eps))
        + "<p>so f'' ≥ 0 puts f above each of its tangents.</p>")


def run(ctx: Context) -> list[Claim]:
    return [_boundary_vertices(ctx), _half_ball(ctx), _max_min(ctx), _logsumexp(ctx), _subspace(ctx), _taylor(ctx),
            _nonexpansive(ctx)]


SECTION = Section("exercises", "Exercises of D2L 11.2", run, intro)
