import pytest
import torch
from torch import nn

from losslens.losses import CrossEntropy, MSE, check_loss_inputs, loss_on, make_loss, sample_mass
from losslens.validation import InputError

out = torch.randn(6, 3)


def test_names_and_callables():
    assert isinstance(make_loss("cross-entropy", "--loss"), nn.CrossEntropyLoss)
    assert isinstance(make_loss("MSE"), nn.MSELoss) and make_loss("mse", "--loss").flag == "--loss"
    fn = lambda o, y: (o - y).abs().mean()
    assert make_loss(fn) is fn
    y = torch.randn(6, 3)
    assert make_loss("mse")(out, y).item() == pytest.approx(((out - y) ** 2).mean().item(), rel=1e-6)


def test_user_loss_spec(tmp_path, monkeypatch):
    (tmp_path / "lossmod.py").write_text("import torch\nfrom torch import nn\n"
                                         "def l1(o, y):\n    return (o - y).abs().mean()\n"
                                         "class Huber(nn.HuberLoss):\n    pass\n"
                                         "class Needs(nn.Module):\n    def __init__(self, w):\n        super().__init__()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    y = torch.zeros(6, 3)
    assert make_loss("lossmod:l1")(out, y).item() == pytest.approx(out.abs().mean().item())
    assert isinstance(make_loss("lossmod:Huber"), nn.HuberLoss)
    with pytest.raises(InputError, match=r"--loss == 'lossmod:Needs' is a class needing arguments \['w'\]"):
        make_loss("lossmod:Needs", "--loss")
    with pytest.raises(InputError, match=r"has no callable 'nope' for --loss 'lossmod:nope'"):
        make_loss("lossmod:nope", "--loss")
    with pytest.raises(InputError, match=r"cannot import 'nomod' for --loss"):
        make_loss("nomod:fn", "--loss")


@pytest.mark.parametrize("spec, match", [
    ("hinge", r"--loss == 'hinge', must be cross-entropy or mse, or package.module:fn"),
    (3, r"--loss == 3, must be cross-entropy, mse, package.module:fn or a callable"),
    ("a b:c", r"--loss 'a b:c' must look like package.module:fn"),
])
def test_bad_loss_specs(spec, match):
    with pytest.raises(InputError, match=match):
        make_loss(spec, "--loss")


@pytest.mark.parametrize("loss, o, y, match", [
    (CrossEntropy("--loss"), out, torch.tensor([0, 1, 2, 3, 0, 1]), r"a target is class 3 but the model outputs 3 "
                                                                    r"classes .* integers in 0..2"),
    (CrossEntropy("--loss"), out, torch.tensor([0, 1, 2, -1, 0, 1]), r"a target is class -1"),
    (CrossEntropy("--loss"), out, torch.zeros(6, 1, dtype=torch.long), r"targets have shape \(6, 1\), .* shape \(6,\)"),
    (CrossEntropy("--loss"), out, torch.zeros(6), r"targets are float32 of shape \(6,\); give integer class labels"),
    (CrossEntropy("--loss"), out, torch.full((6, 3), 0.5), r"not class probabilities"),
    (CrossEntropy("--loss"), out, torch.zeros(6, dtype=torch.bool), r"targets are torch.bool; give int64"),
    (CrossEntropy("--loss"), torch.randn(6, 1), torch.zeros(6, dtype=torch.long), r"outputs 1 class score"),
    (CrossEntropy("--loss"), torch.tensor(1.0), torch.zeros(6, dtype=torch.long), r"needs class scores \[N, C\]"),
    (MSE("--loss"), out, torch.zeros(6, 3, dtype=torch.long), r"--loss mse: targets are int64; give floating"),
    (MSE("--loss"), torch.randn(6, 1), torch.zeros(6), r"targets have shape \(6,\), the model outputs \(6, 1\)"),
    (MSE("--loss"), {"a": out}, torch.zeros(6), r"needs a tensor output from the model, got dict"),
    (nn.MSELoss(), torch.randn(6, 1), torch.zeros(6), r"loss_fn \(mse\) mse: targets have shape"),
    # elementwise losses broadcast [6] against [6, 1] to [6, 6] (a silently wrong number, a warning at most)
    (nn.L1Loss(), torch.randn(6, 1), torch.zeros(6), r"loss_fn L1Loss: targets have shape \(6,\), the model outputs "
                                                     r"\(6, 1\); give targets of the output's shape"),
    (nn.HuberLoss(), torch.randn(6, 1), torch.zeros(6), r"loss_fn HuberLoss: targets have shape \(6,\)"),
    (nn.SmoothL1Loss(), torch.randn(6, 2), torch.zeros(6, 1), r"loss_fn SmoothL1Loss: targets have shape \(6, 1\)"),
    (nn.KLDivLoss(reduction="batchmean"), torch.randn(6, 3), torch.zeros(3), r"loss_fn KLDivLoss: targets have"),
    (nn.PoissonNLLLoss(), torch.randn(6, 1), torch.zeros(6), r"loss_fn PoissonNLLLoss: targets have shape"),
    (nn.L1Loss(), {"a": out}, torch.zeros(6), r"loss_fn L1Loss needs a tensor output from the model, got dict"),
    # a batch sum weights each batch by its size in the mean over samples; 'none' is no scalar
    (nn.MSELoss(reduction="sum"), out, torch.zeros(6, 3), r"loss_fn MSELoss has reduction == 'sum'; the loss must "
                                                          "be a batch mean: use reduction='mean'"),
])
def test_target_checks(loss, o, y, match):
    with pytest.raises(InputError, match=match):
        check_loss_inputs(loss, o, y)


def test_valid_targets_pass():
    check_loss_inputs(CrossEntropy(), out, torch.tensor([0, 1, 2, 2, 0, -100]))      # ignore_index allowed
    check_loss_inputs(CrossEntropy(), out, torch.softmax(out, 1))
    check_loss_inputs(CrossEntropy(), torch.randn(2, 3, 5), torch.zeros(2, 5, dtype=torch.long))   # [N, C, d]
    check_loss_inputs(MSE(), out, torch.randn(6, 3))
    check_loss_inputs(lambda o, y: o.sum(), out, "anything")


def test_sample_mass_is_what_the_batch_mean_divides_by():
    y = torch.tensor([0, 2, 2, 1, -100, 0])
    w = torch.tensor([1.0, 3.0, 0.5])
    for loss, mass in ((nn.CrossEntropyLoss(), 5.0), (nn.CrossEntropyLoss(weight=w), 1 + 0.5 + 0.5 + 3 + 1),
                       (nn.NLLLoss(weight=w, ignore_index=-100), 1 + 0.5 + 0.5 + 3 + 1), (nn.MSELoss(), 6.0)):
        assert sample_mass(loss, y) == mass
        if isinstance(loss, (nn.CrossEntropyLoss, nn.NLLLoss)):      # the batch mean is the sum / the mass
            summed = type(loss)(weight=loss.weight, ignore_index=loss.ignore_index, reduction="sum")
            assert float(loss(out.log_softmax(1), y)) == pytest.approx(float(summed(out.log_softmax(1), y)) / mass)
    assert sample_mass(nn.CrossEntropyLoss(weight=w, ignore_index=2), y.clamp_min(0)) == 1 + 3 + 1 + 1
    assert sample_mass(nn.CrossEntropyLoss(weight=w), torch.softmax(out, 1)) == 6.0     # probabilities: per sample


def test_loss_on_moves_class_weights_in_a_copy():
    loss = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 3.0, 0.5]))
    moved = loss_on(loss, torch.float64, "cpu")
    assert moved is not loss and moved.weight.dtype == torch.float64 and loss.weight.dtype == torch.float32
    assert loss_on(loss, torch.float32, "cpu") is loss and loss_on(nn.MSELoss(), torch.float64, "cpu") is not None
    fn = lambda o, y: o.sum()
    assert loss_on(fn, torch.float64, "cpu") is fn
