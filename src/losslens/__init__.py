"""losslens: where and why optimization of a loss slows down or stops, and whether a problem is convex."""
from importlib.metadata import PackageNotFoundError, version as _version

from .validation import InputError
# objectives
from .objective import AnalyticObjective, Box, FunctionObjective, Objective
from .expr import Expression, ExprError, parse as parse_expression
from .catalog import CATALOG, resolve as parse
# analyses
from .classify import PointReport, classify_point
# constrained optimization
from .optimize import (ConstrainedResult, WeightDecayResult, make_problem, project, solve_constrained,
                       weight_decay_ball)

try:
    __version__ = _version("losslens")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = [
    "InputError", "ExprError",
    "Objective", "AnalyticObjective", "FunctionObjective", "Box", "Expression", "parse", "parse_expression",
    "CATALOG",
    "PointReport", "classify_point",
    "solve_constrained", "ConstrainedResult", "make_problem", "project", "weight_decay_ball", "WeightDecayResult",
]
