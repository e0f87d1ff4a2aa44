"""51x51 filter-normalised landscape of the digits MLP (64-128-128-10, all 1797 images, float32), per grid point:
losslens vs loss-landscapes 3.0.6 vs a plain sequential functional_call loop vs a naive vmap; achieved FLOP/s as a
fraction of this machine's float32 matmul peak measured in the same run; 2 gloo ranks vs 1 (one thread per rank).

Run: .venv/bin/python benchmarks/bench_landscape.py [--grid 51] [--threads N] [--no-scaling]
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


def matmul_peak(threads: int, repeat: int = 5) -> tuple[float, int]:
    """Best float32 GFLOP/s of square matmuls (sizes 256..2048) with this process's threads: (GFLOP/s, size)."""
    best = (0.0, 0)
    for n in (256, 512, 1024, 2048):
        A, B = torch.randn(n, n), torch.randn(n, n)
        A @ B
        times = []
        for _ in range(repeat if n >= 1024 else 20):
            t = time.perf_counter()
            A @ B
            times.append(time.perf_counter() - t)
        g = 2 * n ** 3 / min(times) / 1e9
        best = max(best, (g, n))
    return best


def flops_per_point(N: int, sizes=(64, 128, 128, 10)) -> tuple[float, float]:
    """(nominal forward FLOPs, FLOPs losslens executes per point: the first layer's product is formed once)."""
    mm = [2 * N * a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return float(sum(mm)), float(sum(mm[1:]))


def loss_landscapes_plane(model, X, y, d1, d2, axes) -> tuple[np.ndarray, float]:
    """loss-landscapes 3.0.6's per-point method (`random_plane`'s loop) on our directions: the model's parameters are
    moved in place by ModelParameters.add_/sub_ and `metrics.Loss` runs a plain forward, snaking through the grid.
    The start is placed so that its first step lands on (axes[0][0], axes[1][0])."""
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

    g = len(axes[0])
    h = float(axes[1][1] - axes[1][0])
    step_one, step_two = as_params(d1 * h), as_params(d2 * h)
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


def plain_loop(model, X, y, obj, d, C) -> tuple[torch.Tensor, float]:
    """One `functional_call` forward per point at θ₀ + α d₁ + β d₂ (no batching, no structure)."""
    loss = nn.CrossEntropyLoss()
    names = [b for b in obj.layout]
    out = torch.empty(len(C))
    t = time.perf_counter()
    with torch.no_grad():
        for p, (a, b) in enumerate(C.tolist()):
            theta = d.origin + a * d.vectors[0] + b * d.vectors[1]
            params = {blk.name: theta[blk.offset:blk.offset + blk.numel].view(blk.shape) for blk in names}
            out[p] = loss(functional_call(model, params, (X,)), y)
    return out, time.perf_counter() - t


def scaling(grid: int) -> dict:
    """`losslens landscape` on 1 and 2 gloo ranks, one thread per rank; evaluation seconds as reported by each run."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    args = ["-m", "losslens", "landscape", "--model", "digits-mlp", "--split", "all", "--grid", str(grid), "--json"]
    one = json.loads(subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                                    check=True).stdout)
    two = json.loads(subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2",
                                     "--master-port=29544", *args], env=env, capture_output=True, text=True,
                                    check=True).stdout)
    return {"one": one["seconds"], "two": two["seconds"], "identical": one["values"] == two["values"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", type=int, default=51)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--vmap-points", type=int, default=256, help="points timed for the naive vmap path")
    ap.add_argument("--no-scaling", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    data = digits(seed=0)
    X = torch.cat([data.X_train, data.X_test])
    y = torch.cat([data.y_train, data.y_test])
    model = make_model("digits-mlp", seed=0)
    obj = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), label="digits-mlp")
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    axes = grid_axes(2, a.grid, (-1.0, 1.0))
    C = grid_coefficients(axes)
    P = len(C)
    nominal, executed = flops_per_point(len(X))
    peak, peak_n = matmul_peak(a.threads)

    rows = []
    L = evaluate(obj, d, a.grid, (-1.0, 1.0), method="fast")
    ref = L.values.reshape(-1)
    rows.append(("losslens (fast)", L.seconds, 0.0))
    with tempfile.TemporaryDirectory() as tmp:
        Ls = evaluate(obj, d, a.grid, (-1.0, 1.0), method="fast", out=Path(tmp) / "store")
    rows.append(("losslens (fast, with store)", Ls.seconds, float((Ls.values.reshape(-1) - ref).abs().max())))

    try:
        ll_vals, ll_t = loss_landscapes_plane(make_model("digits-mlp", seed=0), X, y, d.vectors[0], d.vectors[1],
                                              axes)
    except ImportError:
        sys.exit("loss-landscapes is not installed: pip install -e '.[bench]'")
    even = torch.from_numpy(ll_vals[0::2]).float()
    rows.append(("loss-landscapes 3.0.6", ll_t, float((even - L.values[0::2]).abs().max())))

    pl_vals, pl_t = plain_loop(obj.module, X, y, obj, d, C)
    rows.append(("plain functional_call loop", pl_t, float((pl_vals - ref).abs().max())))

    m = min(a.vmap_points, P)
    t = time.perf_counter()
    vm = evaluate(obj, d, a.grid, (-1.0, 1.0), method="values", chunk=m) if m == P else None
    if vm is None:
        from losslens.landscape.evaluators import make_evaluator

        ev = make_evaluator(obj, d, "values")
        t = time.perf_counter()
        vv = torch.cat([ev(c) for c in C[:m].split(8)])
        vm_t = (time.perf_counter() - t) * P / m
        vm_diff = float((vv - ref[:m]).abs().max())
    else:
        vm_t, vm_diff = time.perf_counter() - t, float((vm.values.reshape(-1) - ref).abs().max())
    rows.append((f"naive vmap over functional_call ({m} points, scaled)", vm_t, vm_diff))

    print(f"digits-mlp, N={len(X)}, {a.grid}x{a.grid} grid, float32, {a.threads} thread(s); "
          f"matmul peak {peak:.1f} GFLOP/s (n={peak_n}); nominal forward {nominal / 1e6:.1f} MFLOP/point, "
          f"losslens executes {executed / 1e6:.1f} MFLOP/point\n")
    print("| contender | grid s | ms / point | vs loss-landscapes | nominal GFLOP/s | % of matmul peak | "
          "max abs diff vs losslens |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    ll_ms = ll_t / P * 1e3
    for name, secs, diff in rows:
        ms = secs / P * 1e3
        gf = nominal * P / secs / 1e9
        print(f"| {name} | {secs:.2f} | {ms:.3f} | {ll_ms / ms:.2f}x | {gf:.1f} | {100 * gf / peak:.0f}% | "
              f"{diff:.1e} |")
    gfe = executed * P / L.seconds / 1e9
    print(f"\nlosslens executed-FLOP rate: {gfe:.1f} GFLOP/s ({100 * gfe / peak:.0f}% of peak). loss-landscapes' odd "
          f"grid rows are shifted by one step (its snaking loop), so only even rows are compared.")
    odd = torch.from_numpy(ll_vals[1::2]).float()
    shifted = L.values[1::2, :-1]
    print(f"odd rows vs losslens shifted one step: max abs diff {float((odd[:, 1:] - shifted).abs().max()):.1e}")

    if not a.no_scaling:
        s = scaling(a.grid)
        print("\n| ranks (1 thread each) | grid s | speed-up | efficiency | identical values |")
        print("| ---: | ---: | ---: | ---: | --- |")
        print(f"| 1 | {s['one']:.2f} | 1.00x | 100% | - |")
        print(f"| 2 | {s['two']:.2f} | {s['one'] / s['two']:.2f}x | {50 * s['one'] / s['two']:.0f}% | "
              f"{'yes' if s['identical'] else 'NO'} |")


if __name__ == "__main__":
    main()
