import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from losslens.userdata import load_data
from losslens.validation import InputError

X, Y = torch.randn(10, 3), torch.randn(10, 1)

MODULE = """
import torch
from torch.utils.data import DataLoader, TensorDataset
X, Y = torch.randn(10, 3), torch.randn(10, 1)
def pair(): return X, Y
def loader(): return DataLoader(TensorDataset(X, Y), batch_size=4)
def both(): return (X, Y), loader()
def split(): return {"train": (X, Y), "test": {"x": X, "y": Y}}
def extra(): return {"train": (X, Y), "valid": (X, Y)}
def bad(): return 3
def bad_test(): return {"train": (X, Y), "test": 5}
def args(a, b=1): return X, Y
"""


@pytest.fixture
def datamod(tmp_path, monkeypatch):
    (tmp_path / "datamod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    import sys
    sys.modules.pop("datamod", None)
    return importlib.import_module("datamod")


def test_factories(datamod):
    d = load_data("datamod:pair")
    assert d.train[0] is datamod.X and d.test is None and d.source == "datamod:pair"
    assert isinstance(load_data("datamod:loader").train, DataLoader)
    d = load_data("datamod:both")
    assert d.train[1] is datamod.Y and isinstance(d.test, DataLoader)
    d = load_data("datamod:split")
    assert set(d.test) == {"x", "y"}


@pytest.mark.parametrize("spec, match", [
    ("datamod:extra", r"gave a dict with 'train' and also \['valid'\]"),
    ("datamod:bad", r"--data 'datamod:bad' gave int; it must give \(inputs, targets\) tensors"),
    ("datamod:bad_test", r"the test split is int"),
    ("datamod:args", r"--data factory 'datamod:args' needs arguments \['a'\]; give a factory callable with none"),
    ("datamod:nope", r"'datamod' has no callable 'nope' for --data"),
    ("nofile", r"--data == 'nofile': no such file, and not package.module:factory"),
    ("", r"--data == '', must be package.module:factory or a .pt / .npz file"),
])
def test_bad_factories(datamod, spec, match):
    with pytest.raises(InputError, match=match):
        load_data(spec)


def test_files(tmp_path):
    torch.save({"train": (X, Y), "test": (X[:3], Y[:3])}, tmp_path / "s.pt")
    d = load_data(str(tmp_path / "s.pt"))
    assert torch.equal(d.train[0], X) and torch.equal(d.test[1], Y[:3])
    np.savez(tmp_path / "a.npz", inputs=X.numpy(), targets=Y.numpy())
    d = load_data(str(tmp_path / "a.npz"))
    assert torch.equal(d.train["inputs"], X) and d.test is None
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(InputError, match=r"unknown file type '.csv'; use .pt"):
        load_data(str(tmp_path / "x.csv"))
    with pytest.raises(InputError, match=r"--data == '.*missing.pt': no such file"):
        load_data(str(tmp_path / "missing.pt"))
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(InputError, match=r"is not a readable .npz file"):
        load_data(str(tmp_path / "bad.npz"))
    torch.save(TensorDataset(X, Y), tmp_path / "pickled.pt")       # an object, not plain tensors
    with pytest.raises(InputError, match=r"cannot be loaded weights-only \(tensors, tuples, dicts\)"):
        load_data(str(tmp_path / "pickled.pt"))


@pytest.mark.parametrize("targets, kind", [(np.array(["a", "b", "c"]), "<U1"),
                                           (np.array([1 + 1j, 2j, 3]), "complex128"),
                                           (np.array(["2026-01-01"] * 3, dtype="datetime64[D]"), "datetime64")])
def test_npz_arrays_that_are_not_numbers_are_refused_in_one_line(tmp_path, targets, kind):
    # a string array used to escape as a TypeError (exit 1) from torch.from_numpy
    np.savez(tmp_path / "s.npz", inputs=np.zeros((3, 2), dtype=np.float32), targets=targets)
    with pytest.raises(InputError, match=rf"array 'targets' holds {kind}.* values; give numbers"):
        load_data(str(tmp_path / "s.npz"))


def test_refused_pt_files_say_why_without_torchs_unsafe_advice(tmp_path):
    # torch's first line advised weights_only=False (with terminal escapes); the reason is the global or the damage
    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    torch.save(Evil(), tmp_path / "evil.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a zip and not a pickle")
    with pytest.raises(InputError, match=r"weights-only \(tensors, tuples, dicts\): it needs pickle code execution "
                                         r"\(print\), refused$"):
        load_data(str(tmp_path / "evil.pt"))
    with pytest.raises(InputError, match=r"weights-only \(tensors, tuples, dicts\): not a torch tensor file "
                                         r"\(Unsupported operand \d+\)$"):
        load_data(str(tmp_path / "junk.pt"))
    with pytest.raises(InputError, match=r"needs pickle code execution to load \(refused; weights_only=True\): it "
                                         r"needs pickle code execution \(print\), refused$"):
        from losslens.diagnose.training import load_checkpoint
        load_checkpoint(tmp_path / "evil.pt")


def test_factories_may_return_numpy_arrays(tmp_path, monkeypatch):
    import sys

    (tmp_path / "npdata.py").write_text(
        "import numpy as np\n"
        "X = np.arange(12, dtype=np.float64).reshape(6, 2); y = np.array([0, 1, 0, 1, 1, 0])\n"
        "def pair():\n    return X, y\n"
        "def split():\n    return (X[:4], y[:4]), (X[4:], y[4:])\n"
        "def named():\n    return {'train': {'inputs': X, 'targets': y}, 'test': (X[4:], y[4:])}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("npdata", None)
    import npdata

    assert torch.equal(load_data("npdata:pair").train[0], torch.from_numpy(npdata.X))
    d = load_data("npdata:split")
    assert torch.equal(d.test[1], torch.tensor([1, 0])) and len(d.train[0]) == 4
    assert torch.equal(load_data("npdata:named").train["targets"], torch.from_numpy(npdata.y))
