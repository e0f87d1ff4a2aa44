"""Hessian-vector products at ResNet-18 size: losslens vs a plain ``torch.autograd`` double backward, and Lanczos
within a 4 GB budget.

Model: a BasicBlock ResNet-18 written here (no torchvision): conv3x3(64) + BN, four stages of two BasicBlocks
(64, 128, 256, 512 channels, stride 2 from the second stage), global average pooling, a 10-way linear head;
11.17M parameters, random weights (seed 0), eval mode (running BatchNorm statistics). Data: ``--batch`` random
CIFAR-shaped images [B, 3, 32, 32] with random labels, cross-entropy.

Measured, interleaved in rounds in one process (one thread), so machine load hits both sides alike:
* graph: seconds to record the gradient graph ``g = ∇f(x)`` with ``create_graph=True``
  (plain: ``torch.autograd.grad`` over the model's own parameters; losslens: ``obj.hvp_at(x)``);
* hvp: seconds per product ``H v`` (plain: ``torch.autograd.grad(g, params, v)``; losslens: the product of
  ``hvp_at``, which is what ``lanczos`` uses, vectors in and out float64 [n]);
* peak RSS growth of each side (measured in a fresh subprocess each, ``ru_maxrss``).
Then ``lanczos(top=1, bottom=1, memory=4 GB)`` with its HVPs, seconds, basis size, thick restarts and peak RSS.

    OMP_NUM_THREADS=1 python benchmarks/bench_curvature_scale.py [--batch 8] [--rounds 3] [--lanczos-hvps 60]
        [--skip-lanczos | --only-lanczos]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                      if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.short(x))


class ResNet18(nn.Module):
    def __init__(self, classes: int = 10, width: int = 64):
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv2d(3, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU())
        chans = [w, 2 * w, 4 * w, 8 * w]
        layers, cin = [], w
        for i, c in enumerate(chans):
            layers += [BasicBlock(cin, c, 1 if i == 0 else 2), BasicBlock(c, c, 1)]
            cin = c
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(cin, classes)

    def forward(self, x):
        return self.head(self.layers(self.stem(x)).mean((2, 3)))


def setup(batch: int, seed: int = 0):
    torch.manual_seed(seed)
    model = ResNet18().eval()
    with torch.no_grad():        # non-trivial running statistics, as after training
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(batch, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    return model, X, y


def plain_side(model, X, y):
    params = [p for p in model.parameters() if p.requires_grad]

    def graph():
        loss = F.cross_entropy(model(X), y)
        return torch.autograd.grad(loss, params, create_graph=True)

    def product(g, v):
        vs = v.to(torch.float32).split([p.numel() for p in params])
        vs = [t.view_as(p) for t, p in zip(vs, params)]
        hv = torch.autograd.grad(g, params, vs, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv]).to(torch.float64)

    return graph, product


def losslens_side(model, X, y):
    from losslens.model import ModelObjective

    obj = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), batch_size=len(X))
    return (lambda: obj.hvp_at(obj.x0)), (lambda apply, v: apply(v.to(torch.float32)).to(torch.float64)), obj


def timed(fn, *a):
    t = time.perf_counter()
    out = fn(*a)
    return out, time.perf_counter() - t


def peak_child(side: str, batch: int, lanczos_hvps: int) -> dict:
    """Run one side in a fresh process and report its peak RSS growth (bytes) and results."""
    out = subprocess.run([sys.executable, __file__, "--child", side, "--batch", str(batch),
                          "--lanczos-hvps", str(lanczos_hvps)], capture_output=True, text=True, timeout=7200)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def current_rss() -> int:
    """Resident bytes now (the growth above it up to ``ru_maxrss`` is what a side adds)."""
    import os

    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(side: str, batch: int, lanczos_hvps: int) -> None:
    torch.set_num_threads(1)
    model, X, y = setup(batch)
    base = current_rss()
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    res: dict = {}
    if side == "plain":
        graph, product = plain_side(model, X, y)
        g = graph()
        product(g, v)
        product(g, v)
    elif side == "losslens":
        graph, product, _ = losslens_side(model, X, y)
        apply = graph()
        product(apply, v)
        product(apply, v)
    else:
        from losslens.curvature import lanczos
        from losslens.model import ModelObjective

        obj = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), batch_size=len(X))
        t = time.perf_counter()
        r = lanczos(obj, obj.x0, top=1, bottom=1, memory=4 * 1024 ** 3, max_hvps=lanczos_hvps, seed=0)
        res = {"seconds": time.perf_counter() - t, "lambda_max": r.lambda_max, "lambda_min": r.lambda_min,
               "top_residual": float(r.top_residuals[0]), "bottom_residual": float(r.bottom_residuals[0]),
               "converged": r.converged, "hvps": r.hvps, "basis_size": r.basis_size,
               "thick_restarts": r.thick_restarts, "memory_used": r.memory_used, "memory": r.memory}
    res["peak_growth"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    print(json.dumps(res))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--products", type=int, default=3, help="HVPs timed per round and side")
    ap.add_argument("--lanczos-hvps", type=int, default=60)
    ap.add_argument("--skip-lanczos", action="store_true")
    ap.add_argument("--only-lanczos", action="store_true")
    ap.add_argument("--child", choices=["plain", "losslens", "lanczos"])
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.batch, a.lanczos_hvps)
    torch.set_num_threads(1)
    if a.only_lanczos:
        return report_lanczos(a)
    model, X, y = setup(a.batch)
    n = sum(p.numel() for p in model.parameters())
    print(f"ResNet-18 (BasicBlock, written here): n = {n:,} parameters, batch {a.batch} CIFAR-shaped random images, "
          f"eval mode, float32, 1 thread")
    pg, pp = plain_side(model, X, y)
    lg, lp, obj = losslens_side(model, X, y)
    gen = torch.Generator().manual_seed(1)
    v = torch.randn(n, generator=gen, dtype=torch.float64)
    times = {"plain graph": [], "losslens graph": [], "plain hvp": [], "losslens hvp": []}
    err = 0.0
    for r in range(a.rounds):
        g, tp = timed(pg)
        apply, tl = timed(lg)
        times["plain graph"].append(tp)
        times["losslens graph"].append(tl)
        for _ in range(a.products):
            hp, t1 = timed(pp, g, v)
            hl, t2 = timed(lp, apply, v)
            times["plain hvp"].append(t1)
            times["losslens hvp"].append(t2)
            err = max(err, float((hp - hl).norm() / hp.norm()))
        del g, apply
    med = {k: sorted(t)[len(t) // 2] for k, t in times.items()}
    print(f"{'':24}{'plain autograd':>16}{'losslens':>12}{'ratio':>8}")
    for what in ("graph", "hvp"):
        p, l = med[f"plain {what}"], med[f"losslens {what}"]
        print(f"{'seconds per ' + what:24}{p:16.3f}{l:12.3f}{l / p:8.2f}")
    ratios = [l / p for p, l in zip(times["plain hvp"], times["losslens hvp"])]
    print(f"per-product ratios (interleaved): median {sorted(ratios)[len(ratios) // 2]:.2f}, "
          f"max {max(ratios):.2f}; relative difference of the products {err:.1e}")
    peaks = {s: peak_child(s, a.batch, a.lanczos_hvps)["peak_growth"] for s in ("plain", "losslens")}
    print(f"{'peak RSS growth (GB)':24}{peaks['plain'] / 1e9:16.2f}{peaks['losslens'] / 1e9:12.2f}"
          f"{peaks['losslens'] / max(peaks['plain'], 1):8.2f}")
    if not a.skip_lanczos:
        report_lanczos(a)


def report_lanczos(a) -> None:
    res = peak_child("lanczos", a.batch, a.lanczos_hvps)
    gb = 1024 ** 3
    print(f"lanczos top-1/bottom-1, memory=4 GB: λ_max {res['lambda_max']:.6g} (residual {res['top_residual']:.2g}), "
          f"λ_min {res['lambda_min']:.6g} (residual {res['bottom_residual']:.2g}), converged {res['converged']}, "
          f"{res['hvps']} HVPs in {res['seconds']:.0f} s, basis {res['basis_size']} vectors, "
          f"{res['thick_restarts']} thick restarts, vectors {res['memory_used'] / gb:.2f} GB <= {res['memory'] / gb:.0f} GB, "
          f"peak RSS growth {res['peak_growth'] / gb:.2f} GB")


if __name__ == "__main__":
    main()
