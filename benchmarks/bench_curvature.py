"""Curvature of digits networks: losslens vs PyHessian 0.1 (pip, installed without dependencies) and scipy eigsh.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_curvature.py [--seeds 20] [--coverage 200] [--quick]

Same model, data and seed for every method. Points: the digits MLPs at initialisation and after 300 Adam steps.
Prints markdown tables:
1. top eigenvalue: HVPs until the estimate is within 1e-3 / 1e-6 relative error (oracle count on the estimate
   after each product), and each method's own stop (HVPs, error). float64 throughout so 1e-6 is meaningful.
2. smallest eigenvalue: HVPs until its sign is certain (losslens: a Ritz value < -zero_tol is a Rayleigh quotient)
   and until converged; scipy eigsh(k=1, which="SA") on the same operator.
3. trace at 100 HVPs on digits-small-mlp (dense Hessian truth): mean relative error over seeds of Hutch++
   (adaptive) vs PyHessian's Hutchinson; coverage of the 95 % interval over many seeds.
4. cost: one HVP vs one gradient; gradient-flow hooks vs a plain training step.
5. PyHessian behaviour: model mode and .grad after use, density(), a model with an unused parameter.
"""
from __future__ import annotations

import argparse
import copy
import math
import time

import numpy as np
import torch
from torch import nn

from losslens import ModelObjective, digits, make_model
from losslens.curvature import HessianOperator, hutch_plus_plus, hutchinson, lanczos
from losslens.diagnose.gradflow import GradientFlowMonitor
from losslens.diagnose.training import train

try:
    import sys

    import pyhessian
    ph = sys.modules["pyhessian.hessian"]     # the module; pyhessian.hessian is shadowed by the class of that name
except ImportError:  # pragma: no cover
    raise SystemExit("pip install --no-deps pyhessian  (the bench extra) to run this benchmark")


class Recording(HessianOperator):
    """Records every product so the Ritz values after each Lanczos step can be replayed: T_j = Q_j H Q_jᵀ."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.V, self.W = [], []

    def matvec(self, v):
        out = super().matvec(v)
        if v.dim() == 1:
            self.V.append(v.clone()), self.W.append(out.clone())
        return out

    __call__ = matvec

    def ritz_history(self):
        Q, W = torch.stack(self.V), torch.stack(self.W)
        T = Q @ W.T
        T = 0.5 * (T + T.T)
        return [torch.linalg.eigvalsh(T[:j, :j]) for j in range(1, len(Q) + 1)]


def first_within(estimates, truth, rel):
    for i, e in enumerate(estimates):
        if abs(e - truth) <= rel * abs(truth):
            return i + 1
    return None


def pyhessian_power(model, X, y, seed, max_iter=300, tol=1e-3):
    """PyHessian's eigenvalues(); returns (its estimate, its HVPs, Rayleigh quotient after each HVP)."""
    quotients = []
    original = ph.hessian_vector_product

    def counting(gradsH, params, v):
        hv = original(gradsH, params, v)
        quotients.append(float(sum((a * b).sum() for a, b in zip(hv, v))))
        return hv

    ph.hessian_vector_product = counting
    try:
        torch.manual_seed(seed)
        h = ph.hessian(copy.deepcopy(model), nn.CrossEntropyLoss(), data=(X, y), cuda=False)
        vals, _ = h.eigenvalues(maxIter=max_iter, tol=tol)
    finally:
        ph.hessian_vector_product = original
    return vals[0], len(quotients), quotients


def fmt(v, d=3):
    return "—" if v is None else (f"{v:.{d}g}" if isinstance(v, float) else str(v))


def points(name, steps_trained=300):
    split = digits(seed=0, dtype=torch.float64)
    init = make_model(name, seed=0).double()
    trained = train(init, nn.CrossEntropyLoss(), split.train, split.test, steps=steps_trained, lr=1e-3, seed=0,
                    eval_every=steps_trained, monitor_gradients=False).model
    return split, {"init": init, f"trained {steps_trained} steps": trained}


def bench_eigen(args):
    split, models = points("digits-mlp")
    X, y = split.train
    print("\n### Top eigenvalue, digits-mlp (26122 parameters, 1348 samples, float64)\n")
    print("| point | λ_max | method | HVPs to 1e-3 | HVPs to 1e-6 | own stop: HVPs | own stop: rel. error |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    rows_min = []
    for label, model in models.items():
        obj = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
        x = obj.x0
        ref = lanczos(obj, x, top=1, bottom=1, tol=1e-12, max_hvps=600, seed=123)
        lmax, lmin = ref.lambda_max, ref.lambda_min
        rec = Recording(obj, x)
        own = lanczos(rec, top=1, bottom=1, max_hvps=300, seed=0)
        hist = rec.ritz_history()
        tops = [float(t[-1]) for t in hist]
        print(f"| {label} | {lmax:.6g} | losslens Lanczos (top+bottom) | {fmt(first_within(tops, lmax, 1e-3))} | "
              f"{fmt(first_within(tops, lmax, 1e-6))} | {own.hvps} | {abs(own.lambda_max - lmax) / lmax:.1e} |")
        est, used, quotients = pyhessian_power(model, X, y, seed=0)
        _, _, long = pyhessian_power(model, X, y, seed=0, max_iter=args.power_iters, tol=0.0)
        print(f"| {label} | {lmax:.6g} | PyHessian power iteration | {fmt(first_within(long, lmax, 1e-3))} | "
              f"{fmt(first_within(long, lmax, 1e-6))} (of {len(long)}) | {used} | {abs(est - lmax) / lmax:.1e} |")
        # smallest eigenvalue
        zero_tol = own.tol * max(1.0, max(abs(float(t).__abs__()) for t in hist[-1]))
        bottoms = [float(t[0]) for t in hist]
        sign_at = next((i + 1 for i, b in enumerate(bottoms) if b < -zero_tol), None)
        conv_at = first_within(bottoms, lmin, 1e-3)
        from scipy.sparse.linalg import LinearOperator, eigsh
        op = HessianOperator(obj, x)
        lin = LinearOperator((obj.n, obj.n), matvec=lambda v: op(torch.as_tensor(v.reshape(-1))).numpy(),
                             dtype=np.float64)
        v0 = torch.randn(obj.n, generator=torch.Generator().manual_seed(0), dtype=torch.float64).numpy()
        try:
            w = eigsh(lin, k=1, which="SA", tol=1e-3, v0=v0, maxiter=2000)[0][0]
            eig_res = f"{op.hvps} (λ = {w:.4g})"
        except Exception as err:  # noqa: BLE001
            eig_res = f"{op.hvps} ({type(err).__name__})"
        rows_min.append(f"| {label} | {lmin:.4g} | {fmt(sign_at)} | {fmt(conv_at)} | {eig_res} | not available |")
    print("\n### Smallest eigenvalue, digits-mlp (float64)\n")
    print("| point | λ_min | losslens: HVPs until sign certain | losslens: HVPs to 1e-3 | scipy eigsh SA tol 1e-3: "
          "HVPs | PyHessian |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    print("\n".join(rows_min))


def bench_trace(args):
    split, models = points("digits-small-mlp")
    X, y = split.train
    print("\n### Trace at 100 HVPs, digits-small-mlp (1210 parameters; truth = trace of the dense Hessian)\n")
    print("| point | true trace | Hutch++ (adaptive) | chosen | Hutchinson, 100 HVPs | Hutch++ / Hutchinson | "
          "PyHessian trace() as shipped (mean HVPs) | Hutch++ 95 % CI coverage | Hutchinson 95 % CI coverage |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for label, model in models.items():
        obj = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
        H = obj.hessian(obj.x0)
        true = float(torch.trace(H))
        op = HessianOperator(matrix=H)      # same products as the objective (checked below), far cheaper to repeat
        assert torch.allclose(HessianOperator(obj, obj.x0)(torch.ones(obj.n, dtype=torch.float64)),
                              op(torch.ones(obj.n, dtype=torch.float64)), rtol=1e-9, atol=1e-10)
        rel = lambda r: abs(r.estimate - true) / abs(true)
        hpp = [hutch_plus_plus(op, hvps=100, seed=s) for s in range(args.seeds)]
        chosen = {m: sum(r.method == m for r in hpp) for m in ("hutch++", "hutchinson")}
        err_hpp = float(np.mean([rel(r) for r in hpp]))
        err_hut = float(np.mean([rel(hutchinson(op, hvps=100, seed=s)) for s in range(args.seeds)]))
        err_ph, used = [], []
        for s in range(args.seeds):
            torch.manual_seed(s)
            h = ph.hessian(copy.deepcopy(model), nn.CrossEntropyLoss(), data=(X, y), cuda=False)
            samples = h.trace(maxIter=100, tol=0.0)   # tol 0: never stop early (it still does on a negative mean)
            err_ph.append(abs(np.mean(samples) - true) / abs(true))
            used.append(len(samples))
        cov = lambda est: np.mean([(lambda r: r.ci_low <= true <= r.ci_high)(est(op, hvps=100, seed=s))
                                   for s in range(args.coverage)])
        print(f"| {label} | {true:.5g} | {100 * err_hpp:.2f} % | {chosen['hutch++']}× hutch++, "
              f"{chosen['hutchinson']}× hutchinson | {100 * err_hut:.2f} % | {err_hpp / err_hut:.2f} | "
              f"{100 * float(np.mean(err_ph)):.2f} % ({np.mean(used):.0f}) | "
              f"{100 * cov(hutch_plus_plus):.1f} % ({args.coverage} seeds) | {100 * cov(hutchinson):.1f} % |")


def median_time(fn, repeat=7):
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def bench_cost(args):
    split = digits(seed=0)
    print("\n### Cost, digits-mlp float32 (median of 7)\n")
    print("| what | ms | ratio to one gradient |")
    print("| --- | ---: | ---: |")
    model = make_model("digits-mlp")
    obj = ModelObjective(model, nn.CrossEntropyLoss(), split.train)
    x = obj.x0
    v = torch.randn(obj.n)
    g = median_time(lambda: obj.grad(x))
    op = HessianOperator(obj, x)
    cached = median_time(lambda: op(v.double()))
    fresh = median_time(lambda: obj.hvp(x, v))
    h = ph.hessian(copy.deepcopy(model), nn.CrossEntropyLoss(), data=split.train, cuda=False)
    vv = [torch.randn_like(p) for p in h.params]
    pyh = median_time(lambda: ph.hessian_vector_product(h.gradsH, h.params, vv))
    for name, t in (("gradient (ModelObjective.grad)", g), ("HVP, losslens operator (graph recorded once)", cached),
                    ("HVP, ModelObjective.hvp (forward-over-reverse, fresh graph)", fresh),
                    ("HVP, PyHessian (graph recorded once)", pyh)):
        print(f"| {name} | {1e3 * t:.2f} | {t / g:.2f} |")

    X, y = split.train
    net = make_model("digits-mlp")
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, len(X), (64,), generator=gen) for _ in range(50)]

    def steps(monitor):
        for idx in batches:
            loss = nn.functional.cross_entropy(net(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            if monitor is not None:
                monitor.step()
            opt.step()

    plain_t, hooked_t = [], []
    for _ in range(11):                       # interleaved, so load changes hit both alike
        t = time.perf_counter()
        steps(None)
        plain_t.append(time.perf_counter() - t)
        with GradientFlowMonitor(net) as mon:
            t = time.perf_counter()
            steps(mon)
            hooked_t.append(time.perf_counter() - t)
    plain, hooked = float(np.median(plain_t)), float(np.median(hooked_t))
    print(f"| 50 training steps (batch 64), plain | {1e3 * plain:.1f} | |")
    print(f"| 50 training steps with gradient-flow hooks | {1e3 * hooked:.1f} | overhead {100 * (hooked / plain - 1):.1f} % |")


def bench_behaviour():
    split = digits(seed=0)
    print("\n### PyHessian 0.1 behaviour (same model)\n")
    model = make_model("digits-mlp")
    model.train()
    ph.hessian(model, nn.CrossEntropyLoss(), data=split.train, cuda=False)
    g = next(model.parameters()).grad
    print(f"- after `hessian(model, ...)`: model.training = {model.training}; .grad set = {g is not None}, "
          f"attached to a graph = {g is not None and g.grad_fn is not None}")
    h = ph.hessian(copy.deepcopy(model), nn.CrossEntropyLoss(), data=split.train, cuda=False)
    try:
        h.density(iter=5, n_v=1)
        print("- density(): ran")
    except Exception as err:  # noqa: BLE001
        print(f"- density(): {type(err).__name__}: {str(err).splitlines()[0][:90]}")

    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.spare = make_model("digits-mlp"), nn.Linear(3, 3)

        def forward(self, x):
            return self.net(x)

    try:
        ph.hessian(Unused(), nn.CrossEntropyLoss(), data=split.train, cuda=False).eigenvalues(maxIter=5)
        print("- unused parameter: ran")
    except Exception as err:  # noqa: BLE001
        print(f"- unused parameter: {type(err).__name__}: {str(err).splitlines()[0][:90]}")
    obj = ModelObjective(Unused(), nn.CrossEntropyLoss(), split.train)
    r = lanczos(obj, obj.x0, top=1, bottom=1)
    print(f"- losslens on the same unused-parameter model: λ_max {r.lambda_max:.4g}, λ_min {r.lambda_min:.4g}, "
          f"{r.hvps} HVPs, converged {r.converged}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--coverage", type=int, default=200)
    ap.add_argument("--power-iters", type=int, default=300)
    ap.add_argument("--only", choices=["eigen", "trace", "cost", "behaviour"], default=None)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, pyhessian {getattr(pyhessian, '__version__', '0.1')}, threads "
          f"{torch.get_num_threads()}")
    for name, fn in (("eigen", bench_eigen), ("trace", bench_trace), ("cost", bench_cost),
                     ("behaviour", lambda a: bench_behaviour())):
        if args.only in (None, name):
            fn(args)


if __name__ == "__main__":
    main()
