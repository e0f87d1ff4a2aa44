"""Curvature under torchrun: 2 gloo processes, each holding half the data, give the one-process eigenvalues."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

SCRIPT = textwrap.dedent("""
    import json, sys, torch, torch.distributed as dist
    from torch import nn
    from losslens import digits, make_model
    from losslens.curvature import hutch_plus_plus, lanczos, spectral_density
    from losslens.model import ModelObjective
    dist.init_process_group("gloo")
    obj = ModelObjective(make_model("digits-small-mlp"), nn.CrossEntropyLoss(), digits().train, subset=300,
                         dtype=torch.float64)
    e = lanczos(obj, obj.x0, top=3, bottom=3, tol=1e-10, seed=0)
    t = hutch_plus_plus(obj, obj.x0, hvps=30, seed=0)
    d = spectral_density(obj, obj.x0, probes=2, steps=10, seed=0)
    out = dict(top=e.top_values.tolist(), bottom=e.bottom_values.tolist(), hvps=e.hvps, trace=t.estimate,
               nodes=d.nodes.tolist(), world=dist.get_world_size(), local=sum(len(b[0]) for b in obj.batches))
    if dist.get_rank() == 0:
        open(sys.argv[1], "w").write(json.dumps(out))
    dist.barrier()
    dist.destroy_process_group()
""")


@pytest.mark.slow
def test_two_processes_give_the_one_process_eigenvalues(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    outs = {}
    for nproc in (1, 2):
        path = tmp_path / f"out{nproc}.json"
        subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc),
                        "--master-port", str(29610 + nproc), str(script), str(path)], check=True,
                       capture_output=True, timeout=300, env=env)
        outs[nproc] = json.loads(path.read_text())
    one, two = outs[1], outs[2]
    assert two["world"] == 2 and two["local"] == 150 and one["local"] == 300
    assert two["hvps"] == one["hvps"]
    for k in ("top", "bottom", "nodes"):
        torch.testing.assert_close(torch.tensor(two[k]), torch.tensor(one[k]), rtol=1e-9, atol=1e-12)
    assert two["trace"] == pytest.approx(one["trace"], rel=1e-9)
