"""The tour's sections, in the chapter's order. Each module defines ``SECTION``."""
from . import goal, minima, saddle, vanishing, convexity, constraints, exercises, landscape

SECTIONS = [m.SECTION for m in (goal, minima, saddle, vanishing, convexity, constraints, exercises, landscape)]
