"""Training figures: train vs test curves, gradient flow per layer, generalisation gap vs training-set size."""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from . import new_figure


def training_figure(run):
    """Train and test loss (left) and accuracy (right) against the step, from a :class:`TrainingRun`."""
    h = run.history
    fig = new_figure(figsize=(10, 3.8))
    a, b = fig.subplots(1, 2)
    steps = h.get("step", [])
    a.plot(steps, h.get("train_loss", []), label="training loss (empirical risk)")
    if any(v is not None for v in h.get("test_loss", [])):
        a.plot(steps, h["test_loss"], label="test loss (risk estimate)")
    a.set_yscale("log")
    a.set_xlabel("step")
    a.set_ylabel("loss")
    a.legend(fontsize=8)
    if any(v is not None for v in h.get("train_accuracy", [])):
        b.plot(steps, h["train_accuracy"], label="training accuracy")
        if any(v is not None for v in h.get("test_accuracy", [])):
            b.plot(steps, h["test_accuracy"], label="test accuracy")
        b.set_xlabel("step")
        b.set_ylabel("accuracy")
        b.legend(fontsize=8)
    fig.suptitle(f"{run.verdict.replace('_', ' ')}: {run.reason}", fontsize=9)   # plain words
    return fig


def gradflow_figure(flow, names=None):
    """Median and range over steps of the RMS gradient of each layer (log scale), input layer on the left.
    ``names``: tick labels per layer (default: the layers' module names)."""
    norms = flow.norms.numpy()
    fig = new_figure(figsize=(max(5.0, 0.6 * len(flow.layers) + 2), 3.8))
    ax = fig.subplots()
    x = np.arange(len(flow.layers))
    med = np.median(norms, 0)
    ax.fill_between(x, norms.min(0), norms.max(0), alpha=0.25, label="min-max over steps")
    ax.semilogy(x, med, "o-", label="median over steps")
    ax.set_xticks(x, list(names) if names is not None else flow.layers, rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("layer (input on the left, output on the right)")
    ax.set_ylabel("RMS gradient per parameter")
    ax.set_title(f"Gradient flow: {flow.verdict} (first/last = {flow.ratio:.3g})")
    ax.legend(fontsize=8)
    return fig


def gap_figure(study):
    """Left: training and test error (± one std over repeats) on a linear axis from 0. Right: the positive gaps on
    log-log axes with the fitted power law (a gap <= 0 cannot be drawn on a log axis and is left out of the fit)."""
    N = np.array(study.sizes, dtype=float)
    fig = new_figure(figsize=(10, 3.8))
    a, b = fig.subplots(1, 2)
    a.errorbar(N, study.train_error, yerr=study.train_error_std, fmt="o-", capsize=3, label="training error")
    a.errorbar(N, study.test_error, yerr=study.test_error_std, fmt="s-", capsize=3, label="test error")
    a.set_xscale("log")
    a.set_ylim(bottom=0)
    a.set(xlabel="training-set size N", ylabel="error rate", title="errors")
    a.legend(fontsize=8)
    gap = np.array(study.error_gap, dtype=float)
    pos = gap > 0
    b.plot(N[pos], gap[pos], "^", color="C2", label="gap = test − train error")
    if np.isfinite(study.rate):
        b.plot(N, study.coefficient * N ** (-study.rate), "k--", lw=1,
               label=f"fit C·N^(−a), a = {study.rate:.2f} ± {study.rate_stderr:.2f}")
        b.plot(N, study.coefficient * N[0] ** (0.5 - study.rate) * N ** -0.5, ":", color="C3", lw=1,
               label="N^(−1/2) for comparison")
    b.set_xscale("log")
    b.set_yscale("log")
    for ax in (a, b):     # ticks at the sizes themselves: minor labels (3×10², 4×10², ...) collide on a short axis
        ax.set_xticks(N, [str(int(n)) for n in N])
        ax.xaxis.set_minor_formatter(NullFormatter())
    b.yaxis.set_minor_formatter(NullFormatter())
    b.set(xlabel="training-set size N", ylabel="error gap", title=f"gap: {study.verdict.replace('_', ' ')}")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig
