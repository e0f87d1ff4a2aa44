"""The convexity package's view of :mod:`losslens.interval` (outward-rounded interval evaluation of sympy trees)."""
from ..interval import WHOLE, evaluate, hi, interval, is_finite, lo, precision, rational  # noqa: F401
