import pytest
import torch
from torch import nn

from losslens import InputError
from losslens.datasets import digits
from losslens.zoo import MODELS, make_model


@pytest.mark.parametrize("name", list(MODELS))
def test_models_run_on_digits_and_are_seeded(name):
    X = digits().X_test[:5]
    state = torch.random.get_rng_state()
    a, b = make_model(name, seed=3), make_model(name, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)       # global RNG untouched
    assert a(X).shape == (5, 10)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_mlp_size():
    assert sum(p.numel() for p in make_model("digits-mlp").parameters()) == 64 * 128 + 128 + 128 * 128 + 128 + 1290


def test_user_factory_and_errors():
    m = make_model("torch.nn:Identity")
    assert isinstance(m, nn.Identity)
    with pytest.raises(InputError, match="unknown model 'resnet'; built-in: digits-linear"):
        make_model("resnet")
    with pytest.raises(InputError, match="cannot import 'no_such_pkg_xyz'"):
        make_model("no_such_pkg_xyz:f")
    with pytest.raises(InputError, match="has no callable 'Nope'"):
        make_model("torch.nn:Nope")
    with pytest.raises(InputError, match="must look like package.module:factory"):
        make_model("a b:c")
    with pytest.raises(InputError, match="returned int, not a torch.nn.Module"):
        make_model("math:floor") if False else make_model("builtins:int")


def test_user_code_that_raises_is_an_input_error_naming_it(tmp_path, monkeypatch):
    # a factory raising (a bad config, a missing file) escaped as an internal error (exit 1)
    import sys

    from losslens.losses import make_loss
    from losslens.userdata import load_data

    (tmp_path / "failing.py").write_text(
        "def model():\n    raise ValueError('bad config')\n"
        "def data():\n    raise FileNotFoundError('train.csv')\n"
        "class Loss:\n    def __init__(self):\n        raise RuntimeError('no weights')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("failing", None)
    with pytest.raises(InputError, match=r"^model factory 'failing:model' failed: ValueError: bad config$"):
        make_model("failing:model")
    with pytest.raises(InputError, match=r"^--data factory 'failing:data' failed: FileNotFoundError: train.csv$"):
        load_data("failing:data")
    with pytest.raises(InputError, match=r"^--loss class 'failing:Loss' failed: RuntimeError: no weights$"):
        make_loss("failing:Loss", "--loss")
