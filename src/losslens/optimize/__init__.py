"""Optimization: constrained problems (penalty, augmented Lagrangian, projected gradient) and exact projections."""
from .projections import Affine, Box as BoxSet, ConvexSet, Halfspace, L1Ball, L2Ball, Simplex, project
from .constraints import ConstrainedProblem, Constraint, make_problem
from .constrained import ConstrainedResult, solve_constrained
from .weight_decay import WeightDecayResult, weight_decay_ball

__all__ = ["ConvexSet", "BoxSet", "L2Ball", "L1Ball", "Simplex", "Affine", "Halfspace", "project",
           "ConstrainedProblem", "Constraint", "make_problem", "ConstrainedResult", "solve_constrained",
           "WeightDecayResult", "weight_decay_ball"]
