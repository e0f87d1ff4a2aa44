"""Checkpoints -> flat parameter vectors of a model objective, with architecture checks.

A checkpoint is a ``torch.save``d state dict (or a dict holding one under ``state_dict`` / ``model``), loaded with
``weights_only=True`` (tensors only, no code runs). Every trainable parameter of the model must be present with its
shape; keys the model does not have are refused too, naming the first mismatching tensor.
"""
from __future__ import annotations

import torch

from ..validation import InputError


def read_state(path) -> dict[str, torch.Tensor]:
    """The state dict stored at ``path``: a plain state dict, a losslens training checkpoint, or a dict holding one
    under ``state_dict`` / ``model`` (loaded by :func:`losslens.diagnose.training.load_checkpoint`, weights only)."""
    from ..diagnose.training import load_checkpoint, state_dict_of

    obj = load_checkpoint(path)
    for key in ("state_dict", "model"):
        if isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    return state_dict_of(obj, path)


def architecture_mismatch(state: dict, model: torch.nn.Module) -> str | None:
    """The first tensor of ``state`` that is missing, unexpected or reshaped for ``model`` (a phrase), or None."""
    want = model.state_dict()
    for name, t in want.items():
        if name not in state:
            return f"it has no tensor {name!r}"
        if tuple(state[name].shape) != tuple(t.shape):
            return f"tensor {name!r} has shape {tuple(state[name].shape)}, the model needs {tuple(t.shape)}"
    extra = [k for k in state if k not in want]
    return f"the model has no tensor {extra[0]!r}" if extra else None


def check_architecture(state: dict, model: torch.nn.Module, path) -> None:
    """Refuse a state dict made for another architecture: the first missing, unexpected or reshaped tensor."""
    problem = architecture_mismatch(state, model)
    if problem is not None:
        raise InputError(f"checkpoint {str(path)!r} is for another architecture: {problem}")


def load_into(model: torch.nn.Module, path) -> torch.nn.Module:
    """Load the checkpoint at ``path`` into ``model`` (parameters and buffers) after the architecture check."""
    state = read_state(path)
    check_architecture(state, model, path)
    model.load_state_dict(state)
    return model


def parameters_of(obj, path) -> torch.Tensor:
    """The flat trainable-parameter vector [n] (``obj.layout`` order, ``obj.dtype``) stored at ``path``."""
    state = read_state(path)
    check_architecture(state, obj.module, path)
    return obj.flatten(state)
