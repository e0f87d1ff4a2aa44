"""Peak memory of a model objective on 1x and 10x the data: streamed from a DataLoader vs held in memory.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_streaming.py [--samples 2560] [--batch 256] [--dim 3072]

Each configuration runs in a fresh process (one thread) and reports its peak resident set size (``ru_maxrss``), the
baseline after imports and model construction, and the work: the value, the gradient and a Lanczos run (top-1 and
bottom-1, at most 12 HVPs) on an MLP ``dim``-256-10 with cross-entropy. The streamed data set synthesises sample
``i`` from a seed on demand (nothing of the data set is held); "tensors" materialises the same samples as one
tensor pair first. The data are CIFAR-shaped (3x32x32 flattened) random inputs and random labels.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: KiB


def child(kind: str, samples: int, batch: int, dim: int) -> dict:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, Dataset

    from losslens.curvature import lanczos
    from losslens.model import ModelObjective

    class Synthetic(Dataset):
        def __len__(self):
            return samples

        def __getitem__(self, i):
            gen = torch.Generator().manual_seed(i)
            return torch.randn(dim, generator=gen), int(torch.randint(0, 10, (), generator=gen))

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(dim, 256), nn.ReLU(), nn.Linear(256, 10))
    ds = Synthetic()
    loader = DataLoader(ds, batch_size=batch, shuffle=False)
    if kind == "tensors":
        xs, ys = zip(*(b for b in loader))
        data = (torch.cat(xs), torch.cat(ys))
        del xs, ys
    else:
        data = loader
    base = _rss_mb()
    t = time.perf_counter()
    obj = ModelObjective(model, nn.CrossEntropyLoss(), data, batch_size=batch, check_batches=1)
    v, g = obj.value_and_grad(obj.x0)
    r = lanczos(obj, obj.x0, top=1, bottom=1, max_hvps=12, seed=0)
    return {"kind": kind, "samples": samples, "batch": batch, "n": obj.n, "baseline_mb": base, "peak_mb": _rss_mb(),
            "seconds": time.perf_counter() - t, "value": float(v), "lambda_max": float(r.top_values[0]),
            "hvps": r.hvps, "streamed": obj.streaming}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--samples", type=int, default=2560)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--dim", type=int, default=3072)
    p.add_argument("--child", nargs=4)
    a = p.parse_args()
    if a.child:
        kind, samples, batch, dim = a.child
        print(json.dumps(child(kind, int(samples), int(batch), int(dim))))
        return
    rows = []
    for kind in ("streamed", "tensors"):
        for scale in (1, 10):
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            out = subprocess.run([sys.executable, __file__, "--child", kind, str(a.samples * scale), str(a.batch),
                                  str(a.dim)], capture_output=True, text=True, env=env, check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"MLP {a.dim}-256-10 (n = {rows[0]['n']}), batches of {a.batch}, value + gradient + Lanczos "
          f"({rows[0]['hvps']} HVPs)\n")
    print("| data | samples | batches | peak RSS (MB) | peak − baseline (MB) | seconds | λ_max |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['kind']} | {r['samples']} | {-(-r['samples'] // r['batch'])} | {r['peak_mb']:.0f} | "
              f"{r['peak_mb'] - r['baseline_mb']:.0f} | {r['seconds']:.1f} | {r['lambda_max']:.5g} |")


if __name__ == "__main__":
    main()
