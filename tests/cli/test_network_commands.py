import json
import pickle

import pytest
import torch
from typer.testing import CliRunner

from losslens.cli import app
from losslens.cli._app import main
from losslens.zoo import make_model

runner = CliRunner()


def run(*args):
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r


def test_hessian_json_matches_dense_hessian_of_the_same_objective():
    from torch import nn

    from losslens import ModelObjective, digits
    d = json.loads(run("hessian", "--model", "digits-linear", "--samples", "60", "--top", "2", "--bottom", "2",
                       "--dtype", "float64", "--json").stdout)
    obj = ModelObjective(make_model("digits-linear"), nn.CrossEntropyLoss(), digits().train, subset=60,
                         dtype=torch.float64)
    eig = torch.linalg.eigvalsh(obj.hessian(obj.x0))
    assert d["eigen"]["top_values"] == pytest.approx(eig.flip(0)[:2].tolist(), rel=1e-8)
    assert d["eigen"]["bottom_values"][0] == pytest.approx(float(eig[0]), abs=1e-8)   # 0: softmax shift invariance
    assert d["n"] == 650 and d["samples"] == 60 and d["curvature"] == "positive_semidefinite"
    assert d["randomness"] == "none (eval mode)"
    small = json.loads(run("hessian", "--model", "digits-linear", "--samples", "60", "--top", "2", "--bottom", "2",
                           "--dtype", "float64", "--memory", "0.0001", "--json").stdout)    # 100 kB: 11 vectors
    assert small["eigen"]["thick_restarts"] > 0 and small["eigen"]["basis_size"] < 20
    assert small["eigen"]["top_values"] == pytest.approx(eig.flip(0)[:2].tolist(), rel=1e-8)


def test_train_checkpoint_then_hessian_and_plots(tmp_path):
    ck, fig = tmp_path / "ck.pt", tmp_path / "curves.png"
    d = json.loads(run("train", "--model", "digits-small-mlp", "--steps", "20", "--eval-every", "10",
                       "--hessian-every", "20", "--checkpoint", str(ck), "--plot", str(fig),
                       "--plot-hessian", str(tmp_path / "eig.png"), "--json").stdout)
    assert d["steps"] == 20 and d["history"]["step"] == [10, 20] and len(d["curvature"]) == 1
    assert fig.stat().st_size > 0 and (tmp_path / "eig.png").stat().st_size > 0
    r = run("hessian", "--model", "digits-small-mlp", "--checkpoint", str(ck), "--samples", "100", "--top", "1",
            "--bottom", "1", "--trace", "--trace-hvps", "12", "--density", "--probes", "1", "--steps", "5",
            "--plot", str(tmp_path / "density.png"))
    assert "trace ≈" in r.stdout and "density" in r.stdout and (tmp_path / "density.png").exists()
    again = run("train", "--model", "digits-small-mlp", "--steps", "20", "--eval-every", "10", "--hessian-every",
                "20", "--checkpoint", str(ck))
    assert "resumed at step 20" in again.stdout


def test_gradflow_and_gap_commands(tmp_path):
    d = json.loads(run("gradflow", "--model", "digits-deep-sigmoid", "--steps", "3", "--json",
                       "--plot", str(tmp_path / "flow.png")).stdout)
    assert d["verdict"] == "vanishing" and len(d["layers"]) == 9
    g = json.loads(run("gap", "--model", "digits-linear", "--sizes", "40,80,160", "--repeats", "1", "--steps", "30",
                       "--lr", "0.05", "--json", "--plot", str(tmp_path / "gap.png")).stdout)
    assert g["sizes"] == [40, 80, 160] and len(g["runs"]) == 3 and (tmp_path / "gap.png").exists()
    assert "error gap" in run("gap", "--model", "digits-linear", "--sizes", "40,80", "--repeats", "1", "--steps",
                              "5").stdout


def test_bad_input_exit_2_one_line(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"model": print}))
    notdict = tmp_path / "list.pt"
    torch.save([1.0], notdict)
    other = tmp_path / "other.pt"
    torch.save(make_model("digits-linear").state_dict(), other)
    transposed = tmp_path / "transposed.pt"      # the message used to be torch's, cut at 160 characters
    torch.save({k: v.T.contiguous() if v.dim() == 2 else v for k, v in
                make_model("digits-small-mlp").state_dict().items()}, transposed)
    cases = [
        (["hessian", "--model", "nosuch.module:make"], "cannot import 'nosuch.module'"),
        (["hessian", "--model", "digits-mlp", "--checkpoint", str(evil)], "cannot be loaded with weights_only=True (refused"),
        (["hessian", "--model", "digits-mlp", "--checkpoint", str(notdict)], "holds a list, not a state dict"),
        (["hessian", "--model", "digits-mlp", "--checkpoint", str(other)], "does not fit model 'digits-mlp': it has "
                                                                             "no tensor '0.weight'"),
        (["gradflow", "--model", "digits-small-mlp", "--checkpoint", str(transposed)],
         "does not fit model 'digits-small-mlp': tensor '0.weight' has shape (64, 16), the model needs (16, 64)"),
        (["hessian", "--model", "digits-linear", "--samples", "50", "--plot", str(tmp_path / "d.png")],
         "--plot draws the spectral density: add --density"),
        (["hessian", "--model", "digits-linear", "--dtype", "float16"], "--dtype == 'float16'"),
        (["hessian", "--model", "digits-linear", "--trace-hvps", "3"], "--trace-hvps == 3"),
        (["hessian", "--model", "digits-linear", "--top", "0", "--bottom", "0", "--samples", "20"],
         "ask for at least one eigenvalue"),
        (["hessian", "--model", "digits-linear", "--samples", "20", "--memory", "1e-6"],
         "is too small: Lanczos on n == 650 parameters needs at least"),
        (["hessian", "--model", "digits-linear", "--memory", "-1"], "--memory == -1.0, must be > 0"),
        (["gap", "--sizes", "10,x"], "--sizes == '10,x', must be comma-separated integers"),
        (["gap", "--sizes", "10"], "need at least two different"),
        (["gap", "--sizes", "10,5000", "--steps", "1"], "--sizes == 5000, must be an integer in [2, 1348]"),
        (["gap", "--sizes", "10,20", "--repeats", "0", "--steps", "1"], "--repeats == 0, must be an integer"),
        (["train", "--steps", "0"], "--steps == 0"),
        (["train", "--optimizer", "rmsprop", "--steps", "1"], "optimizer == 'rmsprop'"),
        (["gradflow", "--model", "nope"], "unknown model 'nope'"),
    ]
    for args, message in cases:
        code = main(args)
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (args, err)


def test_train_resume_refuses_other_cadence_and_steps_gap_store_refuses_another_model(tmp_path):
    ck = tmp_path / "ck.pt"
    base = ["train", "--model", "digits-linear", "--steps", "6", "--eval-every", "3", "--checkpoint", str(ck)]
    run(*base)
    cases = [(["--eval-every", "2"], "eval_every (--eval-every) == 3, this run has 2"),
             (["--hessian-every", "3"], "curvature_at (--hessian-every) == [], this run has [3, 6]"),
             (["--steps", "4"], "steps == 6, this run has 4"),
             (["--seed", "1"], "model.parameters == ")]
    for extra, message in cases:
        args = base + extra if extra[0] != "--steps" else base[:3] + extra + base[5:]
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, (extra, r.output)
    assert "resumed at step 6" in run(*base).stdout
    store = tmp_path / "gap.json"
    gap = ["gap", "--sizes", "40,80", "--repeats", "1", "--steps", "3", "--store", str(store)]
    run(*gap, "--model", "digits-linear")
    r = runner.invoke(app, gap + ["--model", "digits-small-mlp"])
    assert r.exit_code == 2 and "was written with other settings (model.0.architecture" in r.stderr, r.output


def test_an_output_path_that_cannot_be_made_is_exit_2_before_the_work(tmp_path, capsys):
    # FileNotFoundError/NotADirectoryError were internal errors (exit 1), the checkpoint's after the whole run
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    for args in (["train", "--model", "digits-linear", "--steps", "100000", "--checkpoint", str(blocker / "c.pt")],
                 ["gap", "--model", "digits-linear", "--sizes", "10,20", "--steps", "100000", "--store",
                  str(blocker / "s.json")],
                 ["landscape", "--model", "digits-linear", "--grid", "2", "--samples", "20", "--out",
                  str(blocker / "L")]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"losslens: error: cannot write or read '{blocker}") and \
            err.endswith(("Not a directory", "File exists")) and len(err.splitlines()) == 1, err
