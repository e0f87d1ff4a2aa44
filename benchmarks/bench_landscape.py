"""51x51 filter-normalised landscape of the digits MLP (64-128-128-10, all 1797 images, float32), per grid point:
losslens vs loss-landscapes 3.0.6 vs a plain sequential functional_call loop vs a naive vmap; achieved FLOP/s as a
fraction of this machine's float32 matmul peak measured in the same run; 2 gloo ranks vs 1 (one thread per rank).

Run: .venv/bin/python benchmarks/bench_landscape.py [--grid 51] [--threads N] [--rounds 5] [--no-scaling]
(loss-landscapes comes from the `bench` extra: pip install -e ".[bench]"). Every contender evaluates the same model,
data and directions (losslens' filter-normalised Gaussian directions, seed 0). Prints markdown tables.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from losslens.datasets import digits
from losslens.landscape import evaluate, gaussian
from losslens.landscape.grid import grid_axes, grid_coefficients
from losslens.model import ModelObjective
from losslens.zoo import make_model

ROOT = Path(__file__).resolve().parents[1]


def matmul_peak(threads: int, repeat: int = 5) -> tuple[float, int, float]:
    """Best float32 GFLOP/s of square matmuls (sizes 256..2048) with this process's threads:
    (GFLOP/s by wall time, size, GFLOP/s by this process's CPU time per thread)."""
    best = (0.0, 0, 0.0)
    for n in (256, 512, 1024, 2048):
        A, B = torch.randn(n, n), torch.randn(n, n)
        A @ B
        times, cpus = [], []
        for _ in range(repeat if n >= 1024 else 20):
            t, c = time.perf_counter(), time.process_time()
            A @ B
            times.append(time.perf_counter() - t)
            cpus.append((time.process_time() - c) / threads)
        g = 2 * n ** 3 / min(times) / 1e9
        best = max(best, (g, n, 2 * n ** 3 / max(min(cpus), 1e-9) / 1e9))
    return best


def flops_per_point(N: int, sizes=(64, 128, 128, 10)) -> float:
    """Nominal forward FLOPs per point (the three matmuls)."""
    return float(sum(2 * N * a * b for a, b in zip(sizes[:-1], sizes[1:])))


def executed_flops_per_point(N: int, steps: int, flips: int, sizes=(64, 128, 128, 10)) -> float:
    """FLOPs losslens executes per point of a grid row with ``flips`` ReLU pattern flips: the first layer's product
    is formed once per run; the second layer's coefficients take four [N, h] x [h, o] products per row and 4 o
    multiply-adds per flip (relu_rows); the last layer is a plain matmul."""
    _, h, o, c = sizes
    return (4 * 2 * N * h * o + 2 * 4 * o * flips) / steps + 2 * N * o * c


def _ll_objects(model, X, y, d1, d2, h: float):
    from loss_landscapes.metrics import Loss
    from loss_landscapes.model_interface.model_parameters import ModelParameters
    from loss_landscapes.model_interface.model_wrapper import wrap_model

    wrapper = wrap_model(model)
    metric = Loss(nn.CrossEntropyLoss(), X, y)
    start = wrapper.get_module_parameters()
    shapes = [p.shape for p in start.parameters]

    def as_params(flat):
        out, off = [], 0
        for s in shapes:
            k = int(np.prod(s))
            out.append(flat[off:off + k].view(s).clone())
            off += k
        return ModelParameters(out)

    return wrapper, metric, start, as_params, as_params(d1 * h), as_params(d2 * h)


def loss_landscapes_plane(model, X, y, d1, d2, axes) -> tuple[np.ndarray, float]:
    """loss-landscapes 3.0.6's per-point method (`random_plane`'s loop) on our directions: the model's parameters are
    moved in place by ModelParameters.add_/sub_ and `metrics.Loss` runs a plain forward, snaking through the grid.
    The start is placed so that its first step lands on (axes[0][0], axes[1][0])."""
    g = len(axes[0])
    h = float(axes[1][1] - axes[1][0])
    wrapper, metric, start, as_params, step_one, step_two = _ll_objects(model, X, y, d1, d2, h)
    start.add_(as_params(d1 * float(axes[0][0]) + d2 * (float(axes[1][0]) - h)))
    t = time.perf_counter()
    rows = []
    for i in range(g):
        col = []
        for _ in range(g):
            if i % 2 == 0:
                start.add_(step_two)
                col.append(metric(wrapper))
            else:
                start.sub_(step_two)
                col.insert(0, metric(wrapper))
        rows.append(col)
        start.add_(step_one)
    return np.array(rows), time.perf_counter() - t


def plain_loop(model, X, y, obj, d, C) -> torch.Tensor:
    """One `functional_call` forward per point at θ₀ + α d₁ + β d₂ (no batching, no structure)."""
    loss = nn.CrossEntropyLoss()
    out = torch.empty(len(C))
    with torch.no_grad():
        for p, (a, b) in enumerate(C.tolist()):
            theta = d.origin + a * d.vectors[0] + b * d.vectors[1]
            params = {blk.name: theta[blk.offset:blk.offset + blk.numel].view(blk.shape) for blk in obj.layout}
            out[p] = loss(functional_call(model, params, (X,)), y)
    return out


def per_point_rounds(contenders: dict, C: torch.Tensor, rounds: int) -> tuple[dict, dict]:
    """Seconds per point of each contender, by wall time and by this process's CPU time: the best of ``rounds``
    interleaved rounds over the same points (a shared machine's load hits every contender alike; the minimum is the
    least disturbed round; CPU time does not count time spent waiting for a core)."""
    best = {k: float("inf") for k in contenders}
    cpu = {k: float("inf") for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            t, c = time.perf_counter(), time.process_time()
            fn(C)
            best[name] = min(best[name], (time.perf_counter() - t) / len(C))
            cpu[name] = min(cpu[name], (time.process_time() - c) / len(C))
    return best, cpu


def scaling(grid: int, repeat: int = 2) -> dict:
    """`losslens landscape` on 1 and 2 gloo ranks, one thread per rank, alternating ``repeat`` times; the best
    evaluation seconds reported by each (process start-up and imports excluded)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    args = ["-m", "losslens", "landscape", "--model", "digits-mlp", "--split", "all", "--grid", str(grid), "--json"]
    runs = {"one": [sys.executable, *args],
            "two": [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", "--master-port=29544", *args]}
    out: dict = {"one": float("inf"), "two": float("inf")}
    values = {}
    for _ in range(repeat):
        for k, cmd in runs.items():
            r = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)
            out[k] = min(out[k], r["seconds"])
            values[k] = r["values"]
    out["identical"] = values["one"] == values["two"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", type=int, default=51)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds over one grid row")
    ap.add_argument("--no-scaling", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    try:
        import loss_landscapes  # noqa: F401
    except ImportError:
        sys.exit("loss-landscapes is not installed: pip install -e '.[bench]'")
    from losslens.landscape.evaluators import make_evaluator

    data = digits(seed=0)
    X = torch.cat([data.X_train, data.X_test])
    y = torch.cat([data.y_train, data.y_test])
    obj = ModelObjective(make_model("digits-mlp", seed=0), nn.CrossEntropyLoss(), (X, y), label="digits-mlp")
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    axes = grid_axes(2, a.grid, (-1.0, 1.0))
    C = grid_coefficients(axes)
    P = len(C)
    nominal = flops_per_point(len(X))

    # whole grids: losslens (with and without a store) and loss-landscapes, values compared
    L = evaluate(obj, d, a.grid, (-1.0, 1.0), method="fast")
    with tempfile.TemporaryDirectory() as tmp:
        Ls = evaluate(obj, d, a.grid, (-1.0, 1.0), method="fast", out=Path(tmp) / "store")
    ll_vals, ll_t = loss_landscapes_plane(make_model("digits-mlp", seed=0), X, y, d.vectors[0], d.vectors[1], axes)
    even_diff = float((torch.from_numpy(ll_vals[0::2]).float() - L.values[0::2]).abs().max())
    odd_diff = float((torch.from_numpy(ll_vals[1::2]).float()[:, 1:] - L.values[1::2, :-1]).abs().max())

    # per point, interleaved rounds over the two middle grid rows (one chunk of evaluate's default size, split by
    # rows over the worker threads)
    row = C[(a.grid // 2 - 1) * a.grid:(a.grid // 2 + 1) * a.grid]
    fast, values = make_evaluator(obj, d, "fast", axis=axes[1]), make_evaluator(obj, d, "values")
    wrapper, metric, start, _, _, step_two = _ll_objects(make_model("digits-mlp", seed=0), X, y, d.vectors[0],
                                                         d.vectors[1], float(axes[1][1] - axes[1][0]))

    def ll_points(Cs):
        for _ in range(len(Cs)):
            start.add_(step_two)
            metric(wrapper)

    peaks: list = []
    contenders = {
        "losslens (fast)": fast,
        "loss-landscapes 3.0.6": ll_points,
        "plain functional_call loop": lambda Cs: plain_loop(obj.module, X, y, obj, d, Cs),
        "naive vmap over functional_call (chunks of 8)": lambda Cs: [values(c) for c in Cs.split(8)],
        "float32 matmul peak": lambda Cs: peaks.append(matmul_peak(a.threads)),
    }
    best, cpu = per_point_rounds(contenders, row, a.rounds)
    peak, peak_n, _ = max(peaks)
    peak_cpu = max(p[2] for p in peaks)
    diffs = {"losslens (fast)": 0.0, "loss-landscapes 3.0.6": even_diff,
             "plain functional_call loop": float((plain_loop(obj.module, X, y, obj, d, row) - fast(row)).abs().max()),
             "naive vmap over functional_call (chunks of 8)": float((values(row) - fast(row)).abs().max())}

    last_row = fast._workers[0].rows[0][1]       # the row state of the last row timed (None: plain matmuls)
    executed = executed_flops_per_point(len(X), a.grid, last_row.flips) if last_row is not None else nominal
    print(f"digits-mlp, N={len(X)}, {a.grid}x{a.grid} grid, float32, {a.threads} thread(s); matmul peak "
          f"{peak:.1f} GFLOP/s (n={peak_n}, best of the rounds); nominal forward {nominal / 1e6:.1f} MFLOP/point, "
          f"losslens executes {executed / 1e6:.1f} MFLOP/point ("
          f"{'ReLU pattern flips per row: ' + str(last_row.flips) if last_row is not None else 'plain matmuls'})\n")
    print(f"Whole grid: losslens {L.seconds:.2f} s ({L.seconds / P * 1e3:.3f} ms/point, setup included), with store "
          f"{Ls.seconds:.2f} s, loss-landscapes {ll_t:.2f} s ({ll_t / P * 1e3:.3f} ms/point). loss-landscapes' odd "
          f"grid rows are shifted by one step (its snaking loop): even rows differ from losslens by at most "
          f"{even_diff:.1e}, odd rows shifted back by one step by at most {odd_diff:.1e}.\n")
    print(f"Per point, best of {a.rounds} interleaved rounds of {len(row)} points:\n")
    print("| contender | ms / point | speed-up vs loss-landscapes | nominal GFLOP/s | % of matmul peak | "
          "CPU ms / point | speed-up (CPU) | % of peak (CPU) | max abs diff vs losslens |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    ll_s, ll_c = best["loss-landscapes 3.0.6"], cpu["loss-landscapes 3.0.6"]
    for name, secs in best.items():
        if name == "float32 matmul peak":
            continue
        gf = nominal / secs / 1e9
        gfc = nominal / (cpu[name] / a.threads) / 1e9
        print(f"| {name} | {secs * 1e3:.3f} | {ll_s / secs:.2f}x | {gf:.1f} | {100 * gf / peak:.0f}% | "
              f"{cpu[name] * 1e3:.3f} | {ll_c / cpu[name]:.2f}x | {100 * gfc / peak_cpu:.0f}% | {diffs[name]:.1e} |")
    gfe = executed / best["losslens (fast)"] / 1e9
    print(f"\nNominal GFLOP/s = the forward's three matmuls per point / time; above 100 % of peak means arithmetic was "
          f"skipped (first-layer identity, ReLU-pattern rows). losslens executed-FLOP rate: {gfe:.1f} GFLOP/s "
          f"({100 * gfe / peak:.0f}% of peak). Matmul peak by CPU time: {peak_cpu:.1f} GFLOP/s per "
          f"thread-normalised process. CPU columns use this process's CPU time (divided by the threads for GFLOP/s), "
          f"which excludes waiting for a core on a shared machine.")

    if not a.no_scaling:
        s = scaling(a.grid)
        print("\n| ranks (1 thread each) | grid s (best of 2) | speed-up | efficiency | identical values |")
        print("| ---: | ---: | ---: | ---: | --- |")
        print(f"| 1 | {s['one']:.2f} | 1.00x | 100% | - |")
        print(f"| 2 | {s['two']:.2f} | {s['one'] / s['two']:.2f}x | {50 * s['one'] / s['two']:.0f}% | "
              f"{'yes' if s['identical'] else 'NO'} |")


if __name__ == "__main__":
    main()
