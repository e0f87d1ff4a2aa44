"""Goal of optimization: risk vs empirical risk (D2L 11.1.1)."""
from __future__ import annotations

from ..tour import Claim, Context, Section
from ._common import unavailable


def run(ctx: Context) -> list[Claim]:
    return [unavailable("Goal of optimization: risk vs empirical risk, as computed checks.", "the critical-point finder")]


SECTION = Section("goal", "Goal of optimization: risk vs empirical risk", run)
