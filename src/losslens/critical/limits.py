"""Work budgets and fixed settings of the critical-point pipeline (counts of work, so one seed gives one answer)."""
from __future__ import annotations

MAX_COMPLETE_N = 3           # completeness proofs are attempted for n <= this many variables
MP_DIGITS = 50               # digits of the mpmath refinement and of the higher-order derivative test
MAX_BOXES = 4_000            # default work budget of each interval branch-and-bound, in sub-boxes
MAX_BOXES_LIMIT = 10_000_000
MAX_POINTS = 128             # distinct critical points refined, classified and certified (work budget)
HIGHER_ORDER_POINTS = 32     # degenerate points (1-D) examined by the higher-order derivative test (work budget)
HIGHER_ORDER_SECONDS = 5.0   # safety net of the higher-order derivative test of one point (its work: MAX_DIFF_NODES)
