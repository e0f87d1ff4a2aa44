import json

import pytest
import torch
from typer.testing import CliRunner

from losslens.cli import app
from losslens.zoo import make_model

runner = CliRunner()
MODEL = ["landscape", "--model", "digits-small-mlp", "--grid", "5", "--samples", "200"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_expression_landscape_json_and_figures(tmp_path):
    r = run("landscape", "x^2 - y^2", "--box=-1:1,-2:2", "--grid", "5", "--json", "--plot", tmp_path / "c.png",
            "--plot", tmp_path / "s.html")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["shape"] == [5, 5] and d["axes"][1] == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert d["values"][0][0] == 1.0 - 4.0 and d["min"] == -4.0 and d["max"] == 1.0 and d["argmin"] in ([0.0, -2.0], [0.0, 2.0])
    assert (tmp_path / "c.png").exists() and (tmp_path / "s.html").exists()


def test_model_landscape_resumes_and_refuses_other_settings(tmp_path):
    first = run(*MODEL, "--out", tmp_path / "s", "--json")
    assert first.exit_code == 0, first.output
    again = json.loads(run(*MODEL, "--out", tmp_path / "s", "--json").stdout)
    assert again["points_computed"] == 0 and again["values"] == json.loads(first.stdout)["values"]
    r = run(*MODEL, "--seed", "1", "--out", tmp_path / "s")
    assert r.exit_code == 2 and "other settings" in r.output and "--fresh" in r.output
    r = run(*MODEL, "--seed", "1", "--out", tmp_path / "s", "--fresh")
    assert r.exit_code == 0 and "25 points computed" in r.stdout


def test_a_model_store_is_not_resumed_with_another_method(tmp_path):
    # fast, values and loop agree to float32 rounding only: a store of one resumed with another mixed the two
    assert run(*MODEL, "--method", "fast", "--chunk", "5", "--out", tmp_path / "s").exit_code == 0
    r = run(*MODEL, "--method", "loop", "--chunk", "5", "--out", tmp_path / "s")
    assert r.exit_code == 2 and r.stderr.strip() == (
        f"losslens: error: store {str(tmp_path / 's')!r} was made with other settings (objective.method fast there, "
        "loop now); rerun with the same settings to resume, or start fresh with another --out or --fresh")
    assert run(*MODEL, "--chunk", "5", "--out", tmp_path / "s").exit_code == 0     # auto is fast here


def test_a_corrupt_chunk_is_recomputed_with_a_note_on_stderr(tmp_path):
    args = ["landscape", "x^2 - y^2", "--box=-1:1,-2:2", "--grid", "5", "--chunk", "10", "--out", tmp_path / "s",
            "--json"]
    first = run(*args)
    chunk = tmp_path / "s" / "chunks" / "00001.npy"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x10
    chunk.write_bytes(bytes(data))
    again = run(*args)
    assert again.exit_code == 0 and json.loads(again.stdout)["values"] == json.loads(first.stdout)["values"]
    assert again.stderr.strip() == (f"losslens: note: chunks/00001.npy in store {str(tmp_path / 's')!r} is corrupt "
                                    "(its sha256 does not match the content written): deleted, recomputed")
    assert json.loads(again.stdout)["points_computed"] == 10


def test_a_store_of_the_other_variable_order_is_refused_never_reused(tmp_path):
    # with --vars y,x the first axis is y over the first interval of --box: other values; the store of x,y was reused
    args = ["landscape", "x^2 - y", "--box=-1:1,-2:2", "--grid", "3", "--out", tmp_path / "s", "--json"]
    xy = json.loads(run(*args).stdout)
    assert xy["min"] == -2.0 and xy["vars"] == "x,y"      # x in [-1, 1], y in [-2, 2]: x^2 - y >= -2
    r = run(*args, "--vars", "y,x")
    assert r.exit_code == 2 and r.stderr.strip() == (
        f"losslens: error: store {str(tmp_path / 's')!r} was made with other settings (vars x,y there, y,x now); "
        "rerun with the same settings to resume, or start fresh with another --out or --fresh")
    yx = json.loads(run(*args, "--vars", "y,x", "--fresh").stdout)
    assert yx["min"] == -1.0 and yx["vars"] == "y,x"      # y in [-1, 1], x in [-2, 2]: x^2 - y >= -1


def test_interpolate_endpoints(tmp_path):
    a, b = make_model("digits-small-mlp", seed=0), make_model("digits-small-mlp", seed=1)
    torch.save(a.state_dict(), tmp_path / "a.pt")
    torch.save(b.state_dict(), tmp_path / "b.pt")
    r = run("interpolate", tmp_path / "a.pt", tmp_path / "b.pt", "--model", "digits-small-mlp", "--points", "3",
            "--samples", "100", "--json", "--plot", tmp_path / "line.png")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    from losslens.cli.landscape import model_objective

    obj_a, _ = model_objective("digits-small-mlp", tmp_path / "a.pt", "train", 100, "float32", 0)
    obj_b, _ = model_objective("digits-small-mlp", tmp_path / "b.pt", "train", 100, "float32", 0)
    assert d["values"][0] == pytest.approx(float(obj_a.value(obj_a.x0)), rel=1e-5)
    assert d["values"][2] == pytest.approx(float(obj_b.value(obj_b.x0)), rel=1e-5)
    assert (tmp_path / "line.png").exists()


@pytest.mark.parametrize("args, message", [
    (MODEL[:3] + ["--grid", "1"], "--grid == 1, must be an integer >= 2"),
    (MODEL + ["--range", "1:-1"], "--range == '1:-1', must have lo < hi"),
    (MODEL + ["--dirs", "sideways"], "--dirs == 'sideways', must be one of"),
    (MODEL + ["--split", "dev"], "--split == 'dev', must be one of"),
    (MODEL + ["--trajectory", "x.pt"], "--trajectory is only used with --dirs pca"),
    (MODEL + ["--dirs", "pca"], "--dirs pca needs --trajectory with at least 3 checkpoints, got 0"),
    (["landscape", "x+y+z", "--box=-1:1"], "needs 1 or 2 variables"),
    (["landscape", "x^2"], "--box is missing"),
    (["landscape"], "give exactly one of EXPR and --model"),
    (["landscape", "x^2", "--box=-1:1", "--kind", "wire"], "--kind == 'wire', must be one of"),
    (["interpolate", "nope.pt", "nope.pt"], "checkpoint 'nope.pt' does not exist"),
    (["interpolate", "a.pt", "b.pt", "--points", "1"], "--points == 1, must be an integer in [2, 1001]"),
    (["interpolate", "a.pt", "b.pt", "--points", "4001"], "--points == 4001, must be an integer in [2, 1001]"),
])
def test_bad_input_exits_2(args, message):
    r = run(*args)
    assert r.exit_code == 2 and message in r.output, r.output


def test_checkpoint_of_another_architecture_names_the_tensor(tmp_path):
    torch.save(make_model("digits-mlp").state_dict(), tmp_path / "mlp.pt")
    torch.save(make_model("digits-small-mlp").state_dict(), tmp_path / "small.pt")
    r = run("interpolate", tmp_path / "small.pt", tmp_path / "mlp.pt", "--model", "digits-small-mlp")
    assert r.exit_code == 2 and "mlp.pt' is for another architecture: tensor '0.weight'" in r.output
    torch.save({**make_model("digits-small-mlp").state_dict(), "9.weight": torch.zeros(1)}, tmp_path / "extra.pt")
    r = run("interpolate", tmp_path / "small.pt", tmp_path / "extra.pt", "--model", "digits-small-mlp")
    assert r.exit_code == 2 and "the model has no tensor '9.weight'" in r.output
    missing = make_model("digits-small-mlp").state_dict()
    del missing["2.bias"]
    torch.save(missing, tmp_path / "missing.pt")
    r = run("interpolate", tmp_path / "small.pt", tmp_path / "missing.pt", "--model", "digits-small-mlp")
    assert r.exit_code == 2 and "missing.pt' is for another architecture: it has no tensor '2.bias'" in r.output
    r = run("interpolate", tmp_path / "small.pt", tmp_path / "small.pt", "--model", "digits-mlp")
    assert r.exit_code == 2 and "small.pt' is for another architecture: tensor '0.weight' has shape (16, 64)" in r.output
    r = run(*MODEL, "--checkpoint", tmp_path / "mlp.pt")
    assert r.exit_code == 2 and "tensor '0.weight' has shape (128, 64), the model needs (16, 64)" in r.output
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    r = run(*MODEL, "--checkpoint", tmp_path / "junk.pt")
    assert r.exit_code == 2 and "cannot be loaded with weights_only=True (refused" in r.output
    torch.save([1, 2], tmp_path / "list.pt")
    r = run(*MODEL, "--checkpoint", tmp_path / "list.pt")
    assert r.exit_code == 2 and "holds a list, not a state dict" in r.output


def test_pca_trajectory(tmp_path):
    base = make_model("digits-small-mlp", seed=0).state_dict()
    for t in range(4):
        torch.save({k: v * (1 + 0.1 * t) + 0.01 * t * t for k, v in base.items()}, tmp_path / f"step{t}.pt")
    r = run(*MODEL, "--dirs", "pca", "--trajectory", tmp_path, "--checkpoint", tmp_path / "step3.pt", "--json",
            "--plot", tmp_path / "traj.png")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["directions"]["kind"] == "pca" and len(d["directions"]["info"]["coordinates"]) == 4
    assert sum(d["directions"]["info"]["explained_variance_ratio"]) == pytest.approx(1.0)


def test_a_landscape_without_a_finite_value_is_reported_not_a_crash():
    # the summary joined argmin = None: TypeError, exit 1
    r = runner.invoke(app, ["landscape", "log(-1 - x^2 - y^2)", "--box=-1:1,-1:1", "--grid", "3"])
    assert r.exit_code == 0, r.output
    assert "f at origin nan   no finite value   non-finite 9" in r.output
