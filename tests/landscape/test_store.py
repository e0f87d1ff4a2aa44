import numpy as np
import pytest
import torch

from losslens.landscape.store import LandscapeStore, fingerprint
from losslens.validation import InputError

MANIFEST = {"grid": [3, 3], "directions": {"kind": "filter", "seed": 0}}


def test_chunks_roundtrip_and_resume(tmp_path):
    s = LandscapeStore.open(tmp_path / "s", MANIFEST, points=9, chunk=4)
    assert s.n_chunks == 3 and s.chunk_range(2) == (8, 9)
    s.write_chunk(0, np.arange(4.0))
    s.write_chunk(2, np.array([8.0]))
    again = LandscapeStore.open(tmp_path / "s", MANIFEST, points=9, chunk=4)
    assert again.done() == {0, 2}
    again.write_chunk(1, np.arange(4.0, 8.0))
    assert np.array_equal(again.assemble(), np.arange(9.0))


def test_other_settings_refused_with_how_to_start_fresh(tmp_path):
    LandscapeStore.open(tmp_path / "s", MANIFEST, points=9, chunk=4)
    other = {**MANIFEST, "directions": {"kind": "filter", "seed": 1}}
    with pytest.raises(InputError, match=r"other settings \(directions.seed 0 there, 1 now\).*--fresh"):
        LandscapeStore.open(tmp_path / "s", other, points=9, chunk=4)
    with pytest.raises(InputError, match=r"other settings \(chunk 4 there, 3 now\)"):
        LandscapeStore.open(tmp_path / "s", MANIFEST, points=9, chunk=3)
    s = LandscapeStore.open(tmp_path / "s", other, points=9, chunk=4, fresh=True)
    assert s.done() == set()


def test_partial_and_corrupt_chunks_are_discarded(tmp_path):
    s = LandscapeStore.open(tmp_path / "s", MANIFEST, points=9, chunk=4)
    s.write_chunk(0, np.arange(4.0))
    s.write_chunk(1, np.arange(4.0))
    (tmp_path / "s" / "chunks" / "00002.npy.123.tmp").write_bytes(b"\x93NUMPY half")
    full = (tmp_path / "s" / "chunks" / "00001.npy").read_bytes()
    (tmp_path / "s" / "chunks" / "00001.npy").write_bytes(full[:-7])    # truncated: not a complete chunk
    assert s.discard_partial() == 1
    assert s.done() == {0}
    assert not (tmp_path / "s" / "chunks" / "00001.npy").exists()


def test_bad_directories_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file, must be a directory"):
        LandscapeStore.open(tmp_path / "f", MANIFEST, points=9, chunk=4)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="non-empty directory without a losslens manifest.json"):
        LandscapeStore.open(tmp_path / "d", MANIFEST, points=9, chunk=4)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable manifest.json"):
        LandscapeStore.open(tmp_path / "m", MANIFEST, points=9, chunk=4)


def test_fingerprint_depends_on_bytes_dtype_and_shape():
    import torch

    a = torch.arange(6.0, dtype=torch.float64)
    assert fingerprint(a) == fingerprint(a.clone())
    assert fingerprint(a) != fingerprint(a.reshape(2, 3))
    assert fingerprint(a) != fingerprint(a.float())
    b = a.clone()
    b[3] += 1e-12
    assert fingerprint(a) != fingerprint(b)


def test_a_flipped_byte_in_any_store_file_is_recomputed_or_refused(tmp_path):
    """Every file the store writes, several byte positions each: the next run recomputes (and says so) or refuses;
    the grid it returns is always the uncorrupted one."""
    import torch

    from losslens import parse
    from losslens.landscape import Directions, evaluate

    from flipbytes import flipped, positions, stored_files

    f = parse("x^2 + 3*y")
    d = Directions(torch.tensor([0.5, -1.0], dtype=torch.float64), torch.eye(2, dtype=torch.float64), "custom")
    out = tmp_path / "s"
    first = evaluate(f, d, (5, 4), (-1, 1), out=out, chunk=6)
    files = stored_files(out)
    assert [p.relative_to(out).as_posix() for p in files] == [
        "chunks/00000.npy", "chunks/00001.npy", "chunks/00002.npy", "chunks/00003.npy", "directions.pt",
        "manifest.json", "values.npy"]
    for p in files:
        for pos in positions(p.stat().st_size):
            with flipped(p, pos):
                if p.name == "manifest.json":
                    with pytest.raises(InputError, match=r"has an unreadable manifest.json \(.*\); delete the direc"):
                        evaluate(f, d, (5, 4), (-1, 1), out=out, chunk=6)
                    continue
                again = evaluate(f, d, (5, 4), (-1, 1), out=out, chunk=6)
            name = p.relative_to(out).as_posix()
            in_magic = p.stat().st_size - 81 <= pos < p.stat().st_size - 64
            reason = ("no losslens checksum at its end: truncated, changed or not written by losslens" if in_magic
                      else "its sha256 does not match the content written")
            assert again.store_notes == (f"{name} in store {str(out)!r} is corrupt ({reason}): deleted, "
                                         "recomputed",), (name, pos)
            assert torch.equal(again.values, first.values)
            assert again.points_computed == (6 if p.parent.name == "chunks" and name != "chunks/00003.npy" else
                                             2 if name == "chunks/00003.npy" else 0)


def test_a_store_is_not_resumed_with_another_loss_data_or_dropout_seed(tmp_path):
    # the manifest knew a model objective by its label, size and dtype: a rerun with another loss reused its values
    from torch import nn

    from losslens.landscape import evaluate, gaussian
    from losslens.model import ModelObjective

    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(20, 3, generator=g), torch.randint(0, 2, (20,), generator=g)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.3), nn.Linear(4, 2))
    make = lambda loss=nn.CrossEntropyLoss(), data=(X, y), **kw: ModelObjective(net, loss, data, dtype=torch.float64,
                                                                               **kw)
    obj = make()
    d = gaussian(obj.x0, 2, seed=0, layout=obj.layout)
    out = tmp_path / "L"
    first = evaluate(obj, d, 3, (-1, 1), out=out)
    assert torch.equal(evaluate(make(), d, 3, (-1, 1), out=out).values, first.values)        # same: resumed
    for other, key in ((make(nn.CrossEntropyLoss(label_smoothing=0.2)), "loss"),
                       (make(data=(X, (1 - y))), "data"),
                       (make(mode="train", seed=1), "data"),           # mode is in the data fingerprint
                       (make(mode="train", seed=2, batch_size=7), "data")):
        with pytest.raises(InputError, match=rf"store '.*' was made with other settings \(objective.{key} "):
            evaluate(other, d, 3, (-1, 1), out=out)
    train1 = tmp_path / "T"
    evaluate(make(mode="train", seed=1), d, 3, (-1, 1), out=train1)
    with pytest.raises(InputError, match=r"other settings \(objective.randomness dropout masks fixed per batch from "
                                         r"seed 1.* there, dropout masks fixed per batch from seed 2"):
        evaluate(make(mode="train", seed=2), d, 3, (-1, 1), out=train1)
