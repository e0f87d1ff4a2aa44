"""``losslens saddles``: how likely is a minimum among random critical points, and index vs loss in a network."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ._app import JSON_OPTION, command, console, emit_json
from .render import Table, print_notes


def _fmt(v) -> str:
    return "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.4g}"


@command("saddles")
def saddles_cmd(
    max_n: int = typer.Option(30, "--max-n", help="Largest matrix size n."),
    trials: int = typer.Option(100_000, "--trials", help="Monte Carlo draws per n."),
    ensemble: str = typer.Option("goe", "--ensemble", help="goe, wishart-shifted or quadratic-net."),
    rare: str = typer.Option("auto", "--rare", help="Subset simulation (GOE): auto (where Monte Carlo has < 100 "
                                                    "hits), always or none."),
    particles: int = typer.Option(1000, "--particles", help="Subset-simulation particles per run."),
    replicates: int = typer.Option(4, "--replicates", help="Independent subset-simulation runs (for the interval)."),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice."),
    out: Path = typer.Option(Path("losslens-saddles"), "--out", help="Directory for the store, JSON and figures."),
    network: bool = typer.Option(True, "--network/--no-network", help="Also find critical points of a small digits "
                                                                      "MLP and relate their index to their loss."),
    hidden: int = typer.Option(6, "--hidden", help="Hidden width of the network (dense Hessian must fit)."),
    samples: int = typer.Option(200, "--samples", help="Digits training images used by the network."),
    weight_decay: float = typer.Option(1e-2, "--weight-decay", help="Weight decay of the network's loss (> 0: "
                                                                     "without it the minima lie at infinity)."),
    inits: int = typer.Option(3, "--inits", help="Random initialisations of the network."),
    path_steps: str = typer.Option("10,100", "--path-steps", help="Gradient-descent steps whose iterates also start "
                                                                  "a Newton search (comma-separated; 'none' for no "
                                                                  "such starts)."),
    json: bool = JSON_OPTION,
):
    """P(random symmetric matrix is positive definite) for n = 1..max-n vs theory; optionally index vs loss."""
    from ..plot import save
    from ..plot.saddles import index_loss_figure, probability_figure
    from ..saddles import SaddlesReport, network_saddles, run_saddles
    from ..saddles.ensembles import get_ensemble
    from ..storage import atomic_write
    from ..validation import check_float, check_int, parse_floats

    check_int("--max-n", max_n, lo=1, hi=200)
    check_int("--trials", trials, lo=1)
    get_ensemble(ensemble)
    if network:
        check_int("--hidden", hidden, lo=1, hi=64)
        check_int("--samples", samples, lo=10)
        check_float("--weight-decay", weight_decay, lo=0, lo_open=True)
        check_int("--inits", inits, lo=1)
        steps = () if path_steps.strip().lower() == "none" else tuple(
            check_int("--path-steps", int(v) if v.is_integer() else v, lo=0)
            for v in parse_floats("--path-steps", path_steps))
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=json, disable=json) as bar:
        task = bar.add_task("n = 1", total=max_n)

        def progress(n, total, row):
            bar.update(task, description=f"{ensemble}: n = {n}", completed=n - (row is None))

        exp = run_saddles(max_n, trials, ensemble, seed, rare, particles=particles, replicates=replicates,
                          store=out / f"saddles-{ensemble}-store.json", progress=progress)
        net = None
        if network:
            ntask = bar.add_task("network critical points", total=None)
            net = network_saddles(hidden=hidden, samples=samples, weight_decay=weight_decay, inits=inits,
                                  path_steps=steps, seed=seed,
                                  progress=lambda k, total: bar.update(ntask, completed=k, total=total))
    print_notes(exp.store_notes)
    figs = [save(probability_figure(exp, "n"), out / f"saddles-{ensemble}-logp-n.png"),
            save(probability_figure(exp, "n2"), out / f"saddles-{ensemble}-logp-n2.png")]
    if net is not None:
        figs.append(save(index_loss_figure(net), out / "saddles-network-index-loss.png"))
    result = SaddlesReport(exp, net, tuple(str(f) for f in figs))
    import json as _json

    atomic_write(out / f"saddles-{ensemble}.json", _json.dumps(result.to_dict(), indent=1, allow_nan=False))
    if json:
        emit_json(result)
        return
    t = Table(title=f"ln P(H ≻ 0), {exp.ensemble}")
    for c in ("n", "MC hits", "MC ln P [95%]", "subset sim ln P [95%]", "exact", "−θn²", "−n ln 2"):
        t.add_column(c, justify="right")
    for r in exp.rows:
        mc = r.monte_carlo
        mc_txt = (f"{_fmt(math.log(mc.p))} [{_fmt(math.log(mc.lo)) if mc.lo > 0 else '-inf'}, {_fmt(math.log(mc.hi))}]"
                  if mc.hits else f"< {_fmt(math.log(mc.hi))}")
        rr = r.rare_event
        rr_txt = "" if rr is None else f"{_fmt(rr.log_p)} [{_fmt(rr.log_lo)}, {_fmt(rr.log_hi)}]"
        t.add_row(str(r.n), str(mc.hits), mc_txt, rr_txt, _fmt(r.exact_log_p), _fmt(r.asymptotic_log_p),
                  _fmt(r.naive_log_p))
    console.print(t)
    if exp.theta_fit is not None:
        console.print(f"fitted θ = {exp.theta_fit:.4f} ± {exp.theta_fit_stderr:.2g} (ln P ≈ −θn² − bn − c, n ≥ 5); "
                      f"Dean–Majumdar θ = ln 3/4 = {exp.theta:.4f}")
    console.print(f"[bold]{exp.verdict}[/bold]: {exp.reason}")
    if net is not None:
        _network_table(net)
    console.print(f"wrote {out / f'saddles-{ensemble}.json'} and {len(figs)} figures in {out}")


def _network_table(net) -> None:
    t = Table(title=f"critical points of MLP 64-{net.hidden}-10 on {net.samples} digits, weight decay "
                    f"{net.weight_decay:g} (n = {net.n_params})")
    for c in ("start", "loss", "CE", "|grad|", "status", "iter", "Hess", "HVP", "neg", "index"):
        t.add_column(c, justify="left" if c in ("start", "status") else "right")
    for p in net.points:
        t.add_row(p.start, _fmt(p.loss), _fmt(p.data_loss), f"{p.gradient_norm:.1e}", p.status, str(p.iterations),
                  str(p.hessians), str(p.hvps), str(p.negative), f"{p.index:.4f}")
    console.print(t)
    console.print(f"{sum(p.converged for p in net.points)}/{len(net.points)} searches reached |grad| <= tol = "
                  f"{net.rtol:g} x gradient scale {net.gradient_scale:.3g} = {net.tol:.2g}; index counts eigenvalues "
                  f"below -{net.zero_tol:.2g} x max(1, max|eigenvalue|)")
    if net.slope is not None:
        pb = ("" if net.pb_scale is None else f"; Pennington-Bahri index = {net.pb_scale:.3g}·max(0, loss − "
              f"{net.pb_eps_c:.3g})^1.5, rms {net.pb_rmse:.2g}")
        console.print(f"fit: index = {net.slope:.3g}·loss + {net.intercept:.3g}, rms {net.linear_rmse:.2g}{pb}")
    console.print(f"[bold]{net.verdict}[/bold]: {net.reason}")
