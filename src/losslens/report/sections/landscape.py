"""Landscapes and optimizers."""
from __future__ import annotations

from ..tour import Claim, Context, Section
from ._common import unavailable


def run(ctx: Context) -> list[Claim]:
    return [unavailable("Landscapes and optimizers, as computed checks.", "the loss-landscape engine")]


SECTION = Section("landscape", "Landscapes and optimizers", run)
