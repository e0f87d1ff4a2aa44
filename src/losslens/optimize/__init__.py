"""Optimization runs: where and why an optimizer slows down or stops."""
from .methods import METHODS
from .run import Comparison, Run, RiskTrace, compare, run
from .verdict import VERDICTS, Scale, Verdict
from .basins import BasinMap, basins
