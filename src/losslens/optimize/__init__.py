"""Optimization: runs with stall verdicts (where and why an optimizer slows down or stops), constrained problems
(penalty, augmented Lagrangian, projected gradient) and exact projections."""
from .methods import METHODS
from .run import Comparison, Run, RiskTrace, compare, run
from .verdict import VERDICTS, Scale, Verdict
from .basins import BasinMap, basins
from .projections import Affine, BoxSet, ConvexSet, Halfspace, L1Ball, L2Ball, Simplex, project
from .constraints import ConstrainedProblem, Constraint, make_problem
from .constrained import ConstrainedResult, solve_constrained
from .weight_decay import WeightDecayResult, weight_decay_ball
