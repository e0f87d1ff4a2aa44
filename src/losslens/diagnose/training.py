"""Train a network and watch it: train vs test loss and accuracy, the gap, curvature and gradient flow over time.

Empirical risk vs risk (D2L 11.1): training minimises the loss on the training set (empirical risk ``R_emp``); what
matters is the loss on unseen data (the risk ``R``, estimated on a held-out test set). The generalisation gap is
``R_test − R_train`` for the loss and ``err_test − err_train`` for the error rate (1 − accuracy).

:func:`train` runs minibatch ``torch.optim`` training on a private copy of the model (the caller's model is never
changed) with minibatches drawn with replacement from a seeded generator. With a ``checkpoint`` path it saves the
model, optimizer, generator and history every ``checkpoint_every`` steps, on interruption (Ctrl-C finishes the step in
progress first, so the saved state is always that of whole steps), and at the end, through
:mod:`losslens.storage` (atomic: a checkpoint is always complete; sealed with the sha256 of its bytes: a changed
byte anywhere is refused, never used). Rerunning with the same path resumes from the saved step and gives the same
numbers as an uninterrupted run. The checkpoint records every setting that shapes the numbers (steps, batch size,
optimizer, lr, seed, ``eval_every``, the curvature steps and budget, gradient monitoring, the model's architecture and
initial parameters, the training and test data fingerprints, the loss); a resume with any of them different is
refused with a message naming the setting. Checkpoints load with ``torch.load(weights_only=True)``: no pickled code
ever runs.

Training verdicts (``verdict``), classification with a test set:

* ``not_finite``   the loss became NaN or inf (step reported)
* ``underfitting`` final training error > ``fit_tol`` (default 0.05)
* ``overfitting``  final error gap ``err_test − err_train`` > ``gap_tol`` (default 0.05)
* ``good_fit``     otherwise
* ``unknown``      no test data or no accuracy (regression): the gap cannot be judged
"""
from __future__ import annotations

import hashlib
import io
import math
import pickle
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn

from ..losses import check_reduction, loss_name, loss_on, sample_mass
from ..interrupts import held_interrupt
from ..model import _first_line_error, as_tensors, copy_model, integer_labels, pick_output
from ..results import Result
from ..storage import CorruptFile, fingerprint, first_difference, is_sealed, module_fingerprint, unseal, write_torch
from ..validation import InputError, check_choice, check_finite_data, check_float, check_int
from .flowmonitor import GradientFlow, GradientFlowMonitor, flow_verdict, forward_order

FORMAT = "losslens-train-v2"              # v2: sealed with a sha256, every result-shaping setting recorded
OLD_FORMATS = ("losslens-train-v1",)       # their weights are still read (hessian, landscape); no resume
FLAGS = {"curvature_at": "--hessian-every", "eval_every": "--eval-every", "curvature_samples": "--hessian-samples"}
OPTIMIZERS = ("adam", "sgd")
METRICS = ("step", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "loss_gap", "error_gap")


@dataclass(frozen=True)
class TrainingRun(Result):
    """What happened in a training run.

    ``history``: per evaluation, lists keyed by ``step``, ``train_loss``, ``train_accuracy``, ``test_loss``,
    ``test_accuracy``, ``loss_gap`` (test − train loss), ``error_gap`` (test − train error); accuracies and gaps are
    None when not defined. ``curvature``: per requested step ``{step, lambda_max, lambda_min, kind, curvature,
    hvps, converged}`` of the Hessian of the training loss (on ``curvature_samples`` samples). ``gradflow``: the
    per-layer gradient norms of every step with their verdict. ``steps``: steps completed; ``resumed_from``: the
    step a checkpoint supplied (0 for a fresh run); ``checkpoint``: its path. ``model``: the trained copy (not in
    ``to_dict``). ``inputs``: what was analysed, as the caller names it (model spec, data source, loss, device; its
    entries are top-level keys of ``to_dict``).
    """

    steps: int
    history: dict
    curvature: list
    gradflow: GradientFlow | None
    verdict: str
    reason: str
    resumed_from: int
    checkpoint: str | None
    seed: int
    model: nn.Module = field(repr=False, compare=False, metadata={"json": False})
    inputs: dict = field(default_factory=dict)


def load_checkpoint(path) -> dict:
    """A checkpoint or a plain state dict, loaded with ``weights_only=True`` (refuses anything needing pickle code).

    A file sealed by losslens is verified against its sha256 first; a losslens training checkpoint without a valid
    seal is refused as corrupt (a changed byte is never used). Plain state dicts from elsewhere carry no checksum
    and are read as they are.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {str(path)!r} does not exist or is not a file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"checkpoint {str(path)!r} cannot be read: {type(err).__name__}") from None
    sealed = is_sealed(data)
    if sealed:
        try:
            data = unseal(data, path)
        except CorruptFile as err:
            raise InputError(f"checkpoint {str(path)!r} is corrupt ({err.reason}); delete it to start over") from None
    try:
        with warnings.catch_warnings():  # torch warns on old pickle protocols; the refusal below says it in one line
            warnings.simplefilter("ignore")
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Unsupported global" not in str(err):    # torch cannot tell a foreign pickle from a corrupt file here
            raise InputError(f"checkpoint {str(path)!r} cannot be loaded with weights_only=True (refused: not a plain "
                             "tensor file; it may need pickle code execution or be corrupt)") from None
        from ..userdata import weights_only_reason

        raise InputError(f"checkpoint {str(path)!r} needs pickle code execution to load (refused; weights_only=True): "
                         f"{weights_only_reason(err)}") from None
    except Exception as err:  # noqa: BLE001 - a corrupt or foreign file fails in many ways (struct, zip, EOF)
        raise InputError(f"checkpoint {str(path)!r} cannot be read as a torch file: {type(err).__name__}") from None
    if not isinstance(state, dict):
        raise InputError(f"checkpoint {str(path)!r} holds a {type(state).__name__}, not a state dict")
    if state.get("format") == FORMAT and not sealed:
        raise InputError(f"checkpoint {str(path)!r} is corrupt (its losslens checksum is missing or changed); delete "
                         "it to start over")
    return state


def state_dict_of(state: dict, path="checkpoint") -> dict:
    """The model state dict inside a training checkpoint, or ``state`` itself when it is a plain state dict."""
    sd = state.get("model") if state.get("format") in (FORMAT, *OLD_FORMATS) else state
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise InputError(f"checkpoint {str(path)!r} is not a state dict (name -> tensor) nor a losslens training "
                         "checkpoint")
    bad = next((k for k, v in sd.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)
    if bad is not None:
        raise InputError(f"checkpoint {str(path)!r} has NaN or inf values in tensor {str(bad)[:80]!r}; weights must be "
                         "finite")
    return sd


def is_classification(outputs: torch.Tensor, targets: torch.Tensor) -> bool:
    return outputs.dim() == 2 and not targets.is_floating_point() and targets.dim() == 1


@torch.no_grad()
def evaluate(model: nn.Module, loss_fn: Callable, data, batch_size: int = 4096, output=None
             ) -> tuple[float, float | None]:
    """Mean loss and accuracy (None unless classification) of ``model`` on ``(X, y)``, in eval mode; ``output``: the
    key (position) of a dict (tuple) output the loss takes. The batch means are combined with the weights the loss
    averages by (:func:`losslens.losses.sample_mass`: class weights, ``ignore_index``), so the result does not depend
    on ``batch_size``; targets equal to ``ignore_index`` do not count for the accuracy."""
    X, y = data
    ignored = getattr(loss_fn, "ignore_index", None) if isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)) \
        else None
    was = model.training
    model.eval()
    try:
        total, mass, correct, counted, classify = 0.0, 0.0, 0, 0, True
        for i in range(0, len(X), batch_size):
            yb = y[i:i + batch_size]
            out, loss = _user_call(lambda: _loss_of(model, loss_fn, X[i:i + batch_size], yb, output),
                                   f"evaluating on {len(yb)} samples")
            m = sample_mass(loss_fn, yb)
            if m:                 # (a batch of ignored targets only has no share in the mean)
                total, mass = total + float(loss) * m, mass + m
            classify = classify and is_classification(out, yb)
            if classify:
                kept = yb != ignored if ignored is not None else torch.ones_like(yb, dtype=torch.bool)
                correct += int((out.argmax(1) == yb)[kept].sum())
                counted += int(kept.sum())
    finally:
        model.train(was)
    return (total / mass if mass else math.nan), (correct / counted if classify and counted else None)


def _record(history: dict, step: int, train: tuple, test: tuple | None) -> dict:
    tl, ta = train
    vl, va = test if test is not None else (None, None)
    rec = dict(step=step, train_loss=tl, train_accuracy=ta, test_loss=vl, test_accuracy=va,
               loss_gap=None if vl is None else vl - tl,
               error_gap=None if (va is None or ta is None) else (1 - va) - (1 - ta))
    for k in METRICS:
        history.setdefault(k, []).append(rec[k])
    return rec


def training_verdict(history: dict, *, fit_tol: float = 0.05, gap_tol: float = 0.05,
                     diverged_at: int | None = None) -> tuple[str, str]:
    """(verdict, reason) from the last evaluation in ``history`` (see the module docstring)."""
    if diverged_at is not None:
        return "not_finite", f"the training loss became NaN or inf at step {diverged_at}"
    if not history.get("step"):
        return "unknown", "no evaluation recorded"
    ta, va = history["train_accuracy"][-1], history["test_accuracy"][-1]
    if ta is None:
        return "unknown", "no accuracy (not a classification task): the gap is reported, not judged"
    if 1 - ta > fit_tol:
        return "underfitting", f"training error {1 - ta:.3f} > {fit_tol:g}"
    if va is None:
        return "unknown", f"training error {1 - ta:.3f}; no test data, the gap cannot be judged"
    gap = (1 - va) - (1 - ta)
    if gap > gap_tol:
        return "overfitting", f"test error {1 - va:.3f} − training error {1 - ta:.3f} = {gap:.3f} > {gap_tol:g}"
    return "good_fit", f"training error {1 - ta:.3f}, test error {1 - va:.3f}, gap {gap:.3f} <= {gap_tol:g}"


def _curvature_at(net: nn.Module, loss_fn: Callable, data, samples: int, max_hvps: int, seed: int, step: int,
                  output=None) -> dict:
    from ..curvature import hessian_report
    from ..model import ModelObjective

    dtype = next((p.dtype for p in net.parameters() if p.is_floating_point()), torch.float32)
    obj = ModelObjective(net, loss_fn, data, subset=min(samples, len(data[0])), seed=seed, output=output,
                         dtype=torch.float64 if dtype == torch.float64 else torch.float32)   # a float64 net stays so
    r = hessian_report(obj, obj.x0, top=1, bottom=1, max_hvps=max_hvps, seed=seed)
    return dict(step=step, lambda_max=r.lambda_max, lambda_min=r.lambda_min, kind=r.kind, curvature=r.curvature,
                hvps=r.hvps, converged=bool(r.eigen.converged) if r.eigen is not None else False)


def _config(**kw) -> dict:
    return {k: (v if isinstance(v, (int, float, str, bool, list, dict)) or v is None else repr(v))
            for k, v in kw.items()}


def _settings_refusal(path: Path, stored, config: dict) -> str | None:
    """The refusal message when a checkpoint's recorded settings differ from this run's, naming the setting."""
    if not isinstance(stored, dict):
        return f"checkpoint {str(path)!r} records no settings; use another checkpoint path"
    diff = first_difference(stored, config)
    if diff is None:
        return None
    key, was, now = diff
    flag = f" ({FLAGS[key]})" if key in FLAGS else ""
    return (f"checkpoint {str(path)!r} was written with {key}{flag} == {_short(was)}, this run has {_short(now)}; "
            "rerun with the same settings to resume, or use another checkpoint path")


def _short(v, limit: int = 80) -> str:
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "..."


def _restore(path: Path, state: dict, net, opt, gen) -> tuple[dict, list, list, int]:
    """Load a verified training checkpoint into ``net``, ``opt``, ``gen``; (history, curvature, flow rows, step).
    Content that does not fit (a crafted file with the right tag) is refused in one line."""
    try:
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        history = {k: list(v) for k, v in state["history"].items()}
        curvature = [dict(c) for c in state["curvature"]]
        flow = list(state["gradflow"].unbind(0)) if len(state["gradflow"]) else []
        step = int(state["step"])
    except Exception as err:  # noqa: BLE001 - a mis-shaped file fails in many ways (key, type, size)
        first = (str(err).strip().splitlines() or [""])[0]
        raise InputError(f"checkpoint {str(path)!r} has the losslens training tag but its content does not fit this "
                         f"run ({type(err).__name__}: {first[:120]}); use another checkpoint path") from None
    return history, curvature, flow, step


def train(model: nn.Module, loss_fn: Callable, train_data, test_data=None, *, steps: int = 500,
          batch_size: int = 64, optimizer: str = "adam", lr: float = 1e-3, seed: int = 0, eval_every: int = 50,
          curvature_at: Sequence[int] = (), curvature_samples: int = 512, curvature_hvps: int = 100,
          monitor_gradients: bool = True, checkpoint=None, checkpoint_every: int = 100,
          fit_tol: float = 0.05, gap_tol: float = 0.05,
          progress: Callable[[int, int, dict | None], None] | None = None, inputs: dict | None = None,
          output=None) -> TrainingRun:
    """Train a copy of ``model`` on ``train_data = (X, y)`` for ``steps`` minibatch steps of ``optimizer``.

    Evaluates on the full training and test sets every ``eval_every`` steps and at the end; records the extreme
    Hessian eigenvalues at the steps in ``curvature_at``; records per-layer gradient norms at every step (hooks).
    ``progress(step, steps, record)`` is called after each step (record = the evaluation, if one was made).

    >>> import torch
    >>> from torch import nn
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(200, 2, generator=g); y = (X[:, 0] > 0).long()
    >>> run = train(nn.Linear(2, 2), nn.CrossEntropyLoss(), (X, y), (X, y), steps=200, lr=0.05, seed=0)
    >>> run.verdict, run.history["train_accuracy"][-1] > 0.95
    ('good_fit', True)
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    steps = check_int("steps", steps, lo=1)
    batch_size = check_int("batch_size", batch_size, lo=1)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = check_float("lr", lr, lo=0, lo_open=True)
    eval_every = check_int("eval_every", eval_every, lo=1)
    checkpoint_every = check_int("checkpoint_every", checkpoint_every, lo=1)
    curvature_at = sorted({check_int("curvature_at", int(s), lo=1, hi=steps) for s in curvature_at})
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
    X, y = _pair("train_data", train_data, dtype)
    test = _pair("test_data", test_data, dtype) if test_data is not None else None
    check_reduction(loss_fn)         # evaluate() combines batch means
    if dtype is not None:
        loss_fn = loss_on(loss_fn, dtype, X.device)

    net = copy_model(model)
    net.train()
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr=lr)
    gen = torch.Generator().manual_seed(seed)
    config = _config(steps=steps, batch_size=batch_size, optimizer=optimizer, lr=lr, seed=seed,
                     eval_every=eval_every, curvature_at=list(curvature_at), curvature_samples=curvature_samples,
                     curvature_hvps=curvature_hvps, monitor_gradients=bool(monitor_gradients), samples=len(X),
                     layout=repr([(k, tuple(p.shape)) for k, p in net.named_parameters()]),
                     model=module_fingerprint(model), loss=loss_name(loss_fn), train_data=fingerprint(X, y),
                     test_data=fingerprint(*test) if test is not None else None,
                     **({} if output is None else {"output": output})) if checkpoint is not None else {}
    history: dict = {}
    curvature: list = []
    flow: list[torch.Tensor] = []
    start = 0
    rng = None          # torch's global generator (dropout masks) at the checkpoint
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)     # an unusable path fails now, not at the first save
    if path is not None and path.exists():
        state = load_checkpoint(path)
        if state.get("format") in OLD_FORMATS:
            raise InputError(f"checkpoint {str(path)!r} was written by an older losslens ({state['format']}, without "
                             "a checksum); its weights can be read, but a run cannot resume from it: use another path")
        if state.get("format") != FORMAT:
            raise InputError(f"checkpoint {str(path)!r} is not a losslens training checkpoint; cannot resume from it")
        refusal = _settings_refusal(path, state.get("config"), config)
        if refusal is not None:
            raise InputError(refusal)
        history, curvature, flow, start = _restore(path, state, net, opt, gen)
        rng = state.get("rng")
    resumed_from = start

    monitor = GradientFlowMonitor(net, opt) if monitor_gradients else None

    def all_flow() -> torch.Tensor:
        layers = len(monitor.layers) if monitor is not None else 0
        before = torch.stack(flow) if flow else torch.zeros(0, layers, dtype=torch.float64)
        return torch.cat([before, monitor.norms]) if monitor is not None else before

    saved_at = None

    def save(step: int) -> None:      # once per step: a checkpoint step may also end the run or be interrupted
        nonlocal saved_at
        if path is not None and step != saved_at:
            saved_at = step
            write_torch(path, dict(format=FORMAT, step=step, config=config, model=net.state_dict(),
                                   optimizer=opt.state_dict(), generator=gen.get_state(), history=history,
                                   curvature=curvature, gradflow=all_flow(), rng=torch.get_rng_state()))

    diverged_at, overflowed = None, False
    step = start
    # dropout draws from torch's global generator: seeded from `seed` inside a fork (the caller's stream is left
    # alone) and saved with the checkpoint, so one seed gives one run and a resumed run the uninterrupted numbers
    devices = [X.device.index or 0] if X.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), held_interrupt() as interrupted:
        torch.manual_seed(_dropout_seed(seed))
        if rng is not None:
            try:
                torch.set_rng_state(rng)
            except (RuntimeError, TypeError):
                raise InputError(f"checkpoint {str(path)!r} has the losslens training tag but its random state does "
                                 "not fit this run; use another checkpoint path") from None
        finished = True       # the state is that of whole steps (a KeyboardInterrupt inside a step is not saved)
        try:
            while step < steps:
                finished = False
                idx = torch.randint(0, len(X), (batch_size,), generator=gen)
                _, loss = _user_call(lambda: _loss_of(net, loss_fn, X[idx], y[idx], output),
                                     f"at training step {step + 1} (a minibatch of {batch_size} samples)")
                if not torch.isfinite(loss):
                    diverged_at = step + 1
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                try:
                    opt.step()
                except RuntimeError as err:      # a step too large for the parameters' dtype (lr 1e38 in float32)
                    if "overflow" not in str(err):
                        raise
                    diverged_at, overflowed = step + 1, True
                    break
                step += 1
                rec = None
                if step % eval_every == 0 or step == steps:
                    rec = _record(history, step, evaluate(net, loss_fn, (X, y), output=output),
                                  evaluate(net, loss_fn, test, output=output) if test is not None else None)
                if step in curvature_at:
                    curvature.append(_curvature_at(net, loss_fn, (X, y), curvature_samples, curvature_hvps, seed,
                                                   step, output))
                if step % checkpoint_every == 0 or step == steps:
                    save(step)
                finished = True
                if progress is not None:
                    progress(step, steps, rec)
                if interrupted:
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            if finished:
                save(step)
            raise
        finally:
            if monitor is not None:
                monitor.remove()
        if diverged_at is not None:
            save(step)
    verdict, reason = training_verdict(history, fit_tol=fit_tol, gap_tol=gap_tol, diverged_at=diverged_at)
    if overflowed:
        reason = f"the optimizer step overflowed the parameters' dtype at step {diverged_at} (learning rate {lr:g})"
    gf = None
    if monitor is not None:       # columns input -> output (the monitor keeps the registration order)
        order = forward_order(net, X[:batch_size], monitor.layers)
        gf = flow_verdict([monitor.layers[i] for i in order], all_flow()[:, order])
    if gf is not None and diverged_at is not None:     # the steps before a NaN/overflow are no healthy flow
        gf = replace(gf, verdict="not_finite", reason=reason)
    return TrainingRun(step, history, curvature, gf, verdict, reason, resumed_from,
                       str(path) if path is not None else None, seed, net, dict(inputs or {}))


def _dropout_seed(seed: int) -> int:
    """The seed of torch's global generator during training (dropout), derived from ``seed`` apart from the
    minibatch generator's."""
    return int(hashlib.sha256(f"losslens dropout {seed}".encode()).hexdigest()[:15], 16)


def _loss_of(net: nn.Module, loss_fn: Callable, X: torch.Tensor, y: torch.Tensor, output) -> tuple:
    """(the output the loss takes, the loss) of ``net`` on one batch."""
    out = pick_output(net(X), output)
    loss = loss_fn(out, y)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise InputError(f"the loss must be a scalar (batch mean), got {shape}")
    return out, loss


def _user_call(fn: Callable, where: str):
    """``fn()`` running the user's model and loss; their failure is an :class:`InputError` naming ``where``."""
    return _first_line_error(fn, f"the model or loss failed {where}")


def _pair(name: str, data, dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, targets)`` tensors or NumPy arrays checked (same positive length, finite), floating ones cast to
    the model's ``dtype``."""
    data = as_tensors(data)
    if not (isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data)):
        raise InputError(f"{name} must be a pair (inputs, targets) of tensors")
    X, y = data
    if X.dim() == 0 or y.dim() == 0:
        raise InputError(f"{name} has inputs of shape {tuple(X.shape)} and targets of shape {tuple(y.shape)}; both "
                         "need samples along dim 0")
    if len(X) != len(y) or len(X) == 0:
        raise InputError(f"{name} has {len(X)} inputs and {len(y)} targets, must be the same positive number")
    check_finite_data(f"{name} inputs", X)
    check_finite_data(f"{name} targets", y)
    cast = lambda t: t.to(dtype) if dtype is not None and t.is_floating_point() else t
    return cast(X), integer_labels(cast(y))
