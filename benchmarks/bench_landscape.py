"""Loss-landscape grids per point: losslens vs loss-landscapes 3.0.6 vs a plain per-point functional_call loop vs
vmap over 8 points at a time, side by side in one process, on four models (float32, cross-entropy, the same model,
data and filter-normalised directions (seed 0) for every contender):

* ``mlp``      digits MLP 64-128-128-10 ReLU, all 1797 digits, 51x51 grid (the ReLU-pattern row path)
* ``cnn``      the zoo's ``digits-cnn`` (two 3x3 convolutions, max-pooling), all 1797 digits, 21x21 grid
* ``resnet``   BasicBlock ResNet with BatchNorm (``losslens.zoo.ResNet(3, (8, 16), 10)``, 5266 parameters) on 128
               CIFAR-shaped samples (3x32x32, seeded Gaussian), 11x11 grid; BatchNorm in ``eval`` mode, and
  ``resnet-train`` the same with batch statistics (each point normalises with its own statistics over the 128)
* ``ln-mlp``   LayerNorm MLP 64-128-LN-ReLU-128-LN-ReLU-10 on all digits, 51x51 grid

Run (one thread, the figures in docs/benchmarks.md):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_landscape.py --threads 1

Options: ``--models mlp,cnn,resnet,resnet-train,ln-mlp`` ``--rounds 7`` ``--no-scaling`` ``--no-grid``; ``--widths
128,256,512`` runs only the ReLU-rows-vs-plain table (the data behind ``relu_rows.worth_it``). loss-landscapes
comes from the ``bench`` extra (``pip install -e ".[bench]"``).

How to read the output. Per model, the contenders evaluate the same points (the two middle rows of the grid) in
interleaved rounds: round r runs every contender once, one after another, so a load spike from other processes hits
them alike; each contender's figure is its best round (wall time) and its best round of process CPU time (which
excludes waiting for a core). The ratio columns divide loss-landscapes' time by the contender's. With other work on
the machine, trust the ratios more than the absolute times; the load average (1 min) is printed at the start and end
of every model's rounds. "% of peak" = the forward's nominal FLOPs (torch's FlopCounterMode: convolutions and matmuls,
skipped arithmetic counted as done) per second, over the best conv/matmul FLOP rate this process reached in the same
rounds. "peak MiB" = the highest resident memory during a contender's round above the memory before it (Linux
VmHWM, reset per round). "faults/pt" = minor page faults per point (fresh memory touched). "max rel diff" = largest
|value − plain loop| / |plain loop| over the timed points. The scaling table runs ``evaluate`` on the ResNet grid in
1 and 2 gloo ranks (torchrun, one thread each) and reports the best of 2 and whether the values are identical.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from losslens.datasets import digits
from losslens.landscape import evaluate, gaussian
from losslens.landscape.choose import make_evaluator
from losslens.landscape.fusion import ConvPointwise
from losslens.landscape.grid import grid_axes, grid_coefficients
from losslens.model import ModelObjective
from losslens.zoo import ResNet, make_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("mlp", "cnn", "resnet", "resnet-train", "ln-mlp")
GRID = {"mlp": 51, "cnn": 21, "resnet": 11, "resnet-train": 11, "ln-mlp": 51}


def build(name: str) -> tuple[ModelObjective, torch.Tensor, torch.Tensor]:
    """(objective, inputs, targets) of a benchmark model, float32, seed 0."""
    if name.startswith("resnet"):
        g = torch.Generator().manual_seed(0)
        X, y = torch.randn(128, 3, 32, 32, generator=g), torch.randint(0, 10, (128,), generator=g)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = ResNet(3, (8, 16), 10)
        mode = "train" if name.endswith("train") else "eval"
    else:
        data = digits(seed=0)
        X, y = torch.cat([data.X_train, data.X_test]), torch.cat([data.y_train, data.y_test])
        mode = "eval"
        if name == "ln-mlp":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                net = nn.Sequential(nn.Linear(64, 128), nn.LayerNorm(128), nn.ReLU(), nn.Linear(128, 128),
                                    nn.LayerNorm(128), nn.ReLU(), nn.Linear(128, 10))
        else:
            net = make_model({"mlp": "digits-mlp", "cnn": "digits-cnn"}[name], seed=0)
    return ModelObjective(net, nn.CrossEntropyLoss(), (X, y), mode=mode, label=name, distributed=False), X, y


def peaks(threads: int) -> float:
    """The best float32 GFLOP/s of this process over square matmuls (n = 256..1024) and 3x3 convolutions (64 and 16
    channels, channels-last and contiguous)."""
    best = 0.0
    for n in (256, 512, 1024):
        A, B = torch.randn(n, n), torch.randn(n, n)
        A @ B
        t = min(_timed(lambda: A @ B) for _ in range(5))
        best = max(best, 2 * n ** 3 / t / 1e9)
    for N, C, H in ((32, 64, 32), (128, 16, 16)):
        for fmt in (torch.channels_last, torch.contiguous_format):
            x = torch.randn(N, C, H, H).contiguous(memory_format=fmt)
            w = torch.randn(C, C, 3, 3).contiguous(memory_format=fmt)
            nn.functional.conv2d(x, w, padding=1)
            t = min(_timed(lambda: nn.functional.conv2d(x, w, padding=1)) for _ in range(3))
            best = max(best, 2 * N * H * H * C * C * 9 / t / 1e9)
    return best


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def nominal_flops(obj: ModelObjective) -> float:
    """FLOPs of one plain forward over all the objective's data (convolutions and matmuls)."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        obj.value(obj.x0)
    return float(counter.get_total_flops())


def _memory() -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB."""
    text = Path("/proc/self/status").read_text()
    return tuple(int(re.search(k + r":\s+(\d+)", text).group(1)) for k in ("VmRSS", "VmHWM"))


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _ll_objects(model, X, y, d1, d2, h: float):
    """loss-landscapes' own objects: the wrapped model, its Loss metric, the start parameters, and the two steps."""
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
    g1, g2 = len(axes[0]), len(axes[1])
    h = float(axes[1][1] - axes[1][0])
    wrapper, metric, start, as_params, step_one, step_two = _ll_objects(model, X, y, d1, d2, h)
    start.add_(as_params(d1 * float(axes[0][0]) + d2 * (float(axes[1][0]) - h)))
    step_one = as_params(d1 * float(axes[0][1] - axes[0][0]))
    t = time.perf_counter()
    rows = []
    for i in range(g1):
        col = []
        for _ in range(g2):
            if i % 2 == 0:
                start.add_(step_two)
                col.append(metric(wrapper))
            else:
                start.sub_(step_two)
                col.insert(0, metric(wrapper))
        rows.append(col)
        start.add_(step_one)
    return np.array(rows), time.perf_counter() - t


def rounds(contenders: dict, C: torch.Tensor, n: int) -> dict:
    """Per contender: best wall and CPU seconds per point over ``n`` interleaved rounds, peak MiB, faults per point,
    and its values on ``C`` from the last round (None when it does not return them)."""
    out = {k: {"wall": float("inf"), "cpu": float("inf"), "mib": 0.0, "faults": float("inf"), "values": None}
           for k in contenders}
    for _ in range(n):
        for name, fn in contenders.items():
            _reset_peak()
            rss0 = _memory()[0]
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t, c = time.perf_counter(), time.process_time()
            vals = fn(C)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            r = out[name]
            r["wall"], r["cpu"] = min(r["wall"], wall / len(C)), min(r["cpu"], cpu / len(C))
            r["faults"] = min(r["faults"], (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / len(C))
            r["mib"] = max(r["mib"], (_memory()[1] - rss0) / 1024)
            r["values"] = vals
    return out


def load() -> str:
    return "load avg %.2f %.2f %.2f" % os.getloadavg()


def bench_model(name: str, threads: int, n_rounds: int, whole_grid: bool) -> dict:
    obj, X, y = build(name)
    g = GRID[name]
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    axes = grid_axes(2, g, (-1.0, 1.0))
    C = grid_coefficients(axes)
    row = C[(g // 2 - 1) * g:(g // 2 + 1) * g]
    fast = make_evaluator(obj, d, "fast", axis=axes[1])
    loop, vmapped = make_evaluator(obj, d, "loop"), make_evaluator(obj, d, "values")
    wrapper, metric, start, _, _, step_two = _ll_objects(copy.deepcopy(obj.module), X, y, d.vectors[0],
                                                         d.vectors[1], float(axes[1][1] - axes[1][0]))

    def ll_points(Cs):
        for _ in range(len(Cs)):
            start.add_(step_two)
            metric(wrapper)

    best_peak: list[float] = []
    contenders = {
        "losslens (fast)": fast,
        "loss-landscapes 3.0.6": ll_points,
        "plain functional_call loop": loop,
        "vmap over 8 points (values)": lambda Cs: torch.cat([vmapped(c) for c in Cs.split(8)]),
        "conv/matmul peak": lambda Cs: best_peak.append(peaks(threads)),
    }
    flops = nominal_flops(obj)
    load0 = load()
    res = rounds(contenders, row, n_rounds)
    load1 = load()
    peak = max(best_peak)
    ref = res["plain functional_call loop"]["values"]
    ll = res["loss-landscapes 3.0.6"]

    info = f"evaluator path {fast.path}"
    if fast.path == "network":
        info += f", first layer {fast.first_layer!r} ({'precomputed' if fast.tables is not None else 'not precomputed'})"
        info += f", {'channels-last' if fast.channels_last else 'contiguous'} activations"
        if fast.stem is not None:
            stem = "statistics from the tables' Grams" if fast.stem[2] is not None else "folded into the tables"
            info += f", stem BatchNorm {stem}"
        if fast.fused:
            calls = sum(isinstance(m, ConvPointwise) for m in fast._worker(0).fused.modules())
            info += f", fused graph ({calls} convolutions with their ReLU or residual sum in one call)"
    print(f"\n### {name}: {obj.n} parameters, N = {obj.num_samples}, {g}x{g} grid, mode {obj.mode}, {threads} "
          f"thread(s); {info}")
    print(f"nominal forward {flops / 1e6:.1f} MFLOP/point; best conv/matmul rate in these rounds {peak:.1f} GFLOP/s; "
          f"{n_rounds} interleaved rounds over {len(row)} points; {load0} before, {load1} after\n")
    print("| contender | ms / point | speed-up vs loss-landscapes | CPU ms / point | speed-up (CPU) | % of peak | "
          "peak MiB | faults / pt | max rel diff vs plain loop |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k, r in res.items():
        if k == "conv/matmul peak":
            continue
        diff = "-" if r["values"] is None else f"{float(((r['values'] - ref).abs() / ref.abs()).max()):.1e}"
        print(f"| {k} | {r['wall'] * 1e3:.3f} | {ll['wall'] / r['wall']:.2f}x | {r['cpu'] * 1e3:.3f} | "
              f"{ll['cpu'] / r['cpu']:.2f}x | {100 * flops / r['wall'] / 1e9 / peak:.0f}% | {r['mib']:.1f} | "
              f"{r['faults']:.0f} | {diff} |")
    out = {"speedup": ll["wall"] / res["losslens (fast)"]["wall"]}
    if whole_grid:
        L = evaluate(obj, d, g, (-1.0, 1.0), method="fast")
        ll_vals, ll_t = loss_landscapes_plane(copy.deepcopy(obj.module), X, y, d.vectors[0], d.vectors[1], axes)
        ll_vals = torch.from_numpy(ll_vals).to(L.values.dtype)
        even = float(((ll_vals[0::2] - L.values[0::2]).abs() / L.values[0::2].abs()).max())
        odd = float(((ll_vals[1::2, 1:] - L.values[1::2, :-1]).abs() / L.values[1::2, :-1].abs()).max())
        print(f"\nWhole grid ({len(C)} points, {load()}): losslens `evaluate` {L.seconds:.2f} s (evaluator "
              f"{L.evaluator}, setup included), loss-landscapes {ll_t:.2f} s ({ll_t / L.seconds:.2f}x). Max relative "
              f"difference to loss-landscapes: even rows {even:.1e}, odd rows (its snaking loop moves before it "
              f"evaluates: shifted back one step) {odd:.1e}.")
    return out


def rows_vs_plain(widths: list[int], n_rounds: int) -> None:
    """The ReLU-row path against plain matmuls on 64-h-h-10 ReLU MLPs (all digits, float32, the two middle rows of a
    51x51 grid, interleaved rounds), next to ``relu_rows.worth_it``'s choice: the data behind its cost constants."""
    from losslens.landscape import relu_rows

    data = digits(seed=0)
    X, y = torch.cat([data.X_train, data.X_test]), torch.cat([data.y_train, data.y_test])
    print(f"\n### ReLU rows vs plain matmuls (64-h-h-10 MLPs, N = {len(X)}; {load()})\n")
    print("| h | rows ms / point | plain ms / point | rows / plain | flips per row | worth_it |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    for h in widths:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = nn.Sequential(nn.Linear(64, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 10))
        obj = ModelObjective(net, nn.CrossEntropyLoss(), (X, y), dtype=torch.float32)
        d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
        axes = grid_axes(2, 51, (-1.0, 1.0))
        row = grid_coefficients(axes)[24 * 51:26 * 51]
        chosen = relu_rows.worth_it
        relu_rows.worth_it = lambda *args: True
        try:
            rows = make_evaluator(obj, d, "fast", axis=axes[1])
            rows(row[:1])
        finally:
            relu_rows.worth_it = chosen
        plain = make_evaluator(obj, d, "fast")
        flips = rows._workers[0].rows[0][1].flips
        res = rounds({"rows": rows, "plain": plain}, row, n_rounds)
        r, q = res["rows"]["wall"], res["plain"]["wall"]
        print(f"| {h} | {r * 1e3:.3f} | {q * 1e3:.3f} | {r / q:.2f} | {flips} | {chosen(len(X), h, h, 51, flips)} |")


def worker(name: str) -> None:
    """One rank of the scaling run (under torchrun, or alone): the model's grid through `evaluate`."""
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("gloo")
    obj, _, _ = build(name)
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    L = evaluate(obj, d, GRID[name], (-1.0, 1.0), method="fast")
    if L.world_size == 1 or dist.get_rank() == 0:
        print(json.dumps({"seconds": L.seconds, "values": L.values.tolist(), "evaluator": L.evaluator,
                          "world_size": L.world_size}))
    if L.world_size > 1:
        dist.barrier()
        dist.destroy_process_group()


def scaling(name: str, repeat: int = 2) -> dict:
    """The model's grid on 1 and 2 gloo ranks, one thread per rank, alternating ``repeat`` times; the best
    evaluation seconds reported by each (process start-up, imports and data loading excluded)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    me = [str(Path(__file__).resolve()), "--worker", name]
    runs = {"one": [sys.executable, *me],
            "two": [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", *me]}
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
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated, from " + ", ".join(MODELS))
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds over two grid rows")
    ap.add_argument("--no-scaling", action="store_true", help="skip the 1 vs 2 ranks ResNet run")
    ap.add_argument("--no-grid", action="store_true", help="skip the whole-grid runs")
    ap.add_argument("--widths", help="only the ReLU rows vs plain matmuls table, on 64-h-h-10 MLPs: e.g. 128,256,512")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)      # tables appear as they are measured, also into a file
    if a.worker:
        worker(a.worker)
        return
    if a.widths:
        torch.set_num_threads(a.threads)
        rows_vs_plain([int(w) for w in a.widths.split(",")], a.rounds)
        return
    models = [m for m in a.models.split(",") if m]
    bad = [m for m in models if m not in MODELS]
    if bad:
        sys.exit(f"--models: unknown {bad[0]!r}; choose from {', '.join(MODELS)}")
    torch.set_num_threads(a.threads)
    try:
        import loss_landscapes  # noqa: F401
    except ImportError:
        sys.exit("loss-landscapes is not installed: pip install -e '.[bench]'")
    print(f"# bench_landscape: torch {torch.__version__}, {os.cpu_count()} CPUs, {a.threads} thread(s), "
          f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {load()}")
    summary = {m: bench_model(m, a.threads, a.rounds, not a.no_grid) for m in models}
    if not a.no_scaling:
        s = scaling("resnet")
        print(f"\n### ResNet grid on gloo ranks (one thread each; {load()})\n")
        print("| ranks | grid s (best of 2) | speed-up | efficiency | identical values |")
        print("| ---: | ---: | ---: | ---: | --- |")
        print(f"| 1 | {s['one']:.2f} | 1.00x | 100% | - |")
        print(f"| 2 | {s['two']:.2f} | {s['one'] / s['two']:.2f}x | {50 * s['one'] / s['two']:.0f}% | "
              f"{'yes' if s['identical'] else 'NO'} |")
    print("\nSpeed-up of losslens over loss-landscapes per point (wall, best round): " +
          ", ".join(f"{m} {v['speedup']:.2f}x" for m, v in summary.items()) + f"; {load()}")


if __name__ == "__main__":
    main()
