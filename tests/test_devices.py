"""Every tensor of an analysis lives on the parameters' device; run on every device present."""
import pytest
import torch
from torch import nn

from losslens.devices import available, device_of, resolve_device
from losslens.model import ModelObjective
from losslens.validation import InputError

DEVICES = available()


def test_resolve():
    assert resolve_device("cpu") == torch.device("cpu") and resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device("auto").type == (DEVICES[1] if len(DEVICES) > 1 else "cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert device_of(nn.Linear(2, 2)) == torch.device("cpu") and device_of(nn.ReLU()) == torch.device("cpu")
    with pytest.raises(InputError, match=r"--device == 'tpu', must be one of auto, cpu, cuda, mps"):
        resolve_device("tpu", "--device")
    with pytest.raises(InputError, match=r"device == 'meta', must be one of"):
        resolve_device("meta")
    with pytest.raises(InputError, match=r"device == 'cuda:x', must be one of"):
        resolve_device("cuda:x")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_absent_cuda():
    with pytest.raises(InputError, match=r"device == 'cuda' is not present on this machine; use cpu"):
        resolve_device("cuda")
    with pytest.raises(InputError, match=r"device == 'cuda:1' is not present"):
        ModelObjective(nn.Linear(2, 1), nn.MSELoss(), (torch.randn(4, 2), torch.randn(4, 1)), device="cuda:1")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("stream", [False, True])
def test_analyses_stay_on_the_device(device, stream):
    from torch.utils.data import DataLoader, TensorDataset

    from losslens.curvature import hessian_report, lanczos
    from losslens.landscape.directions import gaussian, hessian_eigen
    from losslens.landscape.grid import evaluate

    dtype = torch.float32 if device == "mps" else torch.float64
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3))
    X, y = torch.randn(24, 3), torch.arange(24) % 3
    data = DataLoader(TensorDataset(X, y), batch_size=5) if stream else (X, y)
    obj = ModelObjective(model, nn.CrossEntropyLoss(), data, device=device, dtype=dtype)
    ref = ModelObjective(model, nn.CrossEntropyLoss(), (X, y), dtype=torch.float64)
    dev = torch.device(device)
    assert obj.x0.device.type == dev.type and next(obj.module.parameters()).device.type == dev.type
    v = torch.randn(2, obj.n, dtype=torch.float64)
    for t in (obj.value(obj.x0), obj.grad(obj.x0), obj.hvp(obj.x0, v), obj.hvp_at(obj.x0)(v[0]),
              obj.values(torch.stack([obj.x0, obj.x0]))):
        assert t.device.type == dev.type and t.dtype == dtype
    H = ref.hessian(ref.x0)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(obj.hvp(obj.x0, v).cpu().double(), v @ H, rtol=tol, atol=tol)
    r = lanczos(obj, obj.x0, top=1, bottom=1, seed=0, tol=1e-8 if dtype == torch.float64 else None)
    eig = torch.linalg.eigvalsh(H)
    assert r.top_values[0] == pytest.approx(float(eig[-1]), abs=10 * tol)
    assert hessian_report(obj, obj.x0, top=1, bottom=1, trace_hvps=10, seed=0).trace is not None
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    assert d.vectors.device.type == dev.type
    torch.testing.assert_close(d.vectors.cpu().double(), gaussian(ref.x0, 2, seed=0, layout=ref.layout).vectors,
                               rtol=1e-6, atol=1e-6)
    e = hessian_eigen(obj, obj.x0, dense_max_n=0, seed=0)
    assert e.vectors.device.type == dev.type and e.info["method"] == "lanczos"
    land = evaluate(obj, d, 3)
    assert land.origin_value == pytest.approx(float(ref.value(ref.x0)), rel=tol)
