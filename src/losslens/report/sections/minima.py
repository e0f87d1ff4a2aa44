"""Local vs global minima."""
from __future__ import annotations

from ..tour import Claim, Context, Section
from ._common import unavailable


def run(ctx: Context) -> list[Claim]:
    return [unavailable("Local vs global minima, as computed checks.", "the critical-point finder")]


SECTION = Section("minima", "Local vs global minima", run)
