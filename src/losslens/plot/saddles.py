"""Figures for the saddle experiments: ln P(H ≻ 0) against n and n², and index against loss."""
from __future__ import annotations

import math

import numpy as np

from . import new_figure


def _series(rows, attr):
    pts = [(r.n, getattr(r, attr)) for r in rows if getattr(r, attr) is not None and math.isfinite(getattr(r, attr))]
    return np.array([p[0] for p in pts], dtype=float), np.array([p[1] for p in pts], dtype=float)


def probability_figure(exp, against: str = "n"):
    """ln P(H ≻ 0) vs ``n`` (``against="n"``) or vs ``n²``: Monte Carlo (with exact binomial intervals), rare-event
    estimates (intervals), exact GOE values, the Dean–Majumdar asymptote −θ n² and the naive −n ln 2."""

    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    xf = (lambda n: n * n) if against == "n2" else (lambda n: n)
    rows = exp.rows
    n = np.array([r.n for r in rows], dtype=float)
    ax.plot(xf(n), [r.naive_log_p for r in rows], "--", color="#888888", label="naive: −n ln 2")
    ax.plot(xf(n), [r.asymptotic_log_p for r in rows], ":", color="#b42318", label="Dean–Majumdar: −(ln 3/4) n²")
    en, ev = _series(rows, "exact_log_p")
    if len(en):
        ax.plot(xf(en), ev, "-", color="#1f4e99", label="exact (de Bruijn Pfaffian)")
    mc = [r for r in rows if r.monte_carlo.hits > 0]
    if mc:
        y = np.array([math.log(r.monte_carlo.p) for r in mc])
        lo = np.array([math.log(r.monte_carlo.lo) if r.monte_carlo.lo > 0 else -np.inf for r in mc])
        hi = np.array([math.log(r.monte_carlo.hi) for r in mc])
        lo = np.where(np.isfinite(lo), lo, y - 5)
        ax.errorbar(xf(np.array([r.n for r in mc], dtype=float)), y, yerr=[y - lo, hi - y], fmt="o", ms=4,
                    color="#2e7d32", label=f"Monte Carlo ({exp.trials:,} trials)")
    rr = [r for r in rows if r.rare_event is not None]
    if rr:
        y = np.array([r.rare_event.log_p for r in rr])
        ax.errorbar(xf(np.array([r.n for r in rr], dtype=float)), y,
                    yerr=[y - np.array([r.rare_event.log_lo for r in rr]), np.array([r.rare_event.log_hi for r in rr]) - y],
                    fmt="s", ms=3, mfc="none", color="#6a1b9a", label="subset simulation")
    ax.set(xlabel="n²" if against == "n2" else "n", ylabel="ln P(all eigenvalues > 0)",
           title=f"{exp.ensemble}: how likely is a minimum?")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def index_loss_figure(res):
    """Index (fraction of negative Hessian eigenvalues) against loss at the critical points found, with the fit."""

    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    good = [p for p in res.points if p.converged]
    bad = [p for p in res.points if not p.converged]
    for family, color, name in (("reduced", "#1f4e99", "critical points (reduced-network starts)"),
                                ("path", "#2a9d8f", "critical points (gradient-descent starts)")):
        pts = [p for p in good if p.family == family]
        if pts:
            ax.scatter([p.loss for p in pts], [p.index for p in pts], color=color, label=name, zorder=3)
    if bad:
        ax.scatter([p.loss for p in bad], [p.index for p in bad], marker="x", color="#999999",
                   label="search stalled, |grad| > tol (excluded)")
    if res.slope is not None:
        xs = np.linspace(min(p.loss for p in good), max(p.loss for p in good), 200)
        ax.plot(xs, res.slope * xs + res.intercept, color="#b42318",
                label=f"fit: index = {res.slope:.3g}·loss + {res.intercept:.3g} (ρ = {res.spearman:.2f})")
        if res.pb_scale is not None:
            ax.plot(xs, res.pb_scale * np.clip(xs - res.pb_eps_c, 0, None) ** 1.5, color="#e9a23b", ls="--",
                    label=f"Pennington–Bahri: {res.pb_scale:.3g}·(loss − {res.pb_eps_c:.3g})^1.5")
    ax.set(xlabel="loss at the critical point (with weight decay)",
           ylabel="index (fraction of negative eigenvalues)",
           title=f"MLP 64-{res.hidden}-10 on {res.samples} digits: {res.verdict}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
