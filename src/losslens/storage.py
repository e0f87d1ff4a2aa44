"""Atomic, checksummed files: the one way losslens writes what a later run reads back.

Atomic: :func:`atomic_write` writes to ``NAME.<pid>.tmp`` in the target's directory, flushes and fsyncs it and renames
it over the target (``os.replace``). A reader sees the old file or the new one, never a mix;
a process killed at any moment leaves at most a ``*.tmp`` file (stores delete those on the next run).

Checksummed ("sealed"): the sha256 of the file's content travels with it, so a changed byte anywhere in the file is
detected on read (:class:`CorruptFile`), never used.

* Binary files (``.npy`` arrays, torch files): ``payload + b"\\nlosslens-sha256:" + hex(sha256(payload))``, a fixed
  81-byte trailer. ``numpy.load`` and ``torch.load`` ignore bytes after the archive, so sealed files stay ordinary
  ``.npy`` / torch files for other tools; torch files still load with ``weights_only=True``.
* JSON documents: ``{"data": ..., "sha256": sha256(canonical JSON of data)}`` in canonical form (sorted keys,
  indent 1). A read re-serialises the parsed document and compares it byte for byte with the file, so a changed
  byte is caught even where it would not change the parsed value (whitespace).

Settings: a store records every setting that shapes its numbers; :func:`first_difference` names the first one that
differs between the stored and the current settings (dotted path for nested dicts), for the refusal or recompute
message.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
>>> _ = write_json(p, {"x": [1, 2.5]})
>>> read_json(p)
{'x': [1, 2.5]}
>>> b = bytearray(p.read_bytes()); b[12] ^= 1; _ = p.write_bytes(bytes(b))
>>> read_json(p)
Traceback (most recent call last):
...
losslens.storage.CorruptFile: file '...a.json' is corrupt (...); delete it to recompute
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import torch

from .validation import InputError

MAGIC = b"\nlosslens-sha256:"
TRAILER = len(MAGIC) + 64


class CorruptFile(InputError):
    """A stored file whose checksum does not match its content (or that has none, or cannot be parsed).

    ``path`` and ``reason`` (a short phrase) are kept for callers that word their own message."""

    def __init__(self, path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"file {self.path!r} is corrupt ({reason}); delete it to recompute")


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data`` (64 digits)."""
    return hashlib.sha256(data).hexdigest()


def fingerprint(*tensors: torch.Tensor) -> str:
    """sha256 (hex, first 16 digits) of the dtypes, shapes and bytes of ``tensors``: equal data, equal fingerprint."""
    h = hashlib.sha256()
    for t in tensors:
        t = torch.as_tensor(t).detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def module_fingerprint(module: torch.nn.Module) -> dict:
    """What identifies a network: ``architecture`` (sha256 prefix of its printed module tree, which names every
    layer, activation and shape) and ``parameters`` (:func:`fingerprint` of every parameter and buffer, by name)."""
    state = module.state_dict()
    h = hashlib.sha256()
    for name in state:
        h.update(name.encode() + b"\0")
    return {"architecture": sha256(repr(module).encode())[:16],
            "parameters": fingerprint(*state.values()) + sha256(h.digest())[:8]}


def atomic_write(path, data: bytes | str) -> Path:
    """Write ``data`` (str as UTF-8) to ``path`` atomically and durably (see the module docstring)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def seal(payload: bytes) -> bytes:
    """``payload`` followed by its checksum trailer."""
    return payload + MAGIC + sha256(payload).encode()


def unseal(data: bytes, path="file") -> bytes:
    """The payload of sealed ``data``; :class:`CorruptFile` when the trailer is missing or does not match."""
    if len(data) < TRAILER or data[-TRAILER:-64] != MAGIC:
        raise CorruptFile(path, "no losslens checksum at its end: truncated, changed or not written by losslens")
    payload, digest = data[:-TRAILER], data[-64:]
    if sha256(payload).encode() != digest:
        raise CorruptFile(path, "its sha256 does not match the content written")
    return payload


def is_sealed(data: bytes) -> bool:
    """Whether ``data`` ends with a checksum trailer (valid or not)."""
    return len(data) >= TRAILER and data[-TRAILER:-64] == MAGIC


def write_sealed(path, payload: bytes) -> Path:
    return atomic_write(path, seal(payload))


def read_sealed(path) -> bytes:
    """The verified payload of the sealed file at ``path`` (:class:`CorruptFile` if it does not verify)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CorruptFile(path, f"cannot be read: {type(err).__name__}") from None
    return unseal(data, path)


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=True)


def write_json(path, data) -> Path:
    """Store the JSON-ready ``data`` sealed (NaN and inf allowed: they round-trip)."""
    data = json.loads(_canonical(data))        # tuples -> lists: what a read gives back
    return atomic_write(path, _canonical({"data": data, "sha256": sha256(_canonical(data).encode())}) + "\n")


def read_json(path):
    """The ``data`` of a sealed JSON file, verified (:class:`CorruptFile` on any change, see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
        doc = json.loads(text)
    except (OSError, ValueError) as err:
        raise CorruptFile(path, f"not readable as JSON: {type(err).__name__}") from None
    if not (isinstance(doc, dict) and set(doc) == {"data", "sha256"}):
        raise CorruptFile(path, "not a losslens store file: no checksum")
    if sha256(_canonical(doc["data"]).encode()) != doc["sha256"] or _canonical(doc) + "\n" != text:
        raise CorruptFile(path, "its sha256 does not match the content written")
    return doc["data"]


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def write_array(path, a: np.ndarray) -> Path:
    """Store ``a`` as a sealed ``.npy`` file (``numpy.load`` reads it as usual)."""
    return write_sealed(path, npy_bytes(a))


def read_array(path) -> np.ndarray:
    """The array of a sealed ``.npy`` file, verified; :class:`CorruptFile` otherwise."""
    payload = read_sealed(path)
    try:
        return np.load(io.BytesIO(payload), allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise CorruptFile(path, f"not a .npy array: {type(err).__name__}") from None


def torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def write_torch(path, obj) -> Path:
    """``torch.save`` ``obj`` sealed (``torch.load(path, weights_only=True)`` reads it as usual)."""
    return write_sealed(path, torch_bytes(obj))


def load_torch_bytes(payload: bytes):
    """``torch.load`` of in-memory bytes with ``weights_only=True`` on the CPU."""
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)


def first_difference(old: dict, new: dict, prefix: str = "") -> tuple[str, object, object] | None:
    """(dotted key, stored value, current value) of the first differing setting in sorted key order, or None."""
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            d = first_difference(a, b, f"{prefix}{key}.")
            if d is not None:
                return d
        elif a != b:
            return f"{prefix}{key}", a, b
    return None


def settings_mismatch(old, new: dict) -> str | None:
    """One phrase naming the first differing setting (``"lr 0.01 there, 0.5 now"``), or None when equal."""
    if not isinstance(old, dict):
        return "no settings recorded there"
    diff = first_difference(old, json.loads(_canonical(new)))
    if diff is None:
        return None
    key, was, now = diff
    return f"{key} {_short(was)} there, {_short(now)} now"


def _short(v, limit: int = 60) -> str:
    s = json.dumps(v) if not isinstance(v, str) else v
    return s if len(s) <= limit else s[:limit] + "..."
