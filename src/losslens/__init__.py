"""losslens: where and why optimization of a loss slows down or stops, and whether a problem is convex.

The public names below are imported on first use (PEP 562), so ``import losslens`` and the command line start
without loading torch, sympy or scipy; ``from losslens import run`` and ``losslens.run`` work as usual.
"""
from importlib import import_module

from .validation import InputError

# public name -> (module, attribute in that module)
_LAZY = {
    # objectives
    "Objective": ("objective", "Objective"), "AnalyticObjective": ("objective", "AnalyticObjective"),
    "FunctionObjective": ("objective", "FunctionObjective"), "Box": ("objective", "Box"),
    "Expression": ("expr", "Expression"), "ExprError": ("expr", "ExprError"), "parse_expression": ("expr", "parse"),
    "CATALOG": ("catalog", "CATALOG"), "parse": ("catalog", "resolve"),
    "Block": ("model", "Block"), "ModelObjective": ("model", "ModelObjective"),
    # data and built-in models
    "Split": ("datasets", "Split"), "digits": ("datasets", "digits"),
    "MODELS": ("zoo", "MODELS"), "make_model": ("zoo", "make_model"),
    # analyses
    "PointReport": ("classify", "PointReport"), "classify_point": ("classify", "classify_point"),
    # optimization runs
    **{n: ("optimize", n) for n in ("BasinMap", "Comparison", "Run", "Verdict", "basins", "compare", "run")},
    # convexity
    **{n: ("convexity", n) for n in ("Convexity", "LocalConvexity", "SetConvexity", "check_convexity", "check_set",
                                     "local_convexity", "parse_set", "sublevel_set")},
    # curvature of large objectives (networks): Hessian-vector products only
    **{n: ("curvature", n) for n in ("HessianReport", "LanczosResult", "SpectralDensity", "TraceEstimate",
                                     "hessian_report", "hutch_plus_plus", "hutchinson", "lanczos",
                                     "spectral_density")},
    # loss landscapes: lines and planes through parameter space
    "Directions": ("landscape", "Directions"), "Landscape": ("landscape", "Landscape"),
    "evaluate_landscape": ("landscape", "evaluate"), "interpolate": ("landscape", "line_between"),
    # constrained optimization
    **{n: ("optimize", n) for n in ("ConstrainedResult", "WeightDecayResult", "make_problem", "project",
                                    "solve_constrained", "weight_decay_ball")},
    # high-dimensional saddles
    **{n: ("saddles", n) for n in ("NetworkSaddles", "SaddleExperiment", "goe_log_positive_probability",
                                   "monte_carlo", "network_saddles", "rare_event", "run_saddles")},
    # critical points in a box, interval arithmetic
    **{n: ("critical", n) for n in ("CriticalPoint", "CriticalPoints", "GlobalMinimum", "find_critical_points")},
}

__all__ = [
    "InputError", "ExprError",
    "Objective", "AnalyticObjective", "FunctionObjective", "Box", "Expression", "parse", "parse_expression",
    "CATALOG", "ModelObjective", "Block",
    "digits", "Split", "MODELS", "make_model",
    "PointReport", "classify_point",
    "run", "compare", "basins", "Run", "Comparison", "BasinMap", "Verdict",
    "Convexity", "LocalConvexity", "SetConvexity", "check_convexity", "check_set", "local_convexity", "parse_set",
    "sublevel_set",
    "lanczos", "LanczosResult", "hutch_plus_plus", "hutchinson", "TraceEstimate", "spectral_density",
    "SpectralDensity", "hessian_report", "HessianReport",
    "evaluate_landscape", "interpolate", "Landscape", "Directions",
    "solve_constrained", "ConstrainedResult", "make_problem", "project", "weight_decay_ball", "WeightDecayResult",
    "run_saddles", "SaddleExperiment", "goe_log_positive_probability", "monte_carlo", "rare_event",
    "network_saddles", "NetworkSaddles",
    "find_critical_points", "CriticalPoints", "CriticalPoint", "GlobalMinimum",
]


def __getattr__(name: str):
    """Import a public name's module on first access and keep the name (PEP 562)."""
    if name == "__version__":   # importlib.metadata is slow to import: only when asked
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("losslens")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0.0.0+unknown"
        globals()[name] = value
        return value
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'losslens' has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
