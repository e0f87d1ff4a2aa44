"""One small real input per command with ``--json``, and the API call that must give the same document.

Each :class:`Case` names the command line, the API function the command calls (``target``, patched in the tests to
catch the result the command printed), and ``api``: an independent call of the public API with the same inputs.
Used by ``test_json_documents.py`` and by ``make_schemas.py`` (which writes ``docs/json/<schema>.schema.json``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

MODEL = "digits-linear"          # 650 parameters: every network command stays fast
DIGITS = {"data_source": "digits", "loss": "cross-entropy", "mode": "eval", "device": "auto"}


@dataclass(frozen=True)
class Case:
    """``argv(tmp)`` the command line (without ``--json``); ``target`` the dotted name of the function (or class)
    whose return value the command prints; ``api(tmp)`` the same result from the public API; ``schema`` the file
    stem under docs/json (one per command; two variants of a command share it)."""

    id: str
    schema: str
    argv: Callable[[Path], list[str]]
    target: str
    api: Callable[[Path], object]
    slow: bool = False


def _digits_objective(subset=None, dtype=torch.float32, checkpoint=None, mode="eval"):
    from losslens.datasets import digits
    from losslens.losses import make_loss
    from losslens.model import ModelObjective
    from losslens.zoo import make_model

    model = make_model(MODEL, seed=0)
    if checkpoint is not None:
        from losslens.landscape.checkpoints import load_into
        load_into(model, checkpoint)
    return ModelObjective(model, make_loss("cross-entropy"), digits(seed=0).train, subset=subset, batch_size=4096,
                          seed=0, dtype=dtype, mode=mode, device=torch.device("cpu"), label=MODEL,
                          distributed=False)


def _api_catalog(tmp):
    from losslens.catalog import listing
    return listing()


def _api_catalog_entry(tmp):
    from losslens.catalog import get
    return get("himmelblau")


def _api_eval(tmp):
    from losslens import classify_point, parse
    return classify_point(parse("x^2 - y^2"), [0.0, 0.0])


def _api_optimize(tmp):
    from losslens import parse, run
    return run(parse("himmelblau"), "gd", [0.0, 0.0], 20, 0.01, tol=1e-6, slow=2e-2)


def _api_optimize_risk(tmp):
    from losslens import parse, run
    return run(parse("x^2"), "gd", [1.0], 5, 0.1, risk=parse("x^2 + 0.5*x", ["x"]))


def _api_compare(tmp):
    from losslens import compare, parse
    return compare(parse("elliptic"), "gd,newton", [-5.0, -2.0], 10, {"gd": 0.1, "newton": 1.0}, noise=0.0, seed=0)


def _api_basins(tmp):
    from losslens import basins, parse
    return basins(parse("x^4 - 2*x^2", box="-2:2"), "gd", None, 9, 50, 0.05, seed=0)


def _api_convex(tmp):
    from losslens import check_convexity
    return check_convexity("x^2 + y^2", None, time_budget=10.0, seed=0)


def _api_convex_not(tmp):
    from losslens import check_convexity
    return check_convexity("x^3", None, time_budget=10.0, seed=0)


def _api_convex_around(tmp):
    from losslens import local_convexity, parse
    return local_convexity(parse("x^3"), [1.0], time_budget=10.0, seed=0)


def _api_convex_set(tmp):
    from losslens import check_set, parse_set
    return check_set(parse_set("x^2 + y^2 <= 1"), time_budget=10.0, seed=0)


def _api_convex_set_witness(tmp):
    from losslens import check_set, parse_set
    return check_set(parse_set("x^2 + y^2 >= 1"), at=[0.0, 0.0], time_budget=10.0, seed=0)


def _api_landscape(tmp):
    from losslens.landscape.directions import Directions
    from losslens.landscape.grid import evaluate
    from losslens import parse

    obj = parse("x^2 - y^2")
    axes = Directions(torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64), "axes", None,
                      {"names": ["x", "y"]})
    return evaluate(obj, axes, 5, [(-1.0, 1.0), (-2.0, 2.0)], settings={"expression": "x^2 - y^2",
                                                                          "vars": "x,y", "box": "-1:1,-2:2"})


def _api_landscape_1d(tmp):
    from losslens.landscape.directions import Directions
    from losslens.landscape.grid import evaluate
    from losslens import parse

    axis = Directions(torch.zeros(1, dtype=torch.float64), torch.eye(1, dtype=torch.float64), "axes", None,
                      {"names": ["x"]})
    return evaluate(parse("log(x)"), axis, 5, [(-1.0, 1.0)], settings={"expression": "log(x)", "vars": "x",
                                                                                    "box": "-1:1"})


def _api_eval_not_finite(tmp):
    from losslens import classify_point, parse
    return classify_point(parse("log(x)"), [0.0])


def _api_landscape_model(tmp):
    from losslens.landscape import directions as D
    from losslens.landscape.grid import evaluate

    obj = _digits_objective(subset=60)
    settings = {"model": MODEL, "checkpoint": None, "split": "train", "subset": 60, "data": obj.fingerprint()[:16]}
    return evaluate(obj, D.gaussian(obj.x0, 2, seed=0, layout=obj.layout), 3, (-1.0, 1.0), settings=settings)


def _checkpoints(tmp: Path) -> tuple[Path, Path]:
    from losslens.zoo import make_model

    paths = tmp / "a.pt", tmp / "b.pt"
    for seed, path in enumerate(paths):
        if not path.exists():
            torch.save(make_model(MODEL, seed=seed).state_dict(), path)
    return paths


def _api_interpolate(tmp):
    from losslens.landscape.checkpoints import parameters_of
    from losslens.landscape.grid import line_between

    a, b = _checkpoints(tmp)
    obj = _digits_objective(subset=60, checkpoint=a)
    settings = {"model": MODEL, "checkpoint": str(a), "split": "train", "subset": 60, "data": obj.fingerprint()[:16],
                "a": str(a), "b": str(b)}
    return line_between(obj, obj.x0, parameters_of(obj, b), 4, (0.0, 1.0), settings=settings)


def _training_data():
    from losslens.datasets import digits
    return digits(seed=0)


def _api_gap(tmp):
    from losslens.diagnose.gap import generalization_gap
    from losslens.zoo import make_model
    return generalization_gap(lambda s: make_model(MODEL, seed=s), [40, 80, 160], repeats=1, steps=5, lr=1e-3,
                              seed=0, inputs={"model": MODEL})


def _api_gradflow(tmp):
    from losslens.diagnose.gradflow import gradient_flow
    from losslens.losses import make_loss
    from losslens.zoo import make_model
    return gradient_flow(make_model(MODEL, seed=0), make_loss("cross-entropy"), _training_data().train, steps=3,
                         seed=0, inputs={"model": MODEL})


def _api_hessian(tmp):
    from losslens import hessian_report
    obj = _digits_objective(subset=60)
    return hessian_report(obj, obj.x0, top=1, bottom=1, max_hvps=40, seed=0,
                          inputs={"model": MODEL, "checkpoint": None, **DIGITS})


def _api_hessian_spectrum(tmp):
    from losslens import hessian_report
    obj = _digits_objective(subset=60)
    return hessian_report(obj, obj.x0, top=1, bottom=1, max_hvps=40, trace_hvps=6, density=True, probes=1, steps=5,
                          seed=0, inputs={"model": MODEL, "checkpoint": None, **DIGITS})


def _api_train(tmp):
    from losslens.diagnose.training import train
    from losslens.losses import make_loss
    from losslens.zoo import make_model
    d = _training_data()
    return train(make_model(MODEL, seed=0), make_loss("cross-entropy"), d.train, d.test, steps=4, eval_every=2,
                 seed=0, inputs={"model": MODEL})


def _api_constrained(tmp):
    from losslens import solve_constrained
    return solve_constrained("x^2 + y^2", ["x + y = 1"], "alm", x0=[2.0, 0.0], tol=1e-8)


def _api_constrained_abs(tmp):
    from losslens import solve_constrained
    return solve_constrained("abs(x) + abs(y)", ["x + y = 1"], "alm", tol=1e-8)


def _api_weight_decay(tmp):
    from losslens import weight_decay_ball
    return weight_decay_ball("(x - 2)^2 + y^2", 2.0, x0=[1.0, 1.0])


def _api_project(tmp):
    from losslens import project
    from losslens.optimize.projections import make_set
    return project(make_set("l2", 2, radius=1.0), [3.0, 4.0])


def _api_saddles(tmp):
    from losslens.saddles import SaddlesReport, run_saddles
    exp = run_saddles(3, 200, "goe", 0, "none", particles=1000, replicates=4, store=tmp / "api" / "store.json")
    out = tmp / "out"
    return SaddlesReport(exp, None, (str(out / "saddles-goe-logp-n.png"), str(out / "saddles-goe-logp-n2.png")))


def _api_saddles_network(tmp):
    from losslens.saddles import SaddlesReport, network_saddles, run_saddles
    exp = run_saddles(2, 100, "goe", 0, "none", store=tmp / "api" / "store.json")
    net = network_saddles(hidden=2, samples=20, weight_decay=1e-2, inits=1, path_steps=(), seed=0)
    out = tmp / "out"
    return SaddlesReport(exp, net, tuple(str(out / f) for f in ("saddles-goe-logp-n.png", "saddles-goe-logp-n2.png",
                                                                  "saddles-network-index-loss.png")))


def _api_points(tmp):
    from losslens import find_critical_points, parse
    return find_critical_points(parse("x^3 - 3*x", box="-2:2"), starts=None, seed=0, time_budget=10.0, epsilon=1e-6)


def _api_points_continuum(tmp):
    from losslens import find_critical_points, parse
    return find_critical_points(parse("(x - y)^2", box="-1:1,-1:1"), seed=0, time_budget=10.0)


def _api_points_5d(tmp):
    from losslens import find_critical_points, parse
    return find_critical_points(parse("a^2 + b^2 + c^2 + d^2 + v^2", box="-1:1,-1:1,-1:1,-1:1,-1:1"), seed=0,
                                time_budget=10.0)


def _api_points_degenerate(tmp):
    from losslens import find_critical_points, parse
    return find_critical_points(parse("x^2 + y^4", box="-1:1,-1:1"), seed=0, time_budget=10.0)


def _api_tour(tmp):
    from losslens.report.tour import run_tour, select_sections
    return run_tour(tmp / "api", quick=True, seed=0, sections=select_sections("vanishing-gradients"))


CASES = [
    Case("catalog", "catalog", lambda t: ["catalog"], "losslens.catalog.listing", _api_catalog),
    Case("catalog-entry", "catalog", lambda t: ["catalog", "himmelblau"], "losslens.catalog.get", _api_catalog_entry),
    Case("eval", "eval", lambda t: ["eval", "x^2 - y^2", "--at", "0,0"], "losslens.classify.classify_point",
         _api_eval),
    Case("eval-not-finite", "eval", lambda t: ["eval", "log(x)", "--at", "0"], "losslens.classify.classify_point",
         _api_eval_not_finite),
    Case("optimize", "optimize", lambda t: ["optimize", "himmelblau", "--start", "0,0", "--lr", "0.01", "--steps",
                                            "20"], "losslens.optimize.run", _api_optimize),
    Case("optimize-risk", "optimize", lambda t: ["optimize", "x^2", "--start", "1", "--steps", "5", "--risk",
                                                 "x^2 + 0.5*x"], "losslens.optimize.run", _api_optimize_risk),
    Case("compare", "compare", lambda t: ["compare", "elliptic", "--start=-5,-2", "--methods", "gd,newton", "--lr",
                                          "gd=0.1,newton=1", "--steps", "10"], "losslens.optimize.compare",
         _api_compare),
    Case("basins", "basins", lambda t: ["basins", "x^4 - 2*x^2", "--box=-2:2", "--starts", "9", "--steps", "50",
                                        "--lr", "0.05"], "losslens.optimize.basins", _api_basins),
    Case("convex", "convex", lambda t: ["convex", "x^2 + y^2"], "losslens.convexity.check_convexity", _api_convex),
    Case("convex-not", "convex", lambda t: ["convex", "x^3"], "losslens.convexity.check_convexity",
         _api_convex_not),
    Case("convex-around", "convex", lambda t: ["convex", "x^3", "--around", "1"],
         "losslens.convexity.local_convexity", _api_convex_around),
    Case("convex-set", "convex-set", lambda t: ["convex-set", "x^2 + y^2 <= 1"], "losslens.convexity.check_set",
         _api_convex_set),
    Case("convex-set-witness", "convex-set", lambda t: ["convex-set", "x^2 + y^2 >= 1", "--at", "0,0"],
         "losslens.convexity.check_set", _api_convex_set_witness),
    Case("landscape", "landscape", lambda t: ["landscape", "x^2 - y^2", "--box=-1:1,-2:2", "--grid", "5"],
         "losslens.landscape.grid.evaluate", _api_landscape),
    Case("landscape-1d", "landscape", lambda t: ["landscape", "log(x)", "--box=-1:1", "--grid", "5"],
         "losslens.landscape.grid.evaluate", _api_landscape_1d),
    Case("landscape-model", "landscape", lambda t: ["landscape", "--model", MODEL, "--grid", "3", "--samples", "60"],
         "losslens.landscape.grid.evaluate", _api_landscape_model),
    Case("interpolate", "interpolate", lambda t: ["interpolate", *map(str, _checkpoints(t)), "--model", MODEL,
                                                  "--points", "4", "--samples", "60"],
         "losslens.landscape.grid.line_between", _api_interpolate),
    Case("gap", "gap", lambda t: ["gap", "--model", MODEL, "--sizes", "40,80,160", "--repeats", "1", "--steps", "5"],
         "losslens.diagnose.gap.generalization_gap", _api_gap),
    Case("gradflow", "gradflow", lambda t: ["gradflow", "--model", MODEL, "--steps", "3"],
         "losslens.diagnose.gradflow.gradient_flow", _api_gradflow),
    Case("hessian", "hessian", lambda t: ["hessian", "--model", MODEL, "--top", "1", "--bottom", "1", "--samples",
                                          "60", "--max-hvps", "40"], "losslens.curvature.hessian_report",
         _api_hessian),
    Case("hessian-spectrum", "hessian", lambda t: ["hessian", "--model", MODEL, "--top", "1", "--bottom", "1",
                                                   "--samples", "60", "--max-hvps", "40", "--trace", "--trace-hvps",
                                                   "6", "--density", "--probes", "1", "--slq-steps", "5"],
         "losslens.curvature.hessian_report", _api_hessian_spectrum),
    Case("train", "train", lambda t: ["train", "--model", MODEL, "--steps", "4", "--eval-every", "2"],
         "losslens.diagnose.training.train", _api_train),
    Case("constrained", "constrained", lambda t: ["constrained", "x^2 + y^2", "--st", "x + y = 1", "--start", "2,0"],
         "losslens.optimize.constrained.solve_constrained", _api_constrained),
    Case("constrained-abs", "constrained", lambda t: ["constrained", "abs(x) + abs(y)", "--st", "x + y = 1"],
         "losslens.optimize.constrained.solve_constrained", _api_constrained_abs),
    Case("weight-decay", "weight-decay", lambda t: ["weight-decay", "(x - 2)^2 + y^2", "--lam", "2", "--start",
                                                    "1,1"], "losslens.optimize.weight_decay.weight_decay_ball",
         _api_weight_decay),
    Case("project", "project", lambda t: ["project", "--set", "l2", "--radius", "1", "--at", "3,4"],
         "losslens.optimize.projections.project", _api_project),
    Case("saddles", "saddles", lambda t: ["saddles", "--max-n", "3", "--trials", "200", "--rare", "none",
                                          "--no-network", "--out", str(t / "out")], "losslens.saddles.SaddlesReport",
         _api_saddles),
    Case("saddles-network", "saddles", lambda t: ["saddles", "--max-n", "2", "--trials", "100", "--rare", "none",
                                                  "--hidden", "2", "--samples", "20", "--inits", "1", "--path-steps",
                                                  "none", "--out", str(t / "out")], "losslens.saddles.SaddlesReport",
         _api_saddles_network, slow=True),
    Case("points", "points", lambda t: ["points", "x^3 - 3*x", "--box=-2:2"], "losslens.critical.find_critical_points",
         _api_points),
    Case("points-degenerate", "points", lambda t: ["points", "x^2 + y^4", "--box=-1:1,-1:1"],
         "losslens.critical.find_critical_points", _api_points_degenerate),
    Case("points-continuum", "points", lambda t: ["points", "(x - y)^2", "--box=-1:1,-1:1"],
         "losslens.critical.find_critical_points", _api_points_continuum),
    Case("points-5d", "points", lambda t: ["points", "a^2 + b^2 + c^2 + d^2 + v^2",
                                           "--box=-1:1,-1:1,-1:1,-1:1,-1:1"],
         "losslens.critical.find_critical_points", _api_points_5d),
    Case("tour", "tour", lambda t: ["tour", "--only", "vanishing-gradients", "--quick", "--out", str(t / "tour")],
         "losslens.report.tour.run_tour", _api_tour),
]

def volatile(key: str) -> bool:
    """Keys whose values differ between two runs of the same input: wall-clock times (``seconds``,
    ``solve_seconds``) and the Lanczos memory budget (``memory``: by default half the memory available at the call)."""
    return key in ("seconds", "memory") or key.endswith("_seconds")


def stable(d):
    """``d`` without the :func:`volatile` keys, at every depth."""
    if isinstance(d, dict):
        return {k: stable(v) for k, v in d.items() if not volatile(k)}
    if isinstance(d, list):
        return [stable(v) for v in d]
    return d
