import pytest
import torch

from losslens import InputError
from losslens.datasets import digits


def test_digits_split_shapes_and_standardisation():
    s = digits(seed=0)
    assert s.X_train.shape == (1348, 64) and s.X_test.shape == (449, 64) and s.y_train.dtype == torch.int64
    assert s.X_train.dtype == torch.float32
    m = s.X_train.mean(0)
    assert m.abs().max().item() < 1e-5
    assert set(s.y_test.tolist()) == set(range(10))
    assert torch.equal(digits(seed=0).X_test, s.X_test) and not torch.equal(digits(seed=1).X_test, s.X_test)


def test_train_size_keeps_test_set():
    s = digits(seed=0, train_size=100)
    assert len(s.X_train) == 100 and torch.equal(s.y_test, digits(seed=0).y_test)


@pytest.mark.parametrize("kw, match", [(dict(test_fraction=1.0), r"test_fraction == 1.0, must be in \(0, 1\)"),
                                       (dict(train_size=0), r"train_size == 0, must be an integer in \[1, 1348\]")])
def test_bad_input(kw, match):
    with pytest.raises(InputError, match=match):
        digits(**kw)
