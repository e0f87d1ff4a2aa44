"""Shared pieces of the network commands: model spec -> model (optionally from a checkpoint), digits data, progress."""
from __future__ import annotations

from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..validation import InputError, check_choice
from ._choices import DTYPE_NAMES

MODEL_HELP = "A built-in model (digits-mlp, digits-deep-sigmoid, digits-cnn, ...) or package.module:factory."


def build_model(spec: str, seed: int = 0, checkpoint: str | None = None):
    """The model named by ``spec`` (seeded), with the weights of ``checkpoint`` when given."""
    from ..diagnose.training import load_checkpoint, state_dict_of
    from ..zoo import make_model

    model = make_model(spec, seed=seed)
    if checkpoint is not None:
        sd = state_dict_of(load_checkpoint(checkpoint), checkpoint)
        try:
            model.load_state_dict(sd)
        except RuntimeError as err:
            first = " ".join(str(err).split())[:160]
            raise InputError(f"checkpoint {checkpoint!r} does not fit model {spec!r}: {first}") from None
    return model


def dtype_of(name: str):
    """``torch.float32`` or ``torch.float64`` by name."""
    import torch

    return getattr(torch, check_choice("--dtype", name, DTYPE_NAMES))


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True):
    """A rich progress bar on stderr; yields ``advance(done)`` (a no-op when disabled, e.g. with --json)."""
    from ._app import err_console

    if not enabled or not err_console.is_terminal:   # a bar is for a person watching a terminal
        yield lambda done, *_: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done, *_: bar.update(task, completed=done)
