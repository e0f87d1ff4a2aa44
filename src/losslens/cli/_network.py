"""Shared pieces of the network commands: model spec -> model (optionally from a checkpoint), digits data, progress."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..validation import InputError, check_choice, check_int
from ._choices import DTYPE_NAMES

if TYPE_CHECKING:
    import torch

MODEL_HELP = "A built-in model (digits-mlp, digits-deep-sigmoid, digits-cnn, ...) or package.module:factory."


def build_model(spec: str, seed: int = 0, checkpoint: str | None = None):
    """The model named by ``spec`` (seeded), with the weights of ``checkpoint`` when given."""
    from ..landscape.checkpoints import architecture_mismatch, read_state
    from ..zoo import make_model

    model = make_model(spec, seed=seed)
    if checkpoint is not None:
        sd = read_state(checkpoint)      # weights only; a training checkpoint or a (nested) state dict
        problem = architecture_mismatch(sd, model)
        if problem is not None:
            raise InputError(f"checkpoint {checkpoint!r} does not fit model {spec!r}: {problem}")
        model.load_state_dict(sd)
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


# --- the user's data, loss, mode and device (every network command) -------------------------------------------
DATA_OPTION = typer.Option(None, "--data", help="Your data: package.module:factory (zero arguments; returns "
                           "(inputs, targets) tensors, a dict, a Dataset or a DataLoader, or a (train, test) pair / "
                           "{'train', 'test'} dict of those) or a .pt (weights-only) / .npz file. Default: the "
                           "built-in digits.")
LOSS_OPTION = typer.Option("cross-entropy", "--loss", help="cross-entropy | mse | package.module:fn "
                           "(fn(outputs, targets) -> batch-mean scalar).")
MODE_OPTION = typer.Option("eval", "--mode", help="eval (running BatchNorm statistics, no dropout) | train (batch "
                           "statistics; running statistics never change).")
DEVICE_OPTION = typer.Option("auto", "--device", help="auto | cpu | cuda | cuda:N | mps (auto: CUDA, then MPS, "
                             "then CPU).")
INPUTS_OPTION = typer.Option(None, "--inputs", help="Dict batches: the key of the model's input (tuple batches: "
                             "its position).")
TARGETS_OPTION = typer.Option(None, "--targets", help="Dict batches: the key of the targets (tuple batches: its "
                              "position).")
OUTPUT_OPTION = typer.Option(None, "--output-key", help="The key (or position) of the model's output the loss takes, "
                             "when the model returns a dict (or tuple).")
SPLITS = ("train", "test", "all")


@dataclass(frozen=True)
class DataChoice:
    """The command line's choice of data, loss, mode and device for a network objective."""

    data: Optional[str] = None
    loss: str = "cross-entropy"
    mode: str = "eval"
    device: str = "auto"
    inputs: Optional[str] = None
    targets: Optional[str] = None
    output: Optional[str] = None

    def settings(self) -> dict:
        """What the choice was, for JSON output and stores (digits when ``data`` is None)."""
        return {"data_source": self.data or "digits", "loss": self.loss, "mode": self.mode, "device": self.device}


def choose_split(choice: DataChoice, split: str, seed: int, train_size: Optional[int] = None):
    """The data of ``split`` (train | test | all): the built-in digits (seeded split) or ``--data``."""
    import torch

    from ..datasets import digits
    from ..userdata import load_data

    check_choice("--split", split, SPLITS)
    if choice.data is None:
        d = digits(seed=seed, train_size=train_size)
        return {"train": d.train, "test": d.test,
                "all": (torch.cat([d.X_train, d.X_test]), torch.cat([d.y_train, d.y_test]))}[split]
    user = load_data(choice.data)
    if split == "train":
        return user.train
    if user.test is None:
        raise InputError(f"--split {split}: --data {choice.data!r} has no test split; return (train, test) or "
                         "{'train': ..., 'test': ...} from it")
    if split == "test":
        return user.test
    (xa, ya), (xb, yb) = (as_pair(p, choice) for p in (user.train, user.test))
    return {choice.inputs or "inputs": torch.cat([xa, xb]), choice.targets or "targets": torch.cat([ya, yb])}


def as_pair(data, choice: DataChoice) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, targets)`` tensors of one split (a Dataset or DataLoader is read into memory, in order), for the
    commands that train on random minibatches."""
    import torch

    from ..model import _loader, _in_memory, _select

    raw = _in_memory(data)
    batches = [raw] if raw is not None else list(_loader(data, 4096))
    fields = [_select(b, _keys(choice.inputs), choice.targets) for b in batches]
    if not fields or len(fields[0]) != 2:
        raise InputError(f"--data {choice.data!r}: batches hold {len(fields[0]) if fields else 0} tensors; training "
                         "needs (inputs, targets): pick them with --inputs KEY --targets KEY")
    return torch.cat([f[0] for f in fields]), torch.cat([f[1] for f in fields])


def network_objective(net, choice: DataChoice, data, *, samples: Optional[int], batch_size: int,
                      dtype: torch.dtype, seed: int, label: str, distributed: Optional[bool] = None):
    """The mean loss of ``net`` on ``data`` as a :class:`~losslens.model.ModelObjective` with the choice's loss,
    mode, device and selectors; every mismatch is an :class:`InputError` naming the flag."""
    from ..devices import resolve_device
    from ..losses import make_loss
    from ..model import ModelObjective

    check_choice("--mode", choice.mode, ("eval", "train"))
    device = resolve_device(choice.device, "--device")
    loss = make_loss(choice.loss, "--loss")
    try:
        return ModelObjective(net, loss, data, subset=samples, batch_size=check_int("--batch-size", batch_size, lo=1),
                              seed=seed, dtype=dtype, mode=choice.mode, device=device, inputs=_keys(choice.inputs),
                              targets=choice.targets, output=choice.output, distributed=distributed, label=label)
    except InputError as err:          # the API's argument names -> this command's flags
        text = str(err)
        raise InputError("--samples" + text[len("subset"):] if text.startswith("subset ==") else text) from None


def _keys(text: Optional[str]):
    """``--inputs a,b`` (several model inputs) -> ("a", "b"); one key stays a string."""
    if text is None or "," not in text:
        return text
    return tuple(k.strip() for k in text.split(",") if k.strip())


def training_setup(net, choice: DataChoice, seed: int, train_size: Optional[int] = None):
    """For the commands that train on random minibatches: ``(net, loss, train, test)`` with the data as
    ``(inputs, targets)`` tensors on the chosen device (``test`` None when ``--data`` has no test split); training
    takes ``choice.output`` (``--output-key``) as its ``output``. Checked on the first samples like a network
    objective."""
    import torch

    from ..devices import resolve_device

    device = resolve_device(choice.device, "--device")
    if choice.data is None:
        from ..datasets import digits

        d = digits(seed=seed, train_size=train_size)
        train, test = d.train, d.test
    else:
        from ..userdata import load_data

        user = load_data(choice.data)
        train = as_pair(user.train, choice)
        test = as_pair(user.test, choice) if user.test is not None else None
        if train_size is not None:
            n = check_int("--train-size", train_size, lo=1, hi=len(train[0]))
            train = (train[0][:n], train[1][:n])
    # the same checks (input shape, targets for the loss, dict outputs) as a network objective, on 8 samples
    probe = network_objective(net, DataChoice(None, choice.loss, "eval", choice.device, None, None, choice.output),
                              (train[0][:8], train[1][:8]), samples=None, batch_size=8, dtype=torch.float32,
                              seed=seed, label="probe")
    move = lambda pair: None if pair is None else tuple(t.to(device) for t in pair)
    return net.to(device), probe.loss_fn, move(train), move(test)      # the output key: choice.output
