"""Network commands on the user's own model, data, loss and device (`--data`, `--loss`, `--device`, ...)."""
import json
import textwrap

import pytest
import torch
from torch.func import functional_call, hessian
from typer.testing import CliRunner

from losslens.cli import app
from losslens.cli._app import main
from losslens.zoo import make_model

runner = CliRunner()

USER_MODULE = textwrap.dedent('''
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, Dataset, TensorDataset

    def factory():
        return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))

    def data():
        g = torch.Generator().manual_seed(1)
        X = torch.randn(60, 3, generator=g)
        Y = torch.stack([torch.sin(X.sum(1)), X[:, 0] * X[:, 1]], 1)
        return X, Y

    def loader():        # 10 batches of 6: streamed
        return DataLoader(TensorDataset(*data()), batch_size=6, shuffle=False)

    def split():
        X, Y = data()
        return {"train": (X[:40], Y[:40]), "test": (X[40:], Y[40:])}

    def dict_batches():
        X, Y = data()
        return {"x": X, "y": Y}

    class Pairs(Dataset):
        def __len__(self):
            return 60
        def __getitem__(self, i):
            X, Y = data()
            return {"x": X[i], "y": Y[i]}

    def dict_dataset():
        return Pairs()

    def shuffled():
        return DataLoader(TensorDataset(*data()), batch_size=6, shuffle=True)

    def wide():
        X, Y = data()
        return torch.cat([X, X], 1), Y

    def labels():
        X, _ = data()
        return X, torch.arange(60) % 7        # 7 classes, the model has 2 outputs

    def int_targets():
        X, _ = data()
        return X, torch.zeros(60, 2, dtype=torch.long)

    def needs_args(n):
        return data()

    def model_needs_args(width):
        return factory()

    class DictNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = factory()
        def forward(self, x):
            return {"pred": self.body(x), "aux": x.sum(1)}

    def dict_model():
        return DictNet()

    def bn_net():
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))

    def labelled():
        X, _ = data()
        return X, (X[:, 0] > 0).long()

    def labelled_dataset():
        return TensorDataset(*labelled())

    def half_mse(out, y):
        return 0.5 * ((out - y) ** 2).mean()
''')


@pytest.fixture
def usermod(tmp_path, monkeypatch):
    """The user's module ``usermod`` on sys.path (and PYTHONPATH, for subprocesses)."""
    (tmp_path / "usermod.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    import importlib
    import sys
    sys.modules.pop("usermod", None)
    importlib.invalidate_caches()
    return importlib.import_module("usermod")


def run(*args):
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def dense_eigenvalues(usermod, loss=None) -> torch.Tensor:
    """Eigenvalues of the dense float64 Hessian (torch.func.hessian) of the mean MSE of the seeded user model."""
    net = make_model("usermod:factory", seed=0).double()
    X, Y = (t.double() for t in usermod.data())
    names = [k for k, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    x0 = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    loss = loss or torch.nn.functional.mse_loss

    def f(x):
        parts, i = {}, 0
        for k, s in zip(names, shapes):
            parts[k] = x[i:i + s.numel()].view(s)
            i += s.numel()
        return loss(functional_call(net, parts, (X,)), Y)

    return torch.linalg.eigvalsh(hessian(f)(x0))


def check_extremes(d, eig, rel):
    scale = float(eig.abs().max())
    top, bottom = eig.flip(0)[:2].tolist(), eig[:2].tolist()
    assert max(abs(a - b) for a, b in zip(d["eigen"]["top_values"], top)) <= rel * scale
    assert max(abs(a - b) for a, b in zip(d["eigen"]["bottom_values"], bottom)) <= rel * scale


@pytest.mark.parametrize("dtype, rel", [("float32", 1e-4), ("float64", 1e-8)])
def test_hessian_of_user_regression_model_matches_dense(usermod, dtype, rel):
    d = run("hessian", "--model", "usermod:factory", "--data", "usermod:data", "--loss", "mse", "--top", "2",
            "--bottom", "2", "--dtype", dtype, "--json")
    eig = dense_eigenvalues(usermod)
    assert eig[0] < 0 < eig[-1]          # an indefinite Hessian: both ends are real tests
    check_extremes(d, eig, rel)
    assert d["n"] == 32 and d["samples"] == 60 and d["loss"] == "mse" and d["streamed"] is False


@pytest.mark.parametrize("dtype, rel", [("float32", 1e-4), ("float64", 1e-8)])
def test_hessian_through_a_dataloader_streams_and_matches_dense(usermod, dtype, rel):
    d = run("hessian", "--model", "usermod:factory", "--data", "usermod:loader", "--loss", "mse", "--top", "2",
            "--bottom", "2", "--dtype", dtype, "--trace", "--json")
    assert d["streamed"] is True and d["samples"] == 60
    eig = dense_eigenvalues(usermod)
    check_extremes(d, eig, rel)
    assert d["trace"]["estimate"] == pytest.approx(float(eig.sum()), abs=rel * float(eig.abs().sum()))  # n < hvps


def test_user_loss_function_dict_batches_and_dict_outputs(usermod):
    half = lambda out, y: 0.5 * torch.nn.functional.mse_loss(out, y)
    eig = dense_eigenvalues(usermod, half)
    for extra in (["--data", "usermod:dict_batches", "--inputs", "x", "--targets", "y"],
                  ["--data", "usermod:dict_dataset", "--inputs", "x", "--targets", "y", "--batch-size", "7"]):
        d = run("hessian", "--model", "usermod:factory", "--loss", "usermod:half_mse", "--top", "2", "--bottom", "2",
                "--dtype", "float64", "--json", *extra)
        check_extremes(d, eig, 1e-8)
    net = make_model("usermod:factory", seed=0)
    d = run("hessian", "--model", "usermod:dict_model", "--data", "usermod:data", "--loss", "usermod:half_mse",
            "--output-key", "pred", "--dtype", "float64", "--top", "2", "--bottom", "2", "--json")
    assert d["n"] == sum(p.numel() for p in net.parameters())
    check_extremes(d, eig, 1e-8)       # DictNet's body is seeded like factory(): the same network


def test_every_network_command_takes_user_data(usermod, tmp_path):
    common = ["--model", "usermod:factory", "--loss", "mse", "--json"]
    land = run("landscape", *common, "--data", "usermod:loader", "--grid", "3", "--dtype", "float64",
               "--device", "cpu")
    net = make_model("usermod:factory", seed=0).double()
    X, Y = (t.double() for t in usermod.data())
    with torch.no_grad():
        want = float(torch.nn.functional.mse_loss(net(X), Y))
    assert land["origin_value"] == pytest.approx(want, rel=1e-12) and land["data_source"] == "usermod:loader"
    test = run("landscape", *common, "--data", "usermod:split", "--split", "test", "--grid", "2", "--dtype",
               "float64")
    with torch.no_grad():
        assert test["origin_value"] == pytest.approx(float(torch.nn.functional.mse_loss(net(X[40:]), Y[40:])),
                                                     rel=1e-12)
    train = run("train", *common, "--data", "usermod:split", "--steps", "10", "--eval-every", "5",
                "--checkpoint", str(tmp_path / "ck.pt"))
    assert train["history"]["test_loss"][-1] is not None and train["history"]["train_accuracy"][-1] is None
    from losslens.diagnose.training import load_checkpoint
    torch.save(load_checkpoint(tmp_path / "ck.pt")["model"], tmp_path / "b.pt")
    torch.save(net.float().state_dict(), tmp_path / "a.pt")
    line = run("interpolate", str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), *common, "--data", "usermod:data",
               "--points", "3")
    assert line["values"][0] == pytest.approx(want, rel=1e-5)
    flow = run("gradflow", *common, "--data", "usermod:data", "--steps", "3")
    assert flow["layers"] == ["0", "2"]
    gap = run("gap", *common, "--data", "usermod:split", "--sizes", "10,20,40", "--repeats", "1", "--steps", "5")
    assert gap["sizes"] == [10, 20, 40] and gap["data_source"] == "usermod:split"


def test_data_files_pt_and_npz(usermod, tmp_path):
    import numpy as np

    X, Y = usermod.data()
    torch.save((X.double(), Y.double()), tmp_path / "d.pt")
    np.savez(tmp_path / "d.npz", inputs=X.double().numpy(), targets=Y.double().numpy())
    eig = dense_eigenvalues(usermod)
    for path in ("d.pt", "d.npz"):
        d = run("hessian", "--model", "usermod:factory", "--data", str(tmp_path / path), "--loss", "mse",
                "--dtype", "float64", "--top", "2", "--bottom", "2", "--json")
        check_extremes(d, eig, 1e-8)


BAD = [
    (["--data", "usermod:wide", "--loss", "mse"], r"data \(--data\): the model cannot take inputs of shape \(60, 6\)"),
    (["--data", "usermod:data", "--loss", "hinge"], r"--loss == 'hinge', must be cross-entropy or mse"),
    (["--data", "usermod:labels"], r"--loss cross-entropy: a target is class 6 but the model outputs 2 classes"),
    (["--data", "usermod:int_targets", "--loss", "mse"], r"--loss mse: targets are int64; give floating targets"),
    (["--data", "usermod:data"], r"--loss cross-entropy: targets are float32 but not class probabilities"),
    (["--data", "usermod:needs_args", "--loss", "mse"], r"--data factory 'usermod:needs_args' needs arguments "
                                                        r"\['n'\]"),
    (["--model", "usermod:model_needs_args", "--data", "usermod:data"], r"needs arguments \['width'\]; --model "
                                                                          "takes a factory callable with none"),
    (["--data", "usermod:data", "--loss", "mse", "--device", "tpu"], r"--device == 'tpu', must be one of auto, "
                                                                     "cpu, cuda, mps"),
    (["--data", "nowhere.pt", "--loss", "mse"], r"--data == 'nowhere.pt': no such file"),
    (["--data", "usermod:shuffled", "--loss", "mse"], r"different batch \d on a second pass .*shuffle=False"),
    (["--data", "usermod:dict_batches", "--loss", "mse"], r"dicts with keys \['x', 'y'\]; .*--inputs KEY "
                                                          "--targets KEY"),
    (["--data", "usermod:dict_batches", "--loss", "mse", "--inputs", "x", "--targets", "z"],
     r"targets == 'z' is not a key of the data batches"),
    (["--model", "usermod:dict_model", "--data", "usermod:data", "--loss", "mse"],
     r"the model returns a dict with keys \['pred', 'aux'\]; .*--output-key KEY"),
    (["--data", "usermod:data", "--loss", "mse", "--mode", "test"], r"--mode == 'test', must be one of"),
    (["--data", "usermod:split", "--loss", "mse", "--split", "all", "--samples", "500"],
     r"--samples == 500, must be an integer in \[1, 60\]"),
    (["--data", "usermod:data", "--loss", "mse", "--split", "test"], r"--split test: --data 'usermod:data' has no "
                                                                     "test split"),
]


@pytest.mark.parametrize("args, match", BAD)
def test_bad_input_is_one_line_exit_2(usermod, capsys, args, match):
    import re

    argv = ["landscape" if "--split" in args else "hessian", *(["--model", "usermod:factory"]
                                                              if "--model" not in args else []), *args]
    if argv[0] == "landscape":
        argv += ["--grid", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(match, err), err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_absent_cuda_device_is_refused_by_every_command(usermod, capsys):
    for cmd in (["hessian"], ["landscape", "--grid", "2"], ["train", "--steps", "1"], ["gradflow", "--steps", "1"],
                ["gap", "--sizes", "10,20", "--steps", "1"]):
        assert main([*cmd, "--model", "usermod:factory", "--data", "usermod:split", "--loss", "mse",
                     "--device", "cuda"]) == 2
        err = capsys.readouterr().err.strip()
        assert err == "losslens: error: --device == 'cuda' is not present on this machine; use cpu or auto", err


def test_train_mode_batchnorm_streamed_dataset_matches_dense(usermod):
    from losslens.model import ModelObjective

    d = run("hessian", "--model", "usermod:bn_net", "--data", "usermod:labelled_dataset", "--batch-size", "20",
            "--mode", "train", "--dtype", "float64", "--top", "2", "--bottom", "2", "--json")
    assert d["streamed"] is True and d["mode"] == "train"
    X, y = usermod.labelled()
    # batch statistics over the same batches of 20; dense Hessian checked independently in test_model_shapes.py
    obj = ModelObjective(make_model("usermod:bn_net", seed=0), torch.nn.CrossEntropyLoss(), (X, y), batch_size=20,
                         mode="train", dtype=torch.float64)
    eig = torch.linalg.eigvalsh(obj.hessian(obj.x0))
    check_extremes(d, eig, 1e-8)
    whole = ModelObjective(make_model("usermod:bn_net", seed=0), torch.nn.CrossEntropyLoss(), (X, y), batch_size=60,
                           mode="train", dtype=torch.float64)
    assert abs(float(whole.value(whole.x0)) - d["value"]) > 1e-6     # batch statistics depend on the batch size


def test_every_training_command_takes_a_dict_output_by_its_key(usermod, tmp_path):
    # DictNet's body is seeded like factory(): with --output-key pred every command gives factory()'s numbers
    same = ["--loss", "mse", "--json", "--data", "usermod:split"]
    numbers = {"train": lambda d: d["history"]["train_loss"] + d["history"]["test_loss"] +
               [c["lambda_max"] for c in d["curvature"]],
               "gradflow": lambda d: [v for row in d["norms"] for v in row],
               "gap": lambda d: [r["test_loss"] for r in d["runs"]],
               "landscape": lambda d: [v for row in d["values"] for v in row]}
    for cmd, extra in (("train", ["--steps", "10", "--eval-every", "5", "--hessian-every", "10"]),
                       ("gradflow", ["--steps", "3"]),
                       ("gap", ["--sizes", "10,20", "--repeats", "1", "--steps", "5"]),
                       ("landscape", ["--grid", "3"])):
        plain = numbers[cmd](run(cmd, "--model", "usermod:factory", *same, *extra))
        picked = numbers[cmd](run(cmd, "--model", "usermod:dict_model", "--output-key", "pred", *same, *extra))
        assert len(plain) > 1 and picked == pytest.approx(plain, rel=1e-5, abs=1e-9), cmd
