"""Goal of optimization vs deep learning: risk vs empirical risk (D2L 11.1.1)."""
from __future__ import annotations

from ..tour import Claim, Context, Section
from ._common import available, unavailable, verdict


def _risk(ctx: Context) -> Claim:
    if not available("losslens.critical"):
        return unavailable("The minimizer of the empirical risk is not the minimizer of the risk.",
                           "the critical-point finder")
    import matplotlib.pyplot as plt
    import torch

    from ...catalog import resolve
    from ...critical import find_critical_points

    f, g = resolve("risk"), resolve("empirical-risk")
    pf, pg = find_critical_points(f, f.box, seed=ctx.seed), find_critical_points(g, g.box, seed=ctx.seed)
    fmin, gmin = pf.global_minimum, pg.global_minimum
    xs = torch.linspace(0.5, 1.5, 400, dtype=torch.float64)[:, None]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(xs[:, 0], f.values(xs), label="risk f")
    ax.plot(xs[:, 0], g.values(xs), label="empirical risk g")
    for m, name, dy in ((fmin, "min of risk", -0.25), (gmin, "min of empirical risk", 0.25)):
        x, v = m.point[0], m.value
        ax.annotate(name, (x, v), (x - 0.1, v + dy), arrowprops=dict(arrowstyle="->"))
    ax.set(xlabel="x", ylabel="risk")
    ax.legend()
    return Claim(
        "Optimization minimizes the training (empirical) risk, deep learning cares about the risk on all data: "
        "their minimizers differ.",
        "Every critical point of f(x) = x cos(pi x) and g(x) = f(x) + 0.2 cos(5 pi x) on [0.5, 1.5], refined to "
        "high precision; the certified global minimum of each.",
        verdict(abs(fmin.point[0] - gmin.point[0]) > 1e-3),
        {"argmin risk": fmin.point[0], "min risk": fmin.value, "argmin empirical risk": gmin.point[0],
         "min empirical risk": gmin.value, "risk at the empirical minimizer": f.value([gmin.point[0]]).item(),
         "global minima certified (risk, empirical risk)": [fmin.certified, gmin.certified]},
        (ctx.figure(fig, "goal-risk", "Risk and empirical risk with both minimizers annotated"),),
        "losslens points empirical-risk")


def _digits_curves(ctx: Context) -> Claim:
    from ...plot.training import training_figure
    from ._network import trained

    run = trained("digits-mlp", 150 if ctx.quick else 1500, ctx.seed)
    h = run.history
    path, fig = ctx.figure_path("goal-digits-curves", "Training and test loss and accuracy of the digits MLP")
    training_figure(run, path)
    return Claim(
        "Training error and generalization error are different things: the digits MLP fits its training set "
        "better than data it has not seen.",
        "Adam on the 64-128-128-10 MLP with 1348 training and 449 test digits; losses on the full sets along "
        "training.",
        verdict(h["test_loss"][-1] > h["train_loss"][-1]),
        {"final train loss": h["train_loss"][-1], "final test loss": h["test_loss"][-1],
         "final train accuracy": h["train_accuracy"][-1], "final test accuracy": h["test_accuracy"][-1],
         "verdict": run.verdict},
        (fig,), f"losslens train --model digits-mlp --steps {run.steps}")


def _gap(ctx: Context) -> Claim:
    from ...diagnose.gap import generalization_gap
    from ...plot.training import gap_figure
    from ...zoo import make_model

    sizes = (50, 200, 800) if ctx.quick else (50, 100, 200, 400, 800, 1348)
    study = generalization_gap(lambda s: make_model("digits-small-mlp", s), sizes, repeats=1 if ctx.quick else 3,
                               steps=100 if ctx.quick else 400, seed=ctx.seed)
    path, fig = ctx.figure_path("goal-gap", "Generalization gap against training-set size with the fitted rate")
    gap_figure(study, path)
    return Claim(
        "As the training set grows, training error approaches generalization error.",
        f"The small digits MLP trained on {', '.join(map(str, sizes))} samples ({study.repeats} repeat(s) each); the "
        "gap test error − train error and a fitted power law gap ≈ C N^(−a).",
        verdict(study.rate > 0 and study.error_gap[-1] < study.error_gap[0]),
        {"sizes": list(study.sizes), "error gap": study.error_gap, "rate a": study.rate,
         "rate standard error": study.rate_stderr, "verdict": study.verdict},
        (fig,), f"losslens gap --model digits-small-mlp --sizes {','.join(map(str, sizes))}")


def run(ctx: Context) -> list[Claim]:
    return [_risk(ctx), _digits_curves(ctx), _gap(ctx)]


SECTION = Section("goal", "Goal of optimization: risk vs empirical risk", run)
