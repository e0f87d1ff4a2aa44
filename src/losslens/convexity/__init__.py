"""Convexity of functions and sets: prove, refute, or say "unknown" — never a wrong verdict.

* :func:`check_convexity` — verdict on a function over the whole space, a box or its natural domain.
* :func:`local_convexity` — the largest box around a point on which convexity is proved.
* :func:`check_set` — membership, convexity proof or witness pair for sets given by inequalities.
"""
from .check import VERDICTS, Convexity, check_convexity
from .local import LocalConvexity, local_convexity
from .prove import Proof
from .refute import JensenWitness
from .sets import SetConvexity, SetSpec, SetWitness, check_set, intersect, parse_set, sublevel_set, union

__all__ = ["VERDICTS", "Convexity", "check_convexity", "LocalConvexity", "local_convexity", "Proof",
           "JensenWitness", "SetConvexity", "SetSpec", "SetWitness", "check_set", "intersect", "parse_set",
           "sublevel_set", "union"]
