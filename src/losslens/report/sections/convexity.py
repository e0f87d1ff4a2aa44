"""Convexity."""
from __future__ import annotations

from ..tour import Claim, Context, Section
from ._common import unavailable


def run(ctx: Context) -> list[Claim]:
    return [unavailable("Convexity, as computed checks.", "the convexity checker")]


SECTION = Section("convexity", "Convexity", run)
