"""values(X) on 10^6 points vs hand-written numpy; hvp vs grad cost.

Run: .venv/bin/python benchmarks/bench_objective.py [--points 1000000] [--repeat 5]
Prints a markdown table (median wall time of `repeat` runs, float64, this machine's threads).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from losslens import parse

NUMPY = {
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2,
    "himmelblau": lambda x, y: (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2,
}


def median_time(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, numpy {np.__version__}, threads {torch.get_num_threads()}, "
          f"{args.points} points, median of {args.repeat}\n")
    print("| function | losslens values(X) ms | numpy on X[:, i] ms | ratio | numpy on pre-split columns ms | ratio "
          "| max abs diff |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, ref in NUMPY.items():
        obj = parse(name)
        X = obj.box.sample(args.points, seed=0)
        Xn = X.numpy()
        xs, ys = np.ascontiguousarray(Xn[:, 0]), np.ascontiguousarray(Xn[:, 1])
        t_ll = median_time(lambda: obj.values(X), args.repeat)
        t_np = median_time(lambda: ref(Xn[:, 0], Xn[:, 1]), args.repeat)
        t_split = median_time(lambda: ref(xs, ys), args.repeat)
        diff = float(np.abs(obj.values(X).numpy() - ref(xs, ys)).max())
        print(f"| {name} | {t_ll * 1e3:.1f} | {t_np * 1e3:.1f} | {t_ll / t_np:.2f} | {t_split * 1e3:.1f} "
              f"| {t_ll / t_split:.2f} | {diff:.1e} |")

    print("\n| objective | n | grad µs | hvp µs | hvp / grad | hvp x16 (vmap) µs | dense Hessian µs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    cases = [("rosenbrock", None), ("himmelblau", None),
             ("sum of 20 coupled terms", " + ".join(f"(x{i}*x{i + 1} - sin(x{i}))^2" for i in range(1, 21)))]
    for name, text in cases:
        obj = parse(text or name)
        x = torch.full((obj.n,), 0.3, dtype=torch.float64)
        v = torch.ones(obj.n, dtype=torch.float64)
        V = torch.randn(16, obj.n, dtype=torch.float64)
        r = max(args.repeat, 50)
        tg = median_time(lambda: obj.grad(x), r)
        th = median_time(lambda: obj.hvp(x, v), r)
        tb = median_time(lambda: obj.hvp(x, V), r)
        tH = median_time(lambda: obj.hessian(x), r)
        print(f"| {name} | {obj.n} | {tg * 1e6:.0f} | {th * 1e6:.0f} | {th / tg:.2f} | {tb * 1e6:.0f} | {tH * 1e6:.0f} |")


if __name__ == "__main__":
    main()
