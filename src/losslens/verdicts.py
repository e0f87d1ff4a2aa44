"""The verdict vocabulary: for each top-level result type, the words its ``verdict`` may take and what each means.

Every result a command prints (``--json``) carries ``verdict`` (one word of its type's set below) and ``reason``
(one line with the numbers behind it); the evidence is in the result's other fields. ``unknown`` is allowed for
every type: the tool says it cannot decide, and the ``reason`` says why. A listing (``catalog``) is not an analysis
and has no verdict.

Pure data (no torch, no sympy), so documentation and tests read it without importing the analyses.

>>> VERDICTS["PointReport"]["saddle"]
'critical, with eigenvalues of both signs'
>>> is_allowed("Convexity", "unknown") and not is_allowed("Convexity", "saddle")
True
"""
from __future__ import annotations

UNKNOWN = "unknown"
UNKNOWN_MEANING = "cannot decide; the reason says why"

# result type -> (command(s), {verdict: one-line meaning}); "unknown" is added to every set below.
_TABLE: dict[str, tuple[str, dict[str, str]]] = {
    "PointReport": ("eval", {
        "min": "critical, Hessian positive definite: a strict local minimum",
        "max": "critical, Hessian negative definite: a strict local maximum",
        "saddle": "critical, with eigenvalues of both signs",
        "degenerate": "critical, no sign change, and an eigenvalue within the zero tolerance: second order undecided",
        "not_critical": "the gradient is above the tolerance",
        "not_finite": "f, its gradient or its Hessian is not finite here",
        "nonsmooth": "on a kink of abs, max, min or relu: f need not be differentiable here, no derivative test applies",
    }),
    "CriticalPoints": ("points", {
        "complete": "proved: every critical point in the box is in the list",
        "partial": "the list may miss critical points (the reason says why completeness was not proved)",
    }),
    "Run": ("optimize", {
        "converged": "critical, Hessian positive definite",
        "stalled_at_saddle": "critical or approaching one, with a negative eigenvalue (escape direction given)",
        "stalled_at_max": "critical or approaching one, Hessian negative definite",
        "vanishing_gradient": "small gradient, not critical, still decreasing, flat on the region's scale",
        "plateau": "critical with zero eigenvalues, or slow and flat near a degenerate point, or no longer decreasing",
        "oscillating": "most of the last step pairs reverse direction",
        "diverged": "non-finite values, or f and the gradient growing above the start",
        "max_steps": "the step budget ran out while still moving",
    }),
    "Comparison": ("compare", {
        "all_converged": "every method's run converged",
        "some_converged": "at least one run converged, at least one did not",
        "none_converged": "no run converged (each run's verdict says why it stopped)",
    }),
    "BasinMap": ("basins", {
        "one_endpoint": "every settled start ended at the same point",
        "several_endpoints": "settled starts ended at two or more distinct points",
        "none_settled": "no start settled: every one diverged or is still moving",
    }),
    "Convexity": ("convex", {
        "strongly_convex": "proved: Hessian >= mu I with mu > 0 on the region",
        "strictly_convex": "proved strictly convex on the region",
        "convex": "proved convex on the region",
        "concave": "proved concave on the region (for a non-affine f: not convex)",
        "not_convex": "a Jensen witness, checked in interval arithmetic",
    }),
    "LocalConvexity": ("convex --around", {
        "convex_near_point": "proved convex on a cube of positive half-width around the point",
    }),
    "SetConvexity": ("convex-set", {
        "convex": "proved convex",
        "not_convex": "a witness pair whose mix leaves the set, checked",
    }),
    "Landscape": ("landscape, interpolate", {
        "finite": "every grid value is finite",
        "not_finite": "some grid values are NaN or infinite (counted in non_finite)",
    }),
    "HessianReport": ("hessian", {
        "min": "critical, smallest eigenvalue above the zero tolerance",
        "saddle": "critical, an eigenvalue below minus the zero tolerance",
        "degenerate": "critical, no negative eigenvalue, the smallest within the zero tolerance",
        "not_critical": "the gradient is above the tolerance",
        "not_finite": "the loss, gradient or a product is not finite",
    }),
    "GradientFlow": ("gradflow", {
        "vanishing": "the first layer's gradient is below low x the last layer's",
        "exploding": "the first layer's gradient is above high x the last's, or the norms blow up",
        "healthy": "the gradient reaches the first layer at a comparable size",
        "not_finite": "a gradient norm became NaN or infinite",
    }),
    "TrainingRun": ("train", {
        "underfitting": "the training error stays above the fit tolerance",
        "overfitting": "test error minus training error above the gap tolerance",
        "good_fit": "small training error and a small gap",
        "not_finite": "the training loss became NaN or infinite",
    }),
    "GapStudy": ("gap", {
        "shrinking": "fitted rate a with a - 2 se > 0: the gap falls with the training-set size",
        "not_shrinking": "a + 2 se <= 0: the gap does not fall",
    }),
    "ConstrainedResult": ("constrained", {
        "optimal": "KKT point of a problem proved convex: a global minimum",
        "local_min": "KKT point where the strict second-order sufficient condition holds",
        "kkt_point": "KKT point, optimality not proved",
        "not_min": "KKT point where the second-order necessary condition fails",
        "infeasible": "proved: convex constraints whose violation has a positive minimum",
        "unbounded": "a feasible point with f below the unboundedness threshold",
        "not_converged": "the solver stopped before every KKT residual reached the tolerance",
    }),
    "WeightDecayResult": ("weight-decay", {
        "agree": "the penalised and the ball-constrained solutions coincide: lambda is the ball's multiplier there",
        "differ": "they lie more than 1e-6 max(1, r) apart",
    }),
    "ProjectionResult": ("project", {
        "inside": "the point is already in the set: it is its own projection",
        "projected": "the point is outside; the projection is the nearest point of the set",
    }),
    "SaddleExperiment": ("saddles (random matrices)", {
        "saddles_dominate": "at the largest usable n the whole interval of ln P is below -n ln 2",
    }),
    "NetworkSaddles": ("saddles (network)", {
        "saddles_high_minima_low": "index rises with loss (Spearman p < 0.05) and every minimum is below every saddle",
        "index_rises_with_loss": "the rank correlation only",
        "not_observed": "the index falls with the loss (rho < 0, p < 0.05)",
    }),
    "SaddlesReport": ("saddles", {
        "saddles_dominate": "the random-matrix verdict (the network part carries its own)",
    }),
    "TourResult": ("tour", {
        "all_confirmed": "every claim of every section run was confirmed",
        "refuted": "at least one claim was refuted",
    }),
}

VERDICTS: dict[str, dict[str, str]] = {name: {**words, UNKNOWN: UNKNOWN_MEANING} for name, (_, words) in _TABLE.items()}
COMMANDS: dict[str, str] = {name: command for name, (command, _) in _TABLE.items()}


def is_allowed(result_type: str, verdict: str) -> bool:
    """Whether ``verdict`` belongs to the documented set of ``result_type`` (a class name)."""
    return verdict in VERDICTS.get(result_type, {})


def check(result) -> None:
    """Raise ``ValueError`` when a result of a type listed here carries a verdict outside its set (a word used in
    code but not documented is a bug, reported as an internal error); other types pass unchecked."""
    name = type(result).__name__
    words = VERDICTS.get(name)
    if words is not None and result.verdict not in words:
        raise ValueError(f"{name}.verdict == {result.verdict!r} is not one of its documented words "
                         f"({', '.join(words)}); see losslens.verdicts")


def table_markdown() -> str:
    """The vocabulary as a markdown table (result type, command, verdict, meaning) for the docs."""
    lines = ["| result | command | verdict | meaning |", "| --- | --- | --- | --- |"]
    for name, words in VERDICTS.items():
        for word, meaning in words.items():
            lines.append(f"| `{name}` | `{COMMANDS[name]}` | `{word}` | {meaning} |")
    return "\n".join(lines)
