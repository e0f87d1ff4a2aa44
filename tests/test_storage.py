import json
import os

import numpy as np
import pytest
import torch

from losslens.storage import (MAGIC, CorruptFile, atomic_write, first_difference, module_fingerprint, read_array,
                              read_json, read_sealed, seal, settings_mismatch, unseal, write_array, write_json,
                              write_sealed, write_torch)
from losslens.validation import InputError

from flipbytes import flipped, positions


def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path):
    p = atomic_write(tmp_path / "sub" / "a.txt", "one")
    atomic_write(p, b"two")
    assert p.read_bytes() == b"two" and os.listdir(p.parent) == ["a.txt"]


def test_seal_is_the_payload_and_its_sha256():
    import hashlib

    data = b"\x00abc" * 10
    sealed = seal(data)
    assert sealed == data + MAGIC + hashlib.sha256(data).hexdigest().encode() and unseal(sealed) == data


@pytest.mark.parametrize("kind", ["npy", "torch"])
def test_every_flipped_byte_of_a_sealed_file_is_detected(tmp_path, kind):
    p = tmp_path / "f"
    write_array(p, np.arange(12.0)) if kind == "npy" else write_torch(p, {"w": torch.arange(6.0), "step": 3})
    data = p.read_bytes()
    assert unseal(data) == data[:-len(MAGIC) - 64]
    for pos in range(len(data)):                          # every byte, in memory
        bad = bytearray(data)
        bad[pos] ^= 1 << (pos % 8)
        with pytest.raises(CorruptFile, match=r"is corrupt \(.*\); delete it to recompute"):
            unseal(bytes(bad), p)
    for pos in positions(len(data)):                      # and through the file reader
        with flipped(p, pos):
            with pytest.raises(CorruptFile, match=r"is corrupt"):
                read_array(p) if kind == "npy" else read_sealed(p)
    p.write_bytes(data[:-5])
    with pytest.raises(CorruptFile, match="no losslens checksum"):
        read_sealed(p)


def test_every_flipped_byte_of_a_json_store_is_detected(tmp_path):
    p = tmp_path / "f.json"
    write_json(p, {"a": [1, 2.5, float("nan")], "b": {"c": "text"}})
    assert read_json(p)["b"] == {"c": "text"}
    for pos in range(len(p.read_bytes())):
        with flipped(p, pos):
            with pytest.raises(CorruptFile, match=r"is corrupt \(.*\); delete it to recompute"):
                read_json(p)
    p.write_text(p.read_text().replace(" ", "  ", 1))       # a whitespace-only change is a change too
    with pytest.raises(CorruptFile, match="sha256 does not match"):
        read_json(p)


def test_sealed_files_stay_ordinary_npy_and_weights_only_torch_files(tmp_path):
    write_array(tmp_path / "a.npy", np.arange(5.0))
    assert np.array_equal(np.load(tmp_path / "a.npy", allow_pickle=False), np.arange(5.0))
    write_torch(tmp_path / "t.pt", {"w": torch.ones(3)})
    assert torch.equal(torch.load(tmp_path / "t.pt", weights_only=True)["w"], torch.ones(3))
    write_json(tmp_path / "j.json", {"x": (1, 2)})
    assert json.loads((tmp_path / "j.json").read_text())["data"] == {"x": [1, 2]}


def test_unsealed_and_foreign_files_are_corrupt(tmp_path):
    (tmp_path / "plain.json").write_text('{"x": 1}')
    with pytest.raises(CorruptFile, match="not a losslens store file: no checksum"):
        read_json(tmp_path / "plain.json")
    with pytest.raises(CorruptFile, match=r"cannot be read: FileNotFoundError"):
        read_sealed(tmp_path / "missing")
    write_sealed(tmp_path / "x.npy", b"not an array")
    with pytest.raises(CorruptFile, match="not a .npy array"):
        read_array(tmp_path / "x.npy")
    assert issubclass(CorruptFile, InputError)


def test_settings_mismatch_names_the_first_differing_setting():
    assert first_difference({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}}) == ("b.c", 2, 3)
    assert first_difference({"a": 1}, {"a": 1}) is None
    assert settings_mismatch({"lr": 0.01, "steps": 5}, {"lr": 0.5, "steps": 5}) == "lr 0.01 there, 0.5 now"
    assert settings_mismatch({"x": [1, 2]}, {"x": (1, 2)}) is None         # tuples as JSON stores them
    assert settings_mismatch({"a": 1}, {"a": 1, "b": 2}) == 'b <absent> there, 2 now'
    assert settings_mismatch(None, {"a": 1}) == "no settings recorded there"


def test_module_fingerprint_separates_architecture_and_parameters():
    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    b = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    b.load_state_dict(a.state_dict())
    fa, fb = module_fingerprint(a), module_fingerprint(b)
    assert fa["parameters"] == fb["parameters"] and fa["architecture"] != fb["architecture"]
    with torch.no_grad():
        b[0].weight[0, 0] += 1e-7
    assert module_fingerprint(b)["parameters"] != fa["parameters"]
