"""The one entry point of landscape evaluation: which evaluator computes a grid's values.

``make_evaluator`` picks the path (ReLU rows or plain stack for Linear/activation networks, the network path for
convolutional, residual and normalised ones, batched ``values`` for functions) and the evaluator names it in
``path`` (``Landscape.evaluator``).
"""
from __future__ import annotations

import torch

from ..validation import InputError, check_choice
from .directions import Directions
from .evaluators import METHODS, LoopEvaluator, ValuesEvaluator, _tied, is_model_objective
from .sequential import ModelPlaneEvaluator
from .networks import NetworkEvaluator


def make_evaluator(obj, directions: Directions, method: str = "auto", axis: torch.Tensor | None = None):
    """The evaluator for ``method`` (see the module docstring); ``auto`` = ``fast`` for models, else ``values``.
    ``axis``: the grid's last axis (its points ``c[-1]`` lie on it), which lets ``fast`` follow grid rows."""
    check_choice("method", method, METHODS)
    if method == "auto":
        on_cpu = getattr(getattr(obj, "device", None), "type", "cpu") == "cpu"   # fast: CPU worker threads
        method = "fast" if is_model_objective(obj) and not _tied(obj.module) and on_cpu else "values"
    if method == "fast":
        if not is_model_objective(obj):
            raise InputError("method == 'fast' needs a model objective; use 'values' or 'loop' for functions")
        evaluator = ModelPlaneEvaluator(obj, directions, axis)
        if evaluator.path == "modules":      # not a Linear/activation stack: the network path
            evaluator = NetworkEvaluator(obj, directions)
        return evaluator
    if method == "loop":
        return LoopEvaluator(obj, directions)
    return ValuesEvaluator(obj, directions)
