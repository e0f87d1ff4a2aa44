"""Curvature figures: the Hessian's spectral density, and its extreme eigenvalues over training."""
from __future__ import annotations

import numpy as np

from . import new_figure


def density_figure(report):
    """SLQ density (log scale: the bulk near zero and the outliers both show) with the Lanczos extremes marked.

    ``report``: a :class:`~losslens.curvature.HessianReport` with ``density`` set.
    """
    d = report.density
    fig = new_figure(figsize=(6.4, 3.8))
    ax = fig.subplots()
    dens = np.maximum(d.density.numpy(), 1e-12)
    ax.semilogy(d.grid.numpy(), dens, color="C0", label=f"SLQ density ({d.probes} probes × {d.steps} steps)")
    for val, name, color in ((report.lambda_min, "λ_min", "C3"), (report.lambda_max, "λ_max", "C2")):
        if np.isfinite(val):
            ax.axvline(val, color=color, ls="--", lw=1, label=f"{name} = {val:.4g} (Lanczos)")
    ax.set_ylim(bottom=max(1e-8, float(dens.max()) * 1e-8))
    ax.set_xlabel("eigenvalue λ of the Hessian")
    ax.set_ylabel("density (Gaussian σ = %.2g)" % d.sigma)
    ax.set_title(f"Hessian spectrum: {report.kind} ({report.curvature})")
    ax.legend(fontsize=8)
    return fig


def eigenvalues_over_training_figure(run):
    """λ_max and λ_min of the training-loss Hessian at the recorded steps of a training run."""
    rows = run.curvature
    fig = new_figure(figsize=(6.4, 3.8))
    ax = fig.subplots()
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["lambda_max"] for r in rows], "o-", color="C2", label="λ_max (sharpness)")
    ax.plot(steps, [r["lambda_min"] for r in rows], "o-", color="C3", label="λ_min")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xlabel("training step")
    ax.set_ylabel("Hessian eigenvalue")
    ax.set_title("Extreme Hessian eigenvalues over training")
    ax.legend(fontsize=8)
    return fig
