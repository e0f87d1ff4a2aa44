"""Generalisation gap against training-set size: does training error approach test error as data grows?

For each size ``N`` and repeat ``r`` a fresh model (seed ``seed + r``) is trained by :func:`~.training.train` on the
first ``N`` samples of a seeded digits split (split seed ``seed + r``; the test set is the same 450 images for all
sizes of a repeat) and the final training and test error and loss are recorded. Per size: mean and standard
deviation over repeats (error bars = ± one standard deviation).

Fitted rate: least squares on ``log gap = log C − a · log N`` over every (size, repeat) with a positive error gap
(the loss gap when there is no accuracy, i.e. regression) (the usual power law: ``a = 1/2`` for classic uniform-convergence bounds). ``rate`` = ``a`` with standard error
``rate_stderr`` from the regression residuals. Verdict: ``shrinking`` if ``a − 2·se > 0``, ``not_shrinking`` if
``a + 2·se <= 0``, otherwise ``unknown`` (also with fewer than three usable
points).

Long runs: with ``store`` (a JSON path) every finished (size, repeat) lands on disk at once, atomically and sealed
with its sha256 (:mod:`losslens.storage`), and a rerun with the same settings skips what is done. The store's key is
every setting that shapes the numbers: sizes, repeats, steps, batch size, lr, seed, the model (architecture and
initial parameters of ``make_model(seed + r)`` for every repeat) and the data (fingerprint of the digits split). A
store of other settings, or one that does not verify (a changed byte), is refused with a message naming the setting
or the damage; it is never used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..results import Result
from ..storage import CorruptFile, fingerprint, module_fingerprint, read_json, settings_mismatch, write_json
from ..validation import InputError, check_int
from ..losses import loss_name
from .training import train


@dataclass(frozen=True)
class GapStudy(Result):
    """``sizes`` [S]; per size mean and std over ``repeats`` of ``train_error``, ``test_error``, ``error_gap``
    (test − train error) and ``loss_gap``; ``runs``: every (size, repeat) record; ``rate`` a, ``rate_stderr``,
    ``coefficient`` C and ``r2`` of the fit ``gap ≈ C · N^(−a)``; ``verdict``, ``reason``; ``inputs``: what was
    analysed, as the caller names it (model spec, data source, loss, device; its entries are top-level keys of
    ``to_dict``)."""

    sizes: tuple[int, ...]
    repeats: int
    train_error: list
    train_error_std: list
    test_error: list
    test_error_std: list
    error_gap: list
    error_gap_std: list
    loss_gap: list
    loss_gap_std: list
    rate: float
    rate_stderr: float
    coefficient: float
    r2: float
    verdict: str
    reason: str
    runs: list
    steps: int
    seed: int
    inputs: dict = field(default_factory=dict)


def fit_rate(sizes: Sequence[float], gaps: Sequence[float]) -> tuple[float, float, float, float]:
    """(a, se(a), C, R²) of least squares ``log gap = log C − a log N`` over the points with gap > 0."""
    pts = [(math.log(n), math.log(g)) for n, g in zip(sizes, gaps) if g is not None and g > 0]
    if len(pts) < 3 or len({p[0] for p in pts}) < 2:
        return math.nan, math.nan, math.nan, math.nan
    u, v = np.array(pts).T
    A = np.stack([np.ones_like(u), u], 1)
    coef, *_ = np.linalg.lstsq(A, v, rcond=None)
    resid = v - A @ coef
    dof = len(u) - 2
    s2 = float(resid @ resid) / dof if dof > 0 else math.nan
    se = math.sqrt(s2 / float(((u - u.mean()) ** 2).sum())) if dof > 0 else math.nan
    ss = float(((v - v.mean()) ** 2).sum())
    r2 = 1 - float(resid @ resid) / ss if ss > 0 else math.nan
    return float(-coef[1]), se, float(math.exp(coef[0])), r2


def _stored_runs(path: Path, config: dict) -> dict:
    """The finished runs of the store at ``path`` when it verifies and was made with ``config``; else a refusal."""
    try:
        saved = read_json(path)
    except CorruptFile as err:
        raise InputError(f"store {str(path)!r} is corrupt or not a gap-study store ({err.reason}); delete it or use "
                         "another path") from None
    mismatch = settings_mismatch(saved.get("config") if isinstance(saved, dict) else None, config)
    if mismatch is not None:
        raise InputError(f"store {str(path)!r} was written with other settings ({mismatch}); use another path")
    return saved.get("runs", {})


def _error(history: dict, key: str) -> float:
    """1 − final accuracy; NaN without one (no evaluation, or not a classification task)."""
    acc = history[key][-1] if history and history.get(key) else None
    return math.nan if acc is None else 1 - acc


def generalization_gap(make_model: Callable[[int], nn.Module], sizes: Sequence[int], *, repeats: int = 3,
                       steps: int = 300, batch_size: int = 64, lr: float = 1e-3, seed: int = 0, store=None,
                       progress: Callable[[int, int], None] | None = None, data=None,
                       loss_fn: Callable | None = None, data_label: str | None = None,
                       inputs: dict | None = None, output=None) -> GapStudy:
    """Train ``make_model(seed)`` on training subsets of each size ``repeats`` times; the gap and its fitted rate.

    ``data``: ``((X_train, y_train), (X_test, y_test))`` tensors; repeat ``r`` trains on the first ``N`` samples of
    a permutation drawn with ``seed + r``. Default: the digits data (split with ``seed + r``). ``loss_fn``: default
    cross-entropy. ``data_label`` names the data in the store's settings. ``inputs``: the caller's names for what
    is analysed (see :class:`GapStudy`). ``output``: the key (position) of a dict (tuple) output the loss takes.
    """
    from ..datasets import digits

    if data is not None:
        if not (isinstance(data, (tuple, list)) and len(data) == 2 and data[1] is not None):
            raise InputError("data must be ((X_train, y_train), (X_test, y_test)): the gap needs a test split")
        (X_all, y_all), test_data = data
        hi = len(X_all)
    else:
        hi = len(digits(seed=seed).X_train)      # the digits training split
    try:
        sizes = tuple(sorted({check_int("sizes", int(s), lo=2, hi=hi) for s in sizes}))
    except InputError as err:
        raise InputError(f"{err}{' (the digits training split)' if data is None else ''}") from None
    if len(sizes) < 2:
        raise InputError(f"sizes == {list(sizes)}, need at least two different training-set sizes")
    repeats = check_int("repeats", repeats, lo=1)
    done: dict[str, dict] = {}
    path = Path(store) if store is not None else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)     # an unusable path fails now, not after the first run
        if data is not None:
            data_key = fingerprint(X_all, y_all, *test_data)
        else:
            split = digits(seed=seed)        # every size trains on a prefix of this split
            data_key = fingerprint(*split.train, *split.test)
        config = dict(sizes=list(sizes), repeats=repeats, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                      model={str(r): module_fingerprint(make_model(seed + r)) for r in range(repeats)},
                      data=data_key, source=data_label, loss="cross-entropy" if loss_fn is None else
                      loss_name(loss_fn),       # class, settings and weights: another loss is another study
                      **({} if output is None else {"output": output}))
        if path.exists():
            done = _stored_runs(path, config)
    total, finished = len(sizes) * repeats, 0
    loss = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    for r in range(repeats):
        for n in sizes:
            key = f"{n}:{r}"
            if key not in done:
                if data is None:
                    split = digits(seed=seed + r, train_size=n)
                    train_part, test_part = split.train, split.test
                else:
                    perm = torch.randperm(len(X_all), generator=torch.Generator().manual_seed(seed + r))[:n]
                    train_part, test_part = (X_all[perm.to(X_all.device)], y_all[perm.to(y_all.device)]), test_data
                run = train(make_model(seed + r), loss, train_part, test_part, steps=steps, batch_size=batch_size,
                            lr=lr, seed=seed + r, eval_every=steps, monitor_gradients=False, output=output)
                h = run.history
                done[key] = dict(size=n, repeat=r, train_loss=h["train_loss"][-1] if h else math.nan,
                                 test_loss=h["test_loss"][-1] if h else math.nan,
                                 train_error=_error(h, "train_accuracy"), test_error=_error(h, "test_accuracy"),
                                 verdict=run.verdict)
                if path is not None:
                    write_json(path, dict(config=config, runs=done))
            finished += 1
            if progress is not None:
                progress(finished, total)
    runs = [done[f"{n}:{r}"] for n in sizes for r in range(repeats)]
    stats = {k: ([], []) for k in ("train_error", "test_error", "error_gap", "loss_gap")}
    for n in sizes:
        rs = [x for x in runs if x["size"] == n]
        vals = dict(train_error=[x["train_error"] for x in rs], test_error=[x["test_error"] for x in rs],
                    error_gap=[x["test_error"] - x["train_error"] for x in rs],
                    loss_gap=[x["test_loss"] - x["train_loss"] for x in rs])
        for k, v in vals.items():
            stats[k][0].append(float(np.mean(v)))
            stats[k][1].append(float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)
    measure = "error" if all(math.isfinite(x["train_error"]) for x in runs) else "loss"   # loss: regression
    a, se, C, r2 = fit_rate([x["size"] for x in runs], [x[f"test_{measure}"] - x[f"train_{measure}"] for x in runs])
    if not math.isfinite(a) or not math.isfinite(se):
        verdict, reason = "unknown", "fewer than three positive gaps at two or more sizes: no rate can be fitted"
    elif a - 2 * se > 0:
        verdict, reason = "shrinking", f"{measure} gap ≈ {C:.3g}·N^(−{a:.3f} ± {se:.3f}): training {measure} approaches test {measure}"
    elif a + 2 * se <= 0:
        verdict, reason = "not_shrinking", f"{measure} gap ≈ {C:.3g}·N^(−{a:.3f} ± {se:.3f}) does not fall with N"
    else:
        verdict, reason = "unknown", f"rate {a:.3f} ± {se:.3f} is not distinguishable from zero"
    return GapStudy(sizes, repeats, stats["train_error"][0], stats["train_error"][1], stats["test_error"][0],
                    stats["test_error"][1], stats["error_gap"][0], stats["error_gap"][1], stats["loss_gap"][0],
                    stats["loss_gap"][1], a, se, C, r2, verdict, reason, runs, steps, seed, dict(inputs or {}))
