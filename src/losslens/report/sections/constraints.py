"""Constraints, penalties and projections."""
from __future__ import annotations

from ..tour import Claim, Context, Section
from ._common import unavailable


def run(ctx: Context) -> list[Claim]:
    return [unavailable("Constraints, penalties and projections, as computed checks.", "constrained optimization")]


SECTION = Section("constraints", "Constraints, penalties and projections", run)
