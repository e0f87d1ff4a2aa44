import math
import os
import pickle
import signal

import pytest
import torch
from torch import nn

from losslens import InputError
from losslens.diagnose.training import (evaluate, load_checkpoint, state_dict_of, train, training_verdict)

G = torch.Generator().manual_seed(0)
X = torch.randn(120, 5, generator=G)
Y = (X[:, 0] + X[:, 1] > 0).long()
XT = torch.randn(60, 5, generator=G)
YT = (XT[:, 0] + XT[:, 1] > 0).long()


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2))


def run(**kw):
    kw = dict(dict(steps=30, eval_every=10, batch_size=16, lr=0.01, seed=3), **kw)
    return train(net(), nn.CrossEntropyLoss(), (X, Y), (XT, YT), **kw)


def test_interrupted_run_resumes_to_the_same_numbers(tmp_path):
    straight = run()
    ck = tmp_path / "ck.pt"

    def stop(step, steps, rec):
        if step == 13:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(checkpoint=ck, checkpoint_every=10, progress=stop)
    assert load_checkpoint(ck)["step"] == 13 and not list(tmp_path.glob("*.tmp"))
    resumed = run(checkpoint=ck, checkpoint_every=10)
    assert resumed.resumed_from == 13 and resumed.steps == 30
    assert resumed.history == straight.history
    for a, b in zip(resumed.model.parameters(), straight.model.parameters()):
        assert torch.equal(a, b)
    torch.testing.assert_close(resumed.gradflow.norms, straight.gradflow.norms, rtol=0, atol=0)


def test_checkpoint_is_a_weights_only_state_dict_and_bad_files_are_refused(tmp_path):
    ck = tmp_path / "ck.pt"
    run(checkpoint=ck)
    sd = state_dict_of(torch.load(ck, weights_only=True))
    assert set(sd) == set(net().state_dict())
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as fh:
        pickle.dump({"model": print}, fh)
    with pytest.raises(InputError, match="needs pickle code execution to load \\(refused|cannot be loaded with weights_only=True \\(refused"):
        load_checkpoint(evil)
    listing = tmp_path / "list.pt"
    torch.save([1, 2], listing)
    with pytest.raises(InputError, match="holds a list, not a state dict"):
        load_checkpoint(listing)
    torch.save({"a": 1}, listing)
    with pytest.raises(InputError, match="is not a state dict"):
        state_dict_of(load_checkpoint(listing), listing)
    with pytest.raises(InputError, match="is not a file"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_text("junk")
    with pytest.raises(InputError, match="cannot be read as a torch file|needs pickle"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(InputError, match="was written with lr == 0.01, this run has 0.5"):
        train(net(), nn.CrossEntropyLoss(), (X, Y), steps=30, batch_size=16, lr=0.5, seed=3, eval_every=10,
              checkpoint=ck)
    with pytest.raises(InputError, match="not a losslens training checkpoint"):
        torch.save(net().state_dict(), listing)
        run(checkpoint=listing)


def test_history_gap_and_model_untouched():
    model = net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    r = train(model, nn.CrossEntropyLoss(), (X, Y), (XT, YT), steps=20, eval_every=10, lr=0.01)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()) and not model.training
    assert all(p.grad is None for p in model.parameters())
    h = r.history
    assert h["step"] == [10, 20]
    loss, acc = evaluate(r.model, nn.CrossEntropyLoss(), (XT, YT))
    assert h["test_loss"][-1] == pytest.approx(loss) and h["test_accuracy"][-1] == acc
    assert h["error_gap"][-1] == pytest.approx((1 - h["test_accuracy"][-1]) - (1 - h["train_accuracy"][-1]))


def test_evaluate_counts_exactly():
    lin = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(2))
    Xs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    loss, acc = evaluate(lin, nn.CrossEntropyLoss(), (Xs, torch.tensor([0, 1, 1, 1])))
    assert acc == 0.75
    assert loss == pytest.approx(float(nn.CrossEntropyLoss()(Xs, torch.tensor([0, 1, 1, 1]))))


def test_curvature_over_training_matches_dense_hessian():
    r = run(steps=20, curvature_at=[20], curvature_samples=50)
    from losslens.model import ModelObjective
    obj = ModelObjective(r.model, nn.CrossEntropyLoss(), (X, Y), subset=50, seed=3, dtype=torch.float64)
    eig = torch.linalg.eigvalsh(obj.hessian(obj.x0))
    c = r.curvature[0]
    assert c["step"] == 20 and c["lambda_max"] == pytest.approx(float(eig[-1]), rel=1e-3)
    assert c["lambda_min"] == pytest.approx(float(eig[0]), rel=1e-2, abs=1e-4)


def test_nan_loss_is_a_verdict_not_a_crash():
    # finite data (NaN data is refused up front), a step so large the weights overflow: the loss turns NaN or inf
    r = train(net(), nn.CrossEntropyLoss(), (X, Y), steps=10, batch_size=32, seed=0, optimizer="sgd", lr=1e38)
    assert r.verdict == "not_finite" and r.steps < 10 and "NaN or inf" in r.reason


@pytest.mark.parametrize("acc, verdict", [((0.8, 0.78), "underfitting"), ((1.0, 0.85), "overfitting"),
                                          ((0.99, 0.97), "good_fit"), ((None, None), "unknown"),
                                          ((1.0, None), "unknown")])
def test_training_verdicts(acc, verdict):
    assert training_verdict({"step": [1], "train_accuracy": [acc[0]], "test_accuracy": [acc[1]]})[0] == verdict


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=0), r"steps == 0, must be an integer >= 1"),
    (dict(optimizer="lbfgs"), r"optimizer == 'lbfgs', must be one of 'adam', 'sgd'"),
    (dict(lr=0), r"lr == 0.0, must be > 0"),
    (dict(curvature_at=[99]), r"curvature_at == 99, must be an integer in \[1, 30\]"),
    (dict(eval_every=0), r"eval_every == 0, must be an integer >= 1"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        run(**kwargs)


def test_bad_data_and_model():
    with pytest.raises(InputError, match="train_data must be a pair"):
        train(net(), nn.CrossEntropyLoss(), X)
    with pytest.raises(InputError, match="train_data has 120 inputs and 3 targets"):
        train(net(), nn.CrossEntropyLoss(), (X, Y[:3]))
    with pytest.raises(InputError, match="model must be a torch.nn.Module"):
        train("mlp", nn.CrossEntropyLoss(), (X, Y))


def test_a_flipped_byte_in_a_checkpoint_is_refused_never_used(tmp_path):
    from flipbytes import flipped, positions, stored_files

    ck = tmp_path / "ck.pt"
    run(steps=10, checkpoint=ck)
    assert stored_files(tmp_path) == [ck]
    size = ck.stat().st_size
    for pos in positions(size):
        reason = ("its losslens checksum is missing or changed" if size - 81 <= pos < size - 64 else
                  "its sha256 does not match the content written")
        with flipped(ck, pos):
            with pytest.raises(InputError, match=rf"checkpoint '.*ck.pt' is corrupt \({reason}\); delete it to start "
                                                 "over"):
                run(steps=10, checkpoint=ck)
            with pytest.raises(InputError, match=r"is corrupt"):
                load_checkpoint(ck)
    assert run(steps=10, checkpoint=ck).resumed_from == 10             # restored: resumes


def test_resume_refuses_every_setting_that_shapes_the_numbers(tmp_path):
    ck = tmp_path / "ck.pt"
    run(checkpoint=ck, steps=30)
    other_init = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2))
    relu = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    relu.load_state_dict(net().state_dict())
    cases = [
        (dict(eval_every=5), r"eval_every \(--eval-every\) == 10, this run has 5"),
        (dict(curvature_at=[10]), r"curvature_at \(--hessian-every\) == \[\], this run has \[10\]"),
        (dict(steps=20), r"steps == 30, this run has 20"),
        (dict(steps=40), r"steps == 30, this run has 40"),
        (dict(batch_size=8), r"batch_size == 16, this run has 8"),
        (dict(seed=4), r"seed == 3, this run has 4"),
        (dict(monitor_gradients=False), r"monitor_gradients == True, this run has False"),
    ]
    for kw, match in cases:
        with pytest.raises(InputError, match=match + r"; rerun with the same settings to resume, or use another"):
            run(checkpoint=ck, **kw)
    kw = dict(steps=30, eval_every=10, batch_size=16, lr=0.01, seed=3, checkpoint=ck)
    with pytest.raises(InputError, match=r"was written with model.parameters == '[0-9a-f]+', this run has"):
        train(other_init, nn.CrossEntropyLoss(), (X, Y), (XT, YT), **kw)
    with pytest.raises(InputError, match=r"was written with model.architecture == "):
        train(relu, nn.CrossEntropyLoss(), (X, Y), (XT, YT), **kw)
    with pytest.raises(InputError, match=r"was written with train_data == "):
        train(net(), nn.CrossEntropyLoss(), (X + 1, Y), (XT, YT), **kw)
    with pytest.raises(InputError, match=r"was written with test_data == "):
        train(net(), nn.CrossEntropyLoss(), (X, Y), (XT[:30], YT[:30]), **kw)
    with pytest.raises(InputError, match=r"was written with loss == \"CrossEntropyLoss\(ignore_index=-100, "
                                         r"label_smoothing=0.0, reduction='mean'\)\", this run has "
                                         r".*label_smoothing=0.1"):
        train(net(), nn.CrossEntropyLoss(label_smoothing=0.1), (X, Y), (XT, YT), **kw)
    assert run(checkpoint=ck, steps=30).steps == 30                    # the same settings resume


def test_a_checkpoint_with_the_tag_but_other_content_is_refused_in_one_line(tmp_path):
    from losslens.storage import write_torch

    ck = tmp_path / "ck.pt"
    run(steps=10, checkpoint=ck)
    state = load_checkpoint(ck)
    state["history"] = [1, 2]                                     # sealed properly, but not a history
    write_torch(ck, state)
    with pytest.raises(InputError, match=r"has the losslens training tag but its content does not fit this run "
                                         r"\(AttributeError: .*\); use another checkpoint path"):
        run(steps=10, checkpoint=ck)
    del state["config"]
    write_torch(ck, state)
    with pytest.raises(InputError, match="records no settings"):
        run(steps=10, checkpoint=ck)
    torch.save({**state, "format": "losslens-train-v1"}, ck)
    with pytest.raises(InputError, match=r"written by an older losslens \(losslens-train-v1, without a checksum\)"):
        run(steps=10, checkpoint=ck)
    assert set(state_dict_of(load_checkpoint(ck), ck)) == set(net().state_dict())    # its weights still read


def test_a_nan_state_dict_is_refused_naming_the_tensor(tmp_path):
    sd = net().state_dict()
    sd["2.bias"] = torch.tensor([0.0, float("nan")])
    torch.save(sd, tmp_path / "nan.pt")
    with pytest.raises(InputError, match=r"has NaN or inf values in tensor '2.bias'; weights must be finite"):
        state_dict_of(load_checkpoint(tmp_path / "nan.pt"), tmp_path / "nan.pt")


class DictOut(nn.Module):
    """The network of ``net()`` with its logits as one entry of a dict output, beside an output no loss reads."""

    def __init__(self):
        super().__init__()
        self.inner, self.aux = net(), nn.Linear(5, 1)

    def forward(self, x):
        return {"aux": self.aux(x), "logits": self.inner(x)}


def test_a_dict_output_trains_evaluates_and_measures_curvature_like_its_tensor_output():
    # the same weights, the same minibatches: the selected output gives the numbers of the plain network
    torch.manual_seed(0)
    model = DictOut()
    kw = dict(steps=20, eval_every=10, batch_size=16, lr=0.01, seed=3, curvature_at=[20], curvature_samples=50)
    picked = train(model, nn.CrossEntropyLoss(), (X, Y), (XT, YT), output="logits", **kw)
    plain = train(model.inner, nn.CrossEntropyLoss(), (X, Y), (XT, YT), **kw)
    for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        assert picked.history[k] == pytest.approx(plain.history[k], rel=1e-6)
    assert picked.curvature[0]["lambda_max"] == pytest.approx(plain.curvature[0]["lambda_max"], rel=1e-4)
    loss, acc = evaluate(model, nn.CrossEntropyLoss(), (X, Y), output="logits")
    assert (loss, acc) == pytest.approx(evaluate(model.inner, nn.CrossEntropyLoss(), (X, Y)))
    with pytest.raises(InputError, match="not a key of the model's output"):
        train(model, nn.CrossEntropyLoss(), (X, Y), output="score", steps=2)


def _hand_sgd(model, X, y, steps, batch_size, lr, seed):
    """Plain minibatch SGD with the draws ``train`` documents (with replacement from a seeded generator)."""
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters()]
    for _ in range(steps):
        idx = torch.randint(0, len(X), (batch_size,), generator=gen)
        loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
    with torch.no_grad():
        out = model(X)
        return float(nn.functional.cross_entropy(out, y)), float((out.argmax(1) == y).double().mean())


@pytest.mark.parametrize("data_dtype", [torch.float32, torch.float16])
def test_a_float64_model_trains_on_data_of_another_float_dtype_like_a_hand_loop(data_dtype):
    # the data used to go in as it was: "mat1 and mat2 must have the same dtype" (exit 1 on the command line)
    model = net().double()
    Xd = X.to(data_dtype)
    r = train(model, nn.CrossEntropyLoss(), (Xd, Y), (XT.to(data_dtype), YT), steps=12, batch_size=16,
              optimizer="sgd", lr=0.1, seed=5, eval_every=12)
    loss, acc = _hand_sgd(net().double(), Xd.double(), Y, 12, 16, 0.1, 5)
    assert r.history["train_loss"][-1] == pytest.approx(loss, rel=1e-12)
    assert r.history["train_accuracy"][-1] == acc
    assert next(r.model.parameters()).dtype == torch.float64 and next(model.parameters()).dtype == torch.float64


def test_non_finite_data_is_refused_naming_the_split_and_sample():
    Xn, yt = X.clone(), XT[:, :2].clone()
    Xn[7, 3] = float("nan")
    with pytest.raises(InputError, match=r"train_data inputs has non-finite values \(sample 7 holds nan\)"):
        train(net(), nn.CrossEntropyLoss(), (Xn, Y), steps=1)
    yt[4, 1] = float("inf")
    with pytest.raises(InputError, match=r"test_data targets has non-finite values \(sample 4 holds inf\)"):
        train(net(), nn.MSELoss(), (X, X[:, :2]), (XT, yt), steps=1)
    with pytest.raises(InputError, match=r"train_data has inputs of shape \(\) and targets of shape \(120,\); both "
                                         "need samples along dim 0"):
        train(net(), nn.CrossEntropyLoss(), (torch.tensor(1.0), Y), steps=1)


class _OddSizes(nn.Module):
    """A forward that refuses batches of some sizes."""

    def __init__(self, refuse: int):
        super().__init__()
        self.lin, self.refuse = nn.Linear(5, 2), refuse

    def forward(self, x):
        if len(x) == self.refuse:
            raise RuntimeError(f"cannot take {len(x)} samples")
        return self.lin(x)


def test_a_model_failing_on_some_batch_size_is_one_input_error():
    with pytest.raises(InputError, match=r"the model or loss failed at training step 1 \(a minibatch of 16 "
                                         r"samples\): cannot take 16 samples"):
        train(_OddSizes(16), nn.CrossEntropyLoss(), (X, Y), steps=2, batch_size=16)
    with pytest.raises(InputError, match=r"the model or loss failed evaluating on 60 samples: cannot take 60 "
                                         "samples"):
        train(_OddSizes(60), nn.CrossEntropyLoss(), (X, Y), (XT, YT), steps=2, batch_size=16)


def test_a_loss_that_is_no_batch_mean_is_refused():
    with pytest.raises(InputError, match=r"loss_fn CrossEntropyLoss has reduction == 'sum'; the loss must be a batch "
                                         "mean"):
        train(net(), nn.CrossEntropyLoss(reduction="sum"), (X, Y), steps=1)
    with pytest.raises(InputError, match=r"failed at training step 1 \(a minibatch of 16 samples\): the loss must be "
                                         r"a scalar \(batch mean\), got \(16,\)"):
        train(net(), nn.CrossEntropyLoss(reduction="none"), (X, Y), steps=1, batch_size=16)


def test_class_weights_follow_the_models_dtype_in_a_copy():
    loss = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 4.0]))
    r = train(net().double(), loss, (X, Y), steps=3, batch_size=16, optimizer="sgd", lr=0.1, seed=2, eval_every=3)
    assert math.isfinite(r.history["train_loss"][-1]) and loss.weight.dtype == torch.float32


def _dropout_net():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))


def test_dropout_masks_follow_the_seed_and_a_resumed_run_equals_the_uninterrupted_one(tmp_path):
    # dropout drew from torch's global generator: two runs with one seed differed, and a resumed run continued with
    # another stream than the uninterrupted one (the checkpoint did not hold it)
    kw = dict(steps=20, eval_every=10, batch_size=16, lr=0.01, seed=3)
    before = torch.get_rng_state()
    first = train(_dropout_net(), nn.CrossEntropyLoss(), (X, Y), **kw)
    assert torch.equal(torch.get_rng_state(), before)                # the caller's stream is left alone
    torch.rand(7)                                                     # whatever the caller drew in between
    second = train(_dropout_net(), nn.CrossEntropyLoss(), (X, Y), **kw)
    assert first.history == second.history
    other = train(_dropout_net(), nn.CrossEntropyLoss(), (X, Y), **{**kw, "seed": 4})
    assert other.history["train_loss"] != first.history["train_loss"]

    def stop_at_10(step, steps, rec):
        if step == 10:
            raise KeyboardInterrupt

    path = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        train(_dropout_net(), nn.CrossEntropyLoss(), (X, Y), checkpoint=path, checkpoint_every=5, progress=stop_at_10,
              **kw)
    resumed = train(_dropout_net(), nn.CrossEntropyLoss(), (X, Y), checkpoint=path, checkpoint_every=5, **kw)
    assert resumed.resumed_from == 10 and resumed.history == first.history


def test_an_optimizer_step_that_overflows_is_a_not_finite_verdict():
    # Adam's step lr / (1 − β₁) with lr = 1e38 cannot be a float32: a RuntimeError escaped (exit 1)
    r = train(net(), nn.CrossEntropyLoss(), (X, Y), steps=5, batch_size=16, lr=1e38)
    assert r.verdict == "not_finite" and r.steps == 0
    assert r.reason == "the optimizer step overflowed the parameters' dtype at step 1 (learning rate 1e+38)"
    assert r.gradflow.verdict == "not_finite" and r.gradflow.reason == r.reason
    sgd = train(net(), nn.CrossEntropyLoss(), (X, Y), steps=5, batch_size=32, seed=0, optimizer="sgd", lr=1e38)
    assert sgd.verdict == "not_finite" and sgd.gradflow.verdict == "not_finite"    # not "healthy" over 1 step


def test_ctrl_c_inside_a_step_saves_the_finished_steps_only_and_the_resume_equals_the_uninterrupted_run(tmp_path):
    # a SIGINT during a step's forward pass saved the step counter with the minibatch generator (and the gradient
    # norms) already one batch on: the resumed run drew other batches than the uninterrupted one
    done = [-1]

    def interrupting_loss(out, target):
        if done[0] == 13:                         # inside step 14, after its minibatch was drawn
            done[0] = -1
            os.kill(os.getpid(), signal.SIGINT)
        return nn.functional.cross_entropy(out, target)

    def count(step, steps, rec):
        done[0] = step if done[0] >= 0 else -1

    def go(**kw):
        return train(net(), interrupting_loss, (X, Y), (XT, YT), steps=30, eval_every=10, batch_size=16, lr=0.01,
                     seed=3, **kw)

    straight = go()
    ck = tmp_path / "ck.pt"
    done[0] = 0
    with pytest.raises(KeyboardInterrupt):
        go(checkpoint=ck, checkpoint_every=10, progress=count)
    assert load_checkpoint(ck)["step"] == 14      # the step in progress was finished, none was lost
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    resumed = go(checkpoint=ck, checkpoint_every=10)
    assert resumed.resumed_from == 14 and resumed.history == straight.history
    for a, b in zip(resumed.model.parameters(), straight.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(resumed.gradflow.norms, straight.gradflow.norms, rtol=0, atol=0)
