"""Hessian extremes and trace on models nobody here tuned for: losslens vs PyHessian, curvlinops, hessian-eigenthings.

Models (written here, float32, random weights, seed 0), each on 64 random samples:
* ``resnet-eval`` / ``resnet-train``: a BasicBlock ResNet with BatchNorm (stem 3->4 channels, stages of 4 and 8
  channels, one BasicBlock each, 3x8x8 inputs, 10 classes), eval mode (running statistics) and train mode (batch
  statistics over the 64 samples);
* ``transformer``: one ``nn.TransformerEncoderLayer`` (d=16, 2 heads, ff 32, dropout 0.1) on sequences of 6 tokens
  with a mean-pooled linear head, eval mode; ``transformer-train``: the same in train mode, dropout active (losslens
  fixes the masks per batch from its seed; its run is repeated on a fresh objective and the note says whether the
  two runs' eigenvalues are identical; the peers draw new masks on every product);
* ``lstm``: ``nn.LSTM`` (4 -> 16) over 8 steps with a linear head on the last state, eval mode.

Truth: the dense float64 Hessian of the same loss at the same parameters (double-backward columns, ``eigvalsh``,
``trace``). Each tool computes the 2 largest and the 2 smallest eigenvalues and the trace (Hutch++ / Hutchinson
with ~99 products) with its own defaults; reported per tool: relative error of each eigenvalue (|λ − λ*| / max|λ*|),
relative trace error, HVPs (counted at each tool's product function) and seconds. "n/a" = the tool has no such
computation (PyHessian finds the largest eigenvalues only; it also switches the model to eval mode, so it cannot
measure train mode); "error: ..." = the tool raised.

    OMP_NUM_THREADS=1 python benchmarks/bench_curvature_models.py [--models resnet-eval,lstm]
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SAMPLES = 64


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                      if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))) + self.short(x))


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
        self.blocks = nn.Sequential(Block(4, 4, 1), Block(4, 8, 2))
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean((2, 3)))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, batch_first=True)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        return self.head(self.enc(x).mean(1))


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(4, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


def make(name: str):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if name.startswith("resnet"):
        model, X, classes = SmallResNet(), torch.randn(SAMPLES, 3, 8, 8, generator=g), 10
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.normal_(0, 0.1, generator=g)
                    m.running_var.uniform_(0.5, 1.5, generator=g)
    elif name.startswith("transformer"):
        model, X, classes = Encoder(), torch.randn(SAMPLES, 6, 16, generator=g), 5
    else:
        model, X, classes = Recurrent(), torch.randn(SAMPLES, 8, 4, generator=g), 3
    y = torch.randint(0, classes, (SAMPLES,), generator=g)
    mode = "train" if name.endswith("train") else "eval"
    model.train(mode == "train")
    return model, X, y, mode


def truth(model, X, y, mode):
    from losslens.model import ModelObjective

    obj = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), mode=mode, dtype=torch.float64)
    H = obj.hessian(obj.x0)
    eig = torch.linalg.eigvalsh(H)
    return {"top": eig.flip(0)[:2].tolist(), "bottom": eig[:2].tolist(), "trace": float(H.trace()), "n": obj.n,
            "scale": float(eig.abs().max())}


def run_losslens(model, X, y, mode):
    from losslens.curvature import HessianOperator, hutch_plus_plus, lanczos
    from losslens.model import ModelObjective

    obj = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), mode=mode)
    op = HessianOperator(obj, obj.x0)
    r = lanczos(op, top=2, bottom=2, seed=0)
    tr = hutch_plus_plus(op, hvps=99, seed=0)
    note = f"trace 95% interval [{tr.ci_low:.4g}, {tr.ci_high:.4g}]"
    if mode == "train":       # the same call on a fresh objective: a deterministic function of x gives equal numbers
        fresh = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), mode=mode)
        again = lanczos(fresh, fresh.x0, top=2, bottom=2, seed=0)
        same = torch.equal(again.top_values, r.top_values) and torch.equal(again.bottom_values, r.bottom_values)
        note += f"; a second run: eigenvalues {'identical' if same else 'DIFFERENT'}"
    return {"top": r.top_values.tolist(), "bottom": r.bottom_values.tolist(), "trace": tr.estimate,
            "hvps": op.hvps, "note": note}


def run_pyhessian(model, X, y, mode):
    if mode == "train":
        return "n/a (PyHessian sets the model to eval mode)"
    import pyhessian

    mod = sys.modules["pyhessian.hessian"]
    count = [0]
    orig = mod.hessian_vector_product

    def counted(gradsH, params, v):
        count[0] += 1
        return orig(gradsH, params, v)

    mod.hessian_vector_product = counted
    try:
        torch.manual_seed(0)
        h = pyhessian.hessian(model, nn.CrossEntropyLoss(), data=(X, y), cuda=False)
        top, _ = h.eigenvalues(top_n=2)
        tr = float(np.mean(h.trace()))
    finally:
        mod.hessian_vector_product = orig
    return {"top": sorted(top, reverse=True), "bottom": None, "trace": tr, "hvps": count[0]}


def run_curvlinops(model, X, y, mode):
    from curvlinops import HessianLinearOperator, hutchpp_trace
    from scipy.sparse.linalg import LinearOperator, eigsh

    params = [p for p in model.parameters() if p.requires_grad]
    H = HessianLinearOperator(model, nn.CrossEntropyLoss(), params, [(X, y)])
    count = [0]
    orig = H._matmat

    def counted(Xs):
        count[0] += Xs[0].shape[-1]
        return orig(Xs)

    H._matmat = counted
    S = H.to_scipy()
    L = LinearOperator(S.shape, matvec=S.matvec, dtype=np.float32)
    top = eigsh(L, k=2, which="LA", return_eigenvectors=False)
    bottom = eigsh(L, k=2, which="SA", return_eigenvectors=False)
    torch.manual_seed(0)
    tr = float(hutchpp_trace(H, num_matvecs=99))
    return {"top": sorted(top.tolist(), reverse=True), "bottom": sorted(bottom.tolist()), "trace": tr,
            "hvps": count[0]}


def run_eigenthings(model, X, y, mode):
    import hessian_eigenthings as he

    op = he.HessianOperator(model, [(X, y)], he.supervised_loss(nn.CrossEntropyLoss()))
    count = [0]
    orig = op.matvec

    def counted(v):
        count[0] += 1
        return orig(v)

    op.matvec = counted
    top = he.lanczos(op, k=2, which="LA", seed=0)
    bottom = he.lanczos(op, k=2, which="SA", seed=0)
    tr = he.hutch_plus_plus(op, num_matvecs=99, seed=0)
    return {"top": sorted(top.eigenvalues.tolist(), reverse=True), "bottom": sorted(bottom.eigenvalues.tolist()),
            "trace": float(tr.estimate), "hvps": count[0]}


TOOLS = {"losslens": run_losslens, "PyHessian": run_pyhessian, "curvlinops": run_curvlinops,
         "hessian-eigenthings": run_eigenthings}


def errors(res, t) -> str:
    if isinstance(res, str):
        return res
    rel = lambda a, b: abs(a - b) / t["scale"]
    top = "  ".join(f"{rel(a, b):.1e}" for a, b in zip(res["top"], t["top"]))
    bottom = ("n/a" if res["bottom"] is None
              else "  ".join(f"{rel(a, b):.1e}" for a, b in zip(res["bottom"], t["bottom"])))
    trace = abs(res["trace"] - t["trace"]) / max(abs(t["trace"]), 1e-300)
    return (f"top {top:<18} bottom {bottom:<18} trace {trace:.1e} ({res['trace']:.4g})  {res['hvps']:>5} HVPs  "
            f"{res['seconds']:6.2f} s" + (f"  {res['note']}" if "note" in res else ""))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet-eval,resnet-train,transformer,transformer-train,lstm")
    ap.add_argument("--tools", default=",".join(TOOLS))
    a = ap.parse_args()
    torch.set_num_threads(1)
    for name in a.models.split(","):
        model, X, y, mode = make(name)
        t = truth(model, X, y, mode)
        print(f"\n{name}: n = {t['n']}, {SAMPLES} samples, mode {mode}; dense float64: top {t['top'][0]:.6g}, "
              f"{t['top'][1]:.6g}; bottom {t['bottom'][0]:.6g}, {t['bottom'][1]:.6g}; trace {t['trace']:.6g}")
        for tool in a.tools.split(","):
            m = copy.deepcopy(model)      # every tool gets the same model in the same mode
            start = time.perf_counter()
            try:
                res = TOOLS[tool](m, X, y, mode)
                if isinstance(res, dict):
                    res["seconds"] = time.perf_counter() - start
            except Exception as err:      # a peer failing is a result, reported in one line
                first = str(err).strip().splitlines()[0] if str(err).strip() else ""
                res = f"error: {type(err).__name__}: {first[:110]}"
            print(f"  {tool:<20} {errors(res, t)}")


if __name__ == "__main__":
    main()
