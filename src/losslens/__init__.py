"""losslens: where and why optimization of a loss slows down or stops, and whether a problem is convex."""
from importlib.metadata import PackageNotFoundError, version as _version

from .validation import InputError
# objectives
from .objective import AnalyticObjective, Box, FunctionObjective, Objective
from .expr import Expression, ExprError, parse as parse_expression
from .catalog import CATALOG, resolve as parse
from .model import Block, ModelObjective
# data and built-in models
from .datasets import Split, digits
from .zoo import MODELS, make_model
# analyses
from .classify import PointReport, classify_point
# optimization runs
from .optimize import BasinMap, Comparison, Run, Verdict, basins, compare, run
# convexity
from .convexity import (Convexity, LocalConvexity, SetConvexity, check_convexity, check_set, local_convexity,
                        parse_set, sublevel_set)
# curvature of large objectives (networks): Hessian-vector products only
from .curvature import (HessianReport, LanczosResult, SpectralDensity, TraceEstimate, hessian_report,
                        hutch_plus_plus, hutchinson, lanczos, spectral_density)
# loss landscapes: lines and planes through parameter space
from .landscape import Directions, Landscape, evaluate as evaluate_landscape, line_between as interpolate
# constrained optimization
from .optimize import (ConstrainedResult, WeightDecayResult, make_problem, project, solve_constrained,
                       weight_decay_ball)
# high-dimensional saddles
from .saddles import (NetworkSaddles, SaddleExperiment, goe_log_positive_probability, monte_carlo, network_saddles,
                      rare_event, run_saddles)
# critical points in a box, interval arithmetic
from .critical import CriticalPoint, CriticalPoints, GlobalMinimum, find_critical_points

try:
    __version__ = _version("losslens")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

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
