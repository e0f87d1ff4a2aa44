"""``gradient_flow``: train a copy of a model for a few steps and judge whether the gradient reaches its early
layers. The monitor and the verdict words live in :mod:`.flowmonitor` (training uses them too); they are re-exported
here.
"""
from __future__ import annotations

from dataclasses import replace

from torch import nn

from ..validation import check_float
from .flowmonitor import VERDICTS, GradientFlow, GradientFlowMonitor, flow_verdict, layer_of
from .training import train

__all__ = ["VERDICTS", "GradientFlow", "GradientFlowMonitor", "flow_verdict", "gradient_flow", "layer_of"]


def gradient_flow(model: nn.Module, loss_fn, data, *, steps: int = 50, batch_size: int = 64, optimizer: str = "adam",
                  lr: float = 1e-3, seed: int = 0, low: float = 1e-2, high: float = 1e2,
                  blowup: float = 1e3, inputs: dict | None = None, output=None) -> GradientFlow:
    """Train a copy of ``model`` for ``steps`` minibatch steps on ``data = (X, y)`` and judge its gradient flow.
    ``inputs``: the caller's names for what is analysed (see :class:`GradientFlow`); ``output``: the key (position)
    of a dict (tuple) output the loss takes.

    >>> import torch
    >>> from torch import nn
    >>> deep = nn.Sequential(*[m for _ in range(10) for m in (nn.Linear(8, 8), nn.Sigmoid())], nn.Linear(8, 2))
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(64, 8, generator=g); y = (X[:, 0] > 0).long()
    >>> gradient_flow(deep, nn.CrossEntropyLoss(), (X, y), steps=5, seed=0).verdict
    'vanishing'
    """
    check_float("low", low, lo=0, lo_open=True)
    run = train(model, loss_fn, data, steps=steps, batch_size=batch_size, optimizer=optimizer, lr=lr, seed=seed,
                eval_every=steps, monitor_gradients=True, output=output)
    flow = flow_verdict(run.gradflow.layers, run.gradflow.norms, low=low, high=high, blowup=blowup)
    if run.verdict == "not_finite":
        flow = replace(flow, verdict="not_finite", reason=run.reason)
    return replace(flow, inputs=dict(inputs or {}))
