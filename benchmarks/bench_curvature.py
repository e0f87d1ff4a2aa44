"""Curvature of digits networks: losslens vs PyHessian 0.1 (pip, installed without dependencies) and scipy eigsh.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_curvature.py [--seeds 100] [--coverage 500]
     [--only eigen|trace|trace-mlp|cost|behaviour]

Same model, data and seed for every method. Points: the digits MLPs at initialisation and after 300 Adam steps.
Prints markdown tables:
1. top eigenvalue: HVPs until the estimate is within 1e-3 / 1e-6 relative error (oracle count on the estimate
   after each product), and each method's own stop (HVPs, error). float64 throughout so 1e-6 is meaningful.
2. smallest eigenvalue: HVPs until its sign is certain (losslens: a Ritz value < -zero_tol is a Rayleigh quotient)
   and until converged; scipy eigsh(k=1, which="SA") on the same operator.
3. trace at 100 HVPs on digits-small-mlp at initialisation and after the standard training (dense Hessian truth):
   mean relative error over seeds of Hutch++ (adaptive and as in the paper), Hutchinson and PyHessian's trace();
   coverage of the 95 % interval over many seeds; the spectrum figures that explain the errors. trace-mlp (only
   when asked): the same on the trained digits-mlp, truth from all n column products.
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


def standard_training(name, steps=(500,)):
    """The built-in model at initialisation and after losslens' standard training: ``train`` with its defaults
    (Adam, lr 1e-3, minibatches of 64, seed 0; 500 steps unless longer runs are asked for), float64."""
    split = digits(seed=0, dtype=torch.float64)
    init = make_model(name, seed=0).double()
    models = {"init": init}
    for n in steps:
        run = train(init, nn.CrossEntropyLoss(), split.train, split.test, steps=n, seed=0, eval_every=n,
                    monitor_gradients=False)
        h = run.history
        models[f"trained (Adam {n} steps: train loss {h['train_loss'][-1]:.3g}, train acc "
               f"{h['train_accuracy'][-1]:.3f}, test acc {h['test_accuracy'][-1]:.3f})"] = run.model
    return split, models


def spectrum_figures(H, m=100):
    """What decides the trace estimators' errors, from the dense Hessian H [n, n] (float64).

    Shares of the trace and of ‖H‖_F² in the k eigenvalues largest in modulus; the diagonal's share of ‖H‖_F²
    (Rademacher Hutchinson's variance is 2 (‖H‖_F² − Σ H_ii²) / m); and the oracle bound: the standard deviation of
    a Hutch++ that is handed the exact top-k eigenvectors P for free, with the Hutch++ budget (k products for H P,
    k for the sketch, m − 2k Rademacher probes of R = (I − PPᵀ) H (I − PPᵀ)), relative to Hutchinson's, minimised
    over k; "m − k" gives the same with the sketch free as well (a lower bound for Nyström-type splits).
    """
    lam, U = torch.linalg.eigh(H)
    order = lam.abs().argsort(descending=True)
    lam, U = lam[order], U[:, order]
    tr, fro2 = float(lam.sum()), float((lam ** 2).sum())
    diag2 = float((torch.diagonal(H) ** 2).sum())
    hutch_var = 2 * (fro2 - diag2) / m
    best = {"m-2k": (math.inf, 0), "m-k": (math.inf, 0)}
    for k in range(2, m // 2, 2):
        P = U[:, :k]
        R = H - P @ (P.T @ H)
        R = R - (R @ P) @ P.T
        var = 2 * (float((R * R).sum()) - float((torch.diagonal(R) ** 2).sum()))
        for key, probes in (("m-2k", m - 2 * k), ("m-k", m - k)):
            ratio = math.sqrt(var / probes / hutch_var)
            if ratio < best[key][0]:
                best[key] = (ratio, k)
    share = lambda k: (float(lam[:k].sum()) / tr, float((lam[:k] ** 2).sum()) / fro2)
    return dict(n=len(lam), trace=tr, lmax=float(lam.max()), lmin=float(lam.min()),
                negative=float(-lam[lam < 0].sum()) / float(lam.abs().sum()), top10=share(10), top33=share(33),
                diag=diag2 / fro2, hutch_rel_sd=math.sqrt(hutch_var) / abs(tr), oracle=best)


def hutch_pp_variant(H, m, seed, k, gaussian=False, power=0):
    """Meyer et al.'s Hutch++ (non-adaptive) on a dense H with a chosen sketch: k sketch vectors (Rademacher or
    Gaussian), ``power`` subspace iterations (k products each), k products for H Q, the rest Rademacher probes of
    the deflated matrix. For comparing splits and sketches; the library's hutch_plus_plus is the thirds/Rademacher
    case."""
    gen = torch.Generator().manual_seed(seed)
    n = H.shape[0]
    rad = lambda c: torch.randint(0, 2, (n, c), generator=gen).to(torch.float64).mul_(2).sub_(1)
    S = torch.randn(n, k, generator=gen, dtype=torch.float64) if gaussian else rad(k)
    Y = H @ S
    for _ in range(power):
        Y = H @ torch.linalg.qr(Y).Q
    Q = torch.linalg.qr(Y).Q
    G = rad(m - (2 + power) * k)
    G = G - Q @ (Q.T @ G)
    return float(torch.trace(Q.T @ H @ Q)) + float((G * (H @ G)).sum(0).mean())


VARIANTS = {"thirds, Rademacher (paper)": dict(k=33), "thirds, Gaussian": dict(k=33, gaussian=True),
            "k = 25, one subspace iteration": dict(k=25, power=1), "k = 16": dict(k=16), "k = 8": dict(k=8)}


def bench_trace(args):
    split, models = standard_training("digits-small-mlp", [int(n) for n in args.small_steps.split(",")])
    X, y = split.train
    m = 100
    print(f"\n### Trace at {m} HVPs, digits-small-mlp (1210 parameters; truth = trace of the dense Hessian)\n")
    spectra, rows, variants = [], [], []
    for label, model in models.items():
        obj = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
        H = obj.hessian(obj.x0)
        true = float(torch.trace(H))
        op = HessianOperator(matrix=H)      # same products as the objective (checked below), far cheaper to repeat
        assert torch.allclose(HessianOperator(obj, obj.x0)(torch.ones(obj.n, dtype=torch.float64)),
                              op(torch.ones(obj.n, dtype=torch.float64)), rtol=1e-9, atol=1e-10)
        sp = spectrum_figures(H, m)
        o2, o1 = sp["oracle"]["m-2k"], sp["oracle"]["m-k"]
        spectra.append(f"| {label} | {sp['trace']:.5g} | {sp['lmax']:.4g} / {sp['lmin']:.3g} | "
                       f"{100 * sp['negative']:.1f} % | {100 * sp['top10'][0]:.0f} % / {100 * sp['top33'][0]:.0f} % | "
                       f"{100 * sp['top10'][1]:.0f} % / {100 * sp['top33'][1]:.0f} % | {100 * sp['diag']:.0f} % | "
                       f"{o2[0]:.2f} (k = {o2[1]}) | {o1[0]:.2f} (k = {o1[1]}) |")
        rel = lambda r: abs(r.estimate - true) / abs(true)
        hpp = [hutch_plus_plus(op, hvps=m, seed=s) for s in range(args.seeds)]
        chosen = {k: sum(r.method == k for r in hpp) for k in ("hutch++", "hutchinson")}
        err_hpp = float(np.mean([rel(r) for r in hpp]))
        err_paper = float(np.mean([rel(hutch_plus_plus(op, hvps=m, seed=s, adaptive=False)) for s in range(args.seeds)]))
        err_hut = float(np.mean([rel(hutchinson(op, hvps=m, seed=s)) for s in range(args.seeds)]))
        err_ph, used = [], []
        for s in range(args.seeds):
            torch.manual_seed(s)
            h = ph.hessian(copy.deepcopy(model), nn.CrossEntropyLoss(), data=(X, y), cuda=False)
            samples = h.trace(maxIter=m, tol=0.0)   # tol 0: never stop early (it still does on a negative mean)
            err_ph.append(abs(np.mean(samples) - true) / abs(true))
            used.append(len(samples))
        cov = lambda est: np.mean([(lambda r: r.ci_low <= true <= r.ci_high)(est(op, hvps=m, seed=s))
                                   for s in range(args.coverage)])
        variants.append(f"| {label} | " + " | ".join(
            f"{100 * float(np.mean([abs(hutch_pp_variant(H, m, s, **kw) - true) for s in range(args.seeds)])) / abs(true):.2f} %"
            for kw in VARIANTS.values()) + f" | {100 * err_hut:.2f} % |")
        rows.append(f"| {label} | {true:.5g} | {100 * err_hpp:.2f} % | {chosen['hutch++']}× hutch++, "
                    f"{chosen['hutchinson']}× hutchinson | {100 * err_paper:.2f} % | {100 * err_hut:.2f} % | "
                    f"{err_hpp / err_hut:.2f} | {100 * float(np.mean(err_ph)):.2f} % ({np.mean(used):.0f}) | "
                    f"{100 * cov(hutch_plus_plus):.1f} % | {100 * cov(hutchinson):.1f} % |")
    print(f"Mean relative error |estimate − trace| / |trace| over {args.seeds} seeds; 95 % interval coverage over "
          f"{args.coverage} seeds.\n")
    print("| point | true trace | Hutch++ (adaptive) | chosen | Hutch++ (paper, thirds) | Hutchinson | "
          "adaptive / Hutchinson | PyHessian trace() as shipped (mean HVPs) | Hutch++ CI coverage | "
          "Hutchinson CI coverage |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    print("\nSpectrum of the dense Hessian (shares of eigenvalues largest in modulus; oracle: Hutch++ handed the exact "
          "top-k eigenvectors, its error relative to Hutchinson's at the best k)\n")
    print("| point | trace | λ_max / λ_min | negative share of Σ|λ| | top 10 / 33: share of trace | "
          "top 10 / 33: share of ‖H‖_F² | diagonal share of ‖H‖_F² | oracle, m − 2k probes | oracle, m − k probes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(spectra))
    print(f"\nHutch++ split and sketch variants (non-adaptive, same {m} products, {args.seeds} seeds; mean relative "
          "error)\n")
    print("| point | " + " | ".join(VARIANTS) + " | Hutchinson |")
    print("| --- |" + " ---: |" * (len(VARIANTS) + 1))
    print("\n".join(variants))


def exact_trace_by_columns(op, n, cache, block=64):
    """tr H, ‖H‖_F² and Σ H_ii² from the n products H e_i (resumable: progress is saved to ``cache`` with the
    point it belongs to)."""
    import os
    fresh = {"x": op.x.clone(), "done": 0, "diag": torch.zeros(n, dtype=torch.float64),
             "col2": torch.zeros(n, dtype=torch.float64)}
    state = torch.load(cache, weights_only=True) if cache and os.path.exists(cache) else fresh
    if not torch.equal(state["x"], op.x):        # a cache from another point: start over
        state = fresh
    while state["done"] < n:
        i = state["done"]
        j = min(n, i + block)
        E = torch.zeros(j - i, n, dtype=torch.float64)
        E[torch.arange(j - i), torch.arange(i, j)] = 1
        HE = op(E)
        state["diag"][i:j] = HE[torch.arange(j - i), torch.arange(i, j)]
        state["col2"][i:j] = (HE * HE).sum(1)
        state["done"] = j
        if cache and (j // block % 20 == 0 or j == n):
            torch.save(state, cache)
            print(f"  exact trace: {j} / {n} columns", flush=True)
    return float(state["diag"].sum()), float(state["col2"].sum()), float((state["diag"] ** 2).sum())


def bench_trace_mlp(args):
    """digits-mlp at initialisation and after the standard training: the dense Hessian (26122², 5.5 GB) is not formed;
    the truth is Σ e_iᵀ H e_i over all n columns (n products per point, resumable through --cache)."""
    split, models = standard_training("digits-mlp")
    m, seeds = 100, args.seeds_mlp
    for i, (label, model) in enumerate(models.items()):
        if ("init", "trained")[min(i, 1)] not in args.mlp_points.split(","):
            continue
        obj = ModelObjective(model, nn.CrossEntropyLoss(), split.train, dtype=torch.float64)
        op = HessianOperator(obj, obj.x0, batch=32)
        cache = f"{args.cache}-{('init', 'trained')[min(i, 1)]}.pt" if args.cache else None
        true, fro2, diag2 = exact_trace_by_columns(op, obj.n, cache)
        top = lanczos(op, top=40, bottom=1, max_hvps=400, seed=0)
        lam = top.top_values
        rel = lambda r: abs(r.estimate - true) / abs(true)
        hpp = [hutch_plus_plus(op, hvps=m, seed=s) for s in range(seeds)]
        paper = [hutch_plus_plus(op, hvps=m, seed=s, adaptive=False) for s in range(seeds)]
        hut = [hutchinson(op, hvps=m, seed=s) for s in range(seeds)]
        cov = lambda rs: np.mean([r.ci_low <= true <= r.ci_high for r in rs])
        print(f"\n### Trace at {m} HVPs, digits-mlp ({obj.n} parameters), {label}\n")
        print(f"Truth from {obj.n} column products: trace {true:.6g}, ‖H‖_F² {fro2:.4g}, diagonal share of ‖H‖_F² "
              f"{diag2 / fro2:.3f}; λ_max {float(lam.max()):.4g}, λ_min {top.lambda_min:.3g}; top 10 / 40 "
              f"eigenvalues: {float(lam[:10].sum()) / true:.3f} / {float(lam[:40].sum()) / true:.3f} of the trace, "
              f"{float((lam[:10] ** 2).sum()) / fro2:.3f} / {float((lam[:40] ** 2).sum()) / fro2:.3f} of ‖H‖_F² "
              f"(top eigenvalues from Lanczos, converged: {bool(top.top_converged.all())}).\n")
        chosen = sum(r.method == "hutch++" for r in hpp)
        e = lambda rs: float(np.mean([rel(r) for r in rs]))
        print(f"| estimator ({seeds} seeds) | mean relative error | 95 % CI coverage |")
        print("| --- | ---: | ---: |")
        print(f"| Hutch++ (adaptive; {chosen}× hutch++) | {100 * e(hpp):.2f} % | {100 * cov(hpp):.0f} % |")
        print(f"| Hutch++ (paper, thirds) | {100 * e(paper):.2f} % | {100 * cov(paper):.0f} % |")
        print(f"| Hutchinson | {100 * e(hut):.2f} % | {100 * cov(hut):.0f} % |")
        print(f"\nadaptive / Hutchinson: {e(hpp) / e(hut):.2f}; paper / Hutchinson: {e(paper) / e(hut):.2f}", flush=True)


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

    def steps():
        for idx in batches:
            loss = nn.functional.cross_entropy(net(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()

    plain_t, hooked_t = [], []
    for _ in range(61):                       # interleaved pairs, so load changes hit both alike
        t = time.perf_counter()
        steps()
        plain_t.append(time.perf_counter() - t)
        with GradientFlowMonitor(net, opt):
            t = time.perf_counter()
            steps()
            hooked_t.append(time.perf_counter() - t)
    plain, hooked = float(np.median(plain_t)), float(np.median(hooked_t))
    paired = float(np.median(np.array(hooked_t) / np.array(plain_t)))
    print(f"| 50 training steps (batch 64), plain | {1e3 * plain:.1f} | |")
    print(f"| 50 training steps with the gradient-flow hook | {1e3 * hooked:.1f} | overhead {100 * (hooked / plain - 1):.1f} % "
          f"(median of 61 paired rounds: {100 * (paired - 1):.1f} %) |")


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
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--coverage", type=int, default=500)
    ap.add_argument("--small-steps", default="500", help="training lengths for the trace on digits-small-mlp "
                    "(500 = the standard training; e.g. 500,5000 adds a run to near-zero loss)")
    ap.add_argument("--seeds-mlp", type=int, default=50, help="seeds for --only trace-mlp")
    ap.add_argument("--cache", default="trace-mlp-columns", help="resumable column products for trace-mlp "
                    "(prefix of one file per point)")
    ap.add_argument("--mlp-points", default="init,trained", help="points for trace-mlp")
    ap.add_argument("--power-iters", type=int, default=300)
    ap.add_argument("--only", choices=["eigen", "trace", "trace-mlp", "cost", "behaviour"], default=None,
                    help="one section; trace-mlp (26122 column products, ~20 min) runs only when asked")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, pyhessian {getattr(pyhessian, '__version__', '0.1')}, threads "
          f"{torch.get_num_threads()}")
    for name, fn in (("eigen", bench_eigen), ("trace", bench_trace), ("trace-mlp", bench_trace_mlp),
                     ("cost", bench_cost), ("behaviour", lambda a: bench_behaviour())):
        if args.only == name or (args.only is None and name != "trace-mlp"):
            fn(args)


if __name__ == "__main__":
    main()
