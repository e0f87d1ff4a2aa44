"""The ``saddles`` command's result: the random-matrix sweep, the optional network study, and the figures drawn."""
from __future__ import annotations

from dataclasses import dataclass

from ..results import Result
from .experiment import SaddleExperiment
from .network import NetworkSaddles


@dataclass(frozen=True)
class SaddlesReport(Result):
    """``random_matrices``: the sweep over n (its verdict is this report's ``verdict`` and ``reason``);
    ``network``: index vs loss of a small digits MLP (None when not asked for; it carries its own verdict);
    ``figures``: the files drawn from them (empty when none were written)."""

    random_matrices: SaddleExperiment
    network: NetworkSaddles | None = None
    figures: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        return self.random_matrices.verdict

    @property
    def reason(self) -> str:
        return self.random_matrices.reason
