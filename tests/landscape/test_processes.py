"""Whole-process behaviour: kill -9 in the middle of a grid, and torch.distributed (gloo) runs."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["landscape", "--model", "digits-small-mlp", "--grid", "15", "--samples", "400", "--seed", "1"]


def env():
    e = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        e.pop(k, None)
    return e


def losslens(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "losslens", *args], env=env(), capture_output=True, text=True,
                       timeout=300)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.mark.slow
def test_kill_9_mid_grid_then_rerun_is_bit_identical(tmp_path):
    cut, full = tmp_path / "cut", tmp_path / "full"
    proc = subprocess.Popen([sys.executable, "-m", "losslens", *ARGS, "--chunk", "2", "--out", str(cut)],
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    chunks = lambda: len(list((cut / "chunks").glob("*.npy"))) if (cut / "chunks").exists() else 0
    deadline = time.time() + 120
    while time.time() < deadline and chunks() < 5 and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (cut / "values.npy").exists()
    done = len(list((cut / "chunks").glob("*.npy")))
    rerun = json.loads(losslens(*ARGS, "--chunk", "2", "--out", str(cut), "--json").stdout)
    assert rerun["chunks_resumed"] >= done - 1 >= 4     # a chunk being written at the kill is redone
    losslens(*ARGS, "--chunk", "2", "--out", str(full))
    assert (cut / "values.npy").read_bytes() == (full / "values.npy").read_bytes()


@pytest.mark.slow
def test_two_gloo_ranks_write_the_single_process_result(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    single = json.loads(losslens(*ARGS, "--out", str(one), "--json").stdout)
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           "-m", "losslens", *ARGS]
    r = subprocess.run(run + ["--out", str(two), "--json"], env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    sharded = json.loads(r.stdout)
    assert sharded["world_size"] == 2 and sharded["points_computed"] < single["points_computed"]
    assert (one / "values.npy").read_bytes() == (two / "values.npy").read_bytes()
    # without a store the ranks gather their chunks in memory
    r = subprocess.run(run + ["--json"], env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["values"] == single["values"]


@pytest.mark.slow
def test_relu_rows_on_two_ranks_with_chunks_that_split_rows():
    """digits-mlp (ReLU) on a 41-point axis takes the ReLU-pattern row path; chunks of 7 start mid-row on either
    rank, and the values still equal the single-process run's with whole-row chunks, bit for bit."""
    args = ["landscape", "--model", "digits-mlp", "--grid", "41", "--samples", "400", "--seed", "2", "--json"]
    single = json.loads(losslens(*args).stdout)
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "losslens",
           *args, "--chunk", "7"]
    r = subprocess.run(run, env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["values"] == single["values"]


@pytest.mark.slow
def test_network_path_on_two_ranks_equals_one_process():
    """digits-cnn takes the network path (first-layer tables, channels-last, fused graph); two gloo ranks with
    one-point chunks give the single process's values bit for bit."""
    args = ["landscape", "--model", "digits-cnn", "--grid", "9", "--samples", "300", "--seed", "3", "--json"]
    single = json.loads(losslens(*args).stdout)
    assert single["evaluator"] == "network"
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "losslens",
           *args, "--chunk", "1"]
    r = subprocess.run(run, env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    sharded = json.loads(r.stdout)
    assert sharded["world_size"] == 2 and sharded["values"] == single["values"]
