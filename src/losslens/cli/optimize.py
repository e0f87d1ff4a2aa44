"""``losslens optimize EXPR`` and ``losslens compare EXPR``: optimizer runs and why they stopped."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..validation import InputError, check_float
from ._choices import OPTIMIZER_METHODS
from ._app import JSON_OPTION, command, console, emit_json, err_console
from .render import Table, fmt, vector

EXPR = typer.Argument(..., help="An expression such as 'x^2 - y^2', or a catalog name.")
VARS = typer.Option(None, "--vars", help="Variable order, e.g. y,x (default: natural order).")
BOX = typer.Option(None, "--box", help="Region for the scale and the plot: -2:2,-1:3 (default: the catalog box).")
START = typer.Option(..., "--start", help="The start, comma-separated: 1,2")
STEPS = typer.Option(100, "--steps", help="Maximum number of steps (>= 1).")
NOISE = typer.Option(0.0, "--noise", help="Std of Gaussian noise added to every gradient (stochastic gradients).")
SEED = typer.Option(0, "--seed", help="Seed of the gradient noise, perturbations and scale samples.")
SCHEDULE = typer.Option(None, "--schedule", help="torch LR schedule, e.g. exponential:gamma=0.95 or "
                        "step:step_size=10,gamma=0.5 (step, exponential, cosine, linear, constant, polynomial, "
                        "multistep).")
MOMENTUM = typer.Option(None, "--momentum", help="β for momentum/nesterov (default 0.9).")
PLOT = typer.Option(None, "--plot", help="Write the figure here (.png, .svg or .pdf).")


def objectives(expr: str, vars: Optional[str], box: Optional[str], risk: Optional[str] = None):
    """The objective (and the risk objective over the same variables) from the command line."""
    from ..catalog import CATALOG, resolve

    obj = resolve(expr, vars, box)
    if risk is None:
        return obj, None
    if risk.strip() in CATALOG:
        r = resolve(risk)
        if r.names != obj.names:
            raise InputError(f"--risk {risk!r} has variables {list(r.names)}, the objective has {list(obj.names)}")
    else:
        r = resolve(risk, list(obj.names))
    return obj, r


@contextmanager
def step_progress(label: str, steps: int, quiet: bool):
    """A transient rich progress bar on stderr; yields ``advance(k)`` that marks step ``k`` done."""
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console,
                  transient=True, disable=quiet or not err_console.is_terminal) as bar:
        task = bar.add_task(label, total=steps if isinstance(steps, int) and steps > 0 else None)
        yield lambda k: bar.update(task, completed=k)


def _lr_spec(text: str, methods) -> float | dict[str, float]:
    """``0.1`` for all methods, or ``gd=0.1,adam=0.05``."""
    if "=" not in text:
        return check_float("--lr", text, lo=0, lo_open=True)
    out = {}
    for part in text.split(","):
        name, _, val = part.partition("=")
        name = name.strip()
        if name not in methods:
            raise InputError(f"--lr {text!r}: {name!r} is not one of the methods {', '.join(methods)}")
        out[name] = check_float(f"--lr {name}", val, lo=0, lo_open=True)
    return out


def _verdict_line(r) -> str:
    return f"[bold]{r.verdict}[/bold] at step {r.evidence.step}: {r.reason}"


@command("optimize")
def optimize_cmd(
    expr: str = EXPR,
    start: str = START,
    method: str = typer.Option("gd", "--method", help=f"One of {', '.join(OPTIMIZER_METHODS)}."),
    lr: float = typer.Option(0.1, "--lr", help="Learning rate η > 0."),
    steps: int = STEPS,
    noise: float = NOISE,
    seed: int = SEED,
    schedule: Optional[str] = SCHEDULE,
    momentum: Optional[float] = MOMENTUM,
    damping: float = typer.Option(0.0, "--damping", help="μ for newton / saddle-free-newton."),
    risk: Optional[str] = typer.Option(None, "--risk", help="A second objective (the risk) recorded along the run."),
    tol: float = typer.Option(1e-6, "--tol", help="Critical when |grad| <= tol x mean slope of the region."),
    slow: float = typer.Option(2e-2, "--slow", help="A small gradient is < slow x mean slope of the region."),
    vars: Optional[str] = VARS,
    box: Optional[str] = BOX,
    plot: Optional[str] = PLOT,
    json: bool = JSON_OPTION,
):
    """Run one optimizer from --start and say why it stopped (converged, stalled_at_saddle, vanishing_gradient, ...)."""
    from ..optimize import run

    obj, risk_obj = objectives(expr, vars, box, risk)
    with step_progress("optimize", steps, json) as advance:
        r = run(obj, method, obj.point(start, "--start"), steps, lr, momentum=momentum, noise=noise, seed=seed,
                schedule=schedule, damping=damping, tol=tol, slow=slow, risk=risk_obj, progress=advance)
    if plot:
        from ..plot import save
        from ..plot.optimize import curves, trajectories
        path = save(trajectories([r], obj), plot)
        save(curves([r]), path.with_name(path.stem + "-curves" + path.suffix))
    if json:
        emit_json(r)
        return
    table = Table(title=f"{r.settings['method']} on {obj.label}", header_style="bold")
    for col in ("step", "x", "f", "|grad|", "lr") + (("risk",) if r.risk else ()):
        table.add_column(col, justify="right")
    K = r.steps
    rows = sorted(set(list(range(min(K + 1, 6))) + [int(K * q) for q in (0.25, 0.5, 0.75)] + [K - 1, K]) - {-1})
    for k in rows:
        cells = [str(k), vector(r.points[k]), fmt(float(r.values[k]), 8), fmt(float(r.gradient_norms[k]), 3),
                 fmt(float(r.lrs[k]), 4) if k < len(r.lrs) else ""]
        if r.risk:
            cells.append(fmt(float(r.risk.values[k]), 8))
        table.add_row(*cells)
    console.print(table)
    console.print(_verdict_line(r))
    if r.evidence.escape_direction is not None and r.verdict in ("stalled_at_saddle", "stalled_at_max"):
        console.print(f"escape direction {vector(r.evidence.escape_direction, 4)}")
    if r.risk:
        console.print(f"risk {r.risk.label}: lowest at step {r.risk.best_step}; the objective is lowest at step "
                      f"{r.risk.empirical_best_step}, where the risk is {fmt(r.risk.gap, 4)} above its lowest")
    if plot:
        console.print(f"figure: {plot}")


@command("compare")
def compare_cmd(
    expr: str = EXPR,
    start: str = START,
    methods: str = typer.Option("gd,momentum,adam", "--methods",
                                help=f"Comma-separated, from {', '.join(OPTIMIZER_METHODS)}."),
    lr: str = typer.Option("0.1", "--lr", help="One η for all, or per method: gd=0.1,adam=0.05 (methods not named get 0.1)."),
    steps: int = STEPS,
    noise: float = NOISE,
    seed: int = SEED,
    schedule: Optional[str] = SCHEDULE,
    momentum: Optional[float] = MOMENTUM,
    vars: Optional[str] = VARS,
    box: Optional[str] = BOX,
    plot: Optional[str] = PLOT,
    json: bool = JSON_OPTION,
):
    """Run several optimizers from one start: final value, steps to tolerance, verdict; one figure with all."""
    from ..optimize import compare
    from ..optimize.run import parse_methods

    obj, _ = objectives(expr, vars, box)
    ms = parse_methods(methods)
    c = compare(obj, ms, obj.point(start, "--start"), steps, _lr_spec(lr, ms), momentum=momentum, noise=noise,
                seed=seed, schedule=schedule)
    if plot:
        from ..plot import save
        from ..plot.optimize import curves, trajectories
        path = save(trajectories(c.runs, obj, c.methods), plot)
        save(curves(c.runs, c.methods), path.with_name(path.stem + "-curves" + path.suffix))
    if json:
        emit_json(c)
        return
    table = Table(title=f"{obj.label} from {vector(c.start)}", header_style="bold")
    for col in ("method", "lr", "final f", "final x", "steps", "steps to tol", "verdict"):
        table.add_column(col, justify="left" if col in ("method", "verdict") else "right", overflow="fold",
                         no_wrap=col == "verdict")
    for m, r in zip(c.methods, c.runs):
        table.add_row(m, fmt(r.settings["lr"], 4), fmt(r.final_value, 6), vector(r.final_point, 4), str(r.steps),
                      "-" if r.steps_to_tol is None else str(r.steps_to_tol), r.verdict)
    console.print(table)
    console.print(f"tolerance: |grad| <= {fmt(c.runs[0].scale.gtol, 3)} ({c.runs[0].scale.tol:g} x mean slope "
                  f"{fmt(c.runs[0].scale.slope, 4)})")
    if plot:
        console.print(f"figure: {plot}")
