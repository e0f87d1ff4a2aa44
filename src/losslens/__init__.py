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
# high-dimensional saddles
from .saddles import (NetworkSaddles, SaddleExperiment, goe_log_positive_probability, monte_carlo, network_saddles,
                      rare_event, run_saddles)

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
    "run_saddles", "SaddleExperiment", "goe_log_positive_probability", "monte_carlo", "rare_event",
    "network_saddles", "NetworkSaddles",
]
