"""Goal of optimization vs deep learning: risk vs empirical risk (D2L 11.1.1)."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ...plot import new_figure
from ..mathml import formula, op
from ..claims import Claim, Context, Section
from ._common import available, check, claim, tour_command, unavailable


@check("goal.risk", lambda n: n.update({"argmin empirical risk": n["argmin risk"]}),
       lambda j: {"argmin empirical risk": j["global_minimum"]["point"][0],
                  "min empirical risk": j["global_minimum"]["value"]})
def risk_ok(n: dict) -> bool:
    return (all(n["global minima certified (risk, empirical risk)"])
            and abs(n["argmin risk"] - n["argmin empirical risk"]) > 1e-3
            and n["risk at the empirical minimizer"] > n["min risk"])


def _risk(ctx: Context) -> Claim:
    if not available("losslens.critical"):
        return unavailable("The minimizer of the empirical risk is not the minimizer of the risk.",
                           "the critical-point finder")
    import torch

    from ...catalog import resolve
    from ...critical import find_critical_points

    f, g = resolve("risk"), resolve("empirical-risk")
    pf, pg = find_critical_points(f, f.box, seed=ctx.seed), find_critical_points(g, g.box, seed=ctx.seed)
    fmin, gmin = pf.global_minimum, pg.global_minimum
    xs = torch.linspace(0.5, 1.5, 400, dtype=torch.float64)[:, None]
    fig = new_figure(figsize=(6.4, 3.8))
    ax = fig.subplots()
    ax.plot(xs[:, 0], f.values(xs), label="risk f(x) = x cos(πx)")
    ax.plot(xs[:, 0], g.values(xs), label="empirical risk g(x) = f(x) + 0.2 cos(5πx)")
    # labels well apart: the risk's minimum labelled to the right above, the empirical one to the left below
    ax.annotate("min of risk", (fmin.point[0], fmin.value), xytext=(25, 45), textcoords="offset points",
                arrowprops=dict(arrowstyle="->"))
    ax.annotate("min of empirical risk", (gmin.point[0], gmin.value), xytext=(-150, -5), textcoords="offset points",
                arrowprops=dict(arrowstyle="->"))
    ax.set(xlabel="x", ylabel="risk", ylim=(-1.45, 0.6))
    ax.legend(loc="upper left", fontsize=8)
    return claim(
        "goal.risk",
        "Optimization minimizes the training (empirical) risk, deep learning cares about the risk on all data: "
        "their minimizers differ, and the empirical risk's minimizer has a higher risk than the best one.",
        "Every critical point of the risk f(x) = x cos(πx) and of the empirical risk g(x) = f(x) + 0.2 cos(5πx) on "
        "[0.5, 1.5] (D2L's example), refined to high precision; the global minimum of each is certified by interval "
        "branch-and-bound (boxes whose guaranteed lower bound exceeds the best value found are discarded).",
        {"argmin risk": fmin.point[0], "min risk": fmin.value, "argmin empirical risk": gmin.point[0],
         "min empirical risk": gmin.value, "risk at the empirical minimizer": f.value([gmin.point[0]]).item(),
         "global minima certified (risk, empirical risk)": [fmin.certified, gmin.certified]},
        (ctx.figure(fig, "goal-risk", "Risk and empirical risk with both minimizers annotated"),),
        "losslens points empirical-risk")


@check("goal.curves", lambda n: n.update({"final test loss": n["final train loss"] / 2}))
def curves_ok(n: dict) -> bool:
    return n["final test loss"] > n["final train loss"] and n["final test accuracy"] < n["final train accuracy"]


def _digits_curves(ctx: Context) -> Claim:
    from ...plot import save
    from ...plot.training import training_figure
    from ._network import trained

    run = trained("digits-mlp", 150 if ctx.quick else 1500, ctx.seed)
    h = run.history
    path, fig = ctx.figure_path("goal-digits-curves", "Training and test loss and accuracy of the digits MLP")
    save(training_figure(run), path)
    return claim(
        "goal.curves",
        "Training error and generalization error are different things: the digits MLP fits its training set "
        "better than data it has not seen (lower loss and higher accuracy on the training set).",
        f"Adam (lr 0.001, batch 64, {run.steps} steps) on the 64-128-128-10 MLP with 1348 training and 449 test "
        "digits (scikit-learn's bundled 8×8 images); losses and accuracies on the full sets along training.",
        {"final train loss": h["train_loss"][-1], "final test loss": h["test_loss"][-1],
         "final train accuracy": h["train_accuracy"][-1], "final test accuracy": h["test_accuracy"][-1],
         "verdict": run.verdict},
        (fig,), tour_command("goal", ctx))


@check("goal.clt", lambda n: n.update({"fitted slope of log std against log N": -1.0}))
def clt_ok(n: dict) -> bool:
    slope_ok = abs(n["fitted slope of log std against log N"] + 0.5) <= 0.05
    return slope_ok and all(abs(m / e - 1) <= 0.1 for m, e in zip(n["std measured"], n["std exact"]))


def _clt(ctx: Context) -> Claim:
    """The empirical error of one fixed classifier on N samples is an average: its spread is √(p(1−p)/N)."""
    import torch

    from ...datasets import digits
    from ._network import trained

    run = trained("digits-mlp", 150 if ctx.quick else 1500, ctx.seed)
    X, y = digits(seed=ctx.seed).test
    with torch.no_grad():
        wrong = (run.model(X).argmax(1) != y).double().numpy()
    p = float(wrong.mean())
    sizes = np.array([10, 20, 40, 80, 160, 320])
    rng = np.random.default_rng(ctx.seed)
    draws = 2000 if ctx.quick else 20000
    measured = [float(wrong[rng.integers(0, len(wrong), (draws, n))].mean(1).std(ddof=1)) for n in sizes]
    exact = [math.sqrt(p * (1 - p) / n) for n in sizes]
    slope = float(np.polyfit(np.log(sizes), np.log(measured), 1)[0])
    fig = new_figure(figsize=(6, 3.8))
    ax = fig.subplots()
    ax.loglog(sizes, measured, "o", label=f"measured over {draws} samples of size N")
    ax.loglog(sizes, exact, "-", label="exact √(p(1−p)/N)")
    ax.set(xlabel="sample size N", ylabel="std of the empirical error", title=f"one fixed classifier, error p = {p:.3f}")
    ax.legend(fontsize=8)
    return claim(
        "goal.clt",
        "For one fixed model the empirical risk is an average of N independent losses, so it scatters around the "
        "risk by √(Var/N): the gap between training and true error of a fixed model shrinks like 1/√N (central limit "
        "theorem).",
        f"The trained digits MLP's errors on the 449 test digits (error p = {p:.4f}); samples of N of them drawn "
        f"with replacement {draws} times for each N; the spread of the empirical error beside the exact "
        "√(p(1−p)/N), and the slope of log spread against log N beside −1/2 (within 0.05, each spread within 10%).",
        {"test error p": p, "N": sizes.tolist(), "std measured": measured, "std exact": exact,
         "fitted slope of log std against log N": slope, "slope predicted": -0.5},
        (ctx.figure(fig, "goal-clt", "Spread of the empirical error of one fixed classifier against N, log-log"),),
        tour_command("goal", ctx))


@check("goal.gap", lambda n: n.update({"rate a": 0.5}),
       lambda j: {"rate a": j["rate"], "rate standard error": j["rate_stderr"], "error gap": j["error_gap"]})
def gap_ok(n: dict) -> bool | None:
    a, se = n["rate a"], n["rate standard error"]
    if a is None or se is None or not math.isfinite(a):
        return None
    return a - 2 * se > 0 and abs(a - 0.5) > 2 * se


def _gap(ctx: Context) -> Claim:
    from ...diagnose.gap import generalization_gap
    from ...plot import save
    from ...plot.training import gap_figure
    from ...zoo import make_model

    sizes = (50, 200, 800) if ctx.quick else (50, 100, 200, 400, 800, 1347)
    steps = 100 if ctx.quick else 400
    study = generalization_gap(lambda s: make_model("digits-small-mlp", s), sizes, repeats=1 if ctx.quick else 3,
                               steps=steps, seed=ctx.seed)
    path, fig = ctx.figure_path("goal-gap", "Training and test error against training-set size, and the gap with "
                                "its fitted rate beside N^(−1/2)")
    save(gap_figure(study), path)
    return claim(
        "goal.gap",
        "As the training set grows, training error approaches generalization error: the gap falls like N^(−a) with "
        "a > 0. A network retrained at each size is a different model each time, so its rate need not be the 1/2 "
        "of one fixed model (previous claim); here a differs from 1/2 by more than two standard errors.",
        f"The small digits MLP trained ({steps} Adam steps) on {', '.join(map(str, sizes))} samples "
        f"({study.repeats} repeat(s) each); the gap = test error − training error and a least-squares fit of "
        "log gap = log C − a log N, with the standard error of a from the residuals.",
        {"sizes": list(study.sizes), "error gap": study.error_gap, "rate a": study.rate,
         "rate standard error": study.rate_stderr, "rate of one fixed model": 0.5, "verdict": study.verdict},
        (fig,), f"losslens gap --model digits-small-mlp --sizes {','.join(map(str, sizes))} --repeats "
                f"{study.repeats} --steps {steps} --seed {ctx.seed}")


def intro() -> str:
    x, N = sp.symbols("x N")
    i = sp.Symbol("i")
    ell = sp.Function("ℓ")
    return (
        "<p>Optimization and deep learning want different things. Optimization minimizes the objective it is given, "
        "the <i>empirical risk</i> (the average loss on the training set); deep learning wants a model that does well "
        "on data it has not seen, the <i>risk</i> (the expected loss over the whole data distribution). D2L 11.1.1 "
        "draws them as two curves whose minima differ:</p>"
        + formula(sp.Symbol("R_emp") , op("="), sp.Sum(ell(sp.Symbol("x_i"), sp.Symbol("y_i")), (i, 1, N)) / N,
                  op(","), sp.Symbol("R"), op("="), sp.Function("E")(ell(x, sp.Symbol("y"))))
        + "<p>The gap between the two shrinks as the training set grows; how fast is what the last claims measure.</p>")


def run(ctx: Context) -> list[Claim]:
    return [_risk(ctx), _digits_curves(ctx), _clt(ctx), _gap(ctx)]


SECTION = Section("goal", "Goal of optimization: risk vs empirical risk", run, intro)
