"""On-disk store of a landscape grid: chunked values, atomic writes, a manifest, resume.

Layout of a store directory ``DIR``::

    DIR/manifest.json        settings that define the grid (directions, seed, grid, ranges, chunk, data fingerprint)
    DIR/directions.pt        origin [n] and direction vectors [k, n] (torch, loads with weights_only=True)
    DIR/chunks/00000.npy     values of grid points [i * chunk, (i + 1) * chunk) in row-major grid order
    DIR/values.npy           the assembled grid, written once every chunk is present

Every file is written to a temporary name in the same directory, flushed to disk and renamed (``os.replace``), so a
reader sees either no file or a complete one. A process killed at any moment leaves at most a ``*.tmp`` file, which
the next run deletes; a chunk file that does not load with the expected shape is deleted and recomputed. Because a
chunk's values depend only on its grid points, a killed run followed by a rerun gives a bit-identical grid.

A store made with other settings is never mixed with new ones: opening it raises :class:`InputError` naming the first
differing setting and saying how to start fresh.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch

from ..validation import InputError

MANIFEST = "manifest.json"
DIRECTIONS = "directions.pt"
VALUES = "values.npy"
CHUNKS = "chunks"
FORMAT = 1


def fingerprint(*tensors: torch.Tensor) -> str:
    """sha256 (hex, first 16 digits) of the dtypes, shapes and bytes of ``tensors``: equal data, equal fingerprint."""
    h = hashlib.sha256()
    for t in tensors:
        t = torch.as_tensor(t).detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


class LandscapeStore:
    """A directory holding one grid's chunks. Open with :meth:`open`; all writes are atomic.

    ``manifest``: JSON-ready dict of every setting that defines the values (compared on reopen);
    ``points``: number of grid points; ``chunk``: points per chunk (the last chunk may be shorter).
    """

    def __init__(self, path: Path, manifest: dict, points: int, chunk: int):
        self.path = Path(path)
        self.manifest = manifest
        self.points = points
        self.chunk = chunk

    # --- opening --------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path, manifest: dict, points: int, chunk: int, *, fresh: bool = False,
             create: bool = True) -> "LandscapeStore":
        """Open (or create) the store at ``path`` for the grid described by ``manifest``.

        ``fresh=True`` deletes an existing store's files first. With ``create=False`` (other ranks of a distributed
        run) the directory must already have been prepared by rank 0.
        """
        path = Path(path)
        manifest = {"format": FORMAT, **manifest, "points": points, "chunk": chunk}
        manifest = json.loads(json.dumps(manifest))  # normalise tuples -> lists for comparison
        if path.exists() and not path.is_dir():
            raise InputError(f"out == {str(path)!r} is a file, must be a directory (new or made by losslens)")
        store = cls(path, manifest, points, chunk)
        if not create:
            return store
        if fresh and path.exists():
            store.clear()
        mpath = path / MANIFEST
        if mpath.exists():
            try:
                old = json.loads(mpath.read_text())
            except (OSError, ValueError):
                raise InputError(f"store {str(path)!r} has an unreadable {MANIFEST}; delete the directory or use "
                                 f"another --out to start fresh") from None
            diff = _first_difference(old, manifest)
            if diff is not None:
                key, was, now = diff
                raise InputError(f"store {str(path)!r} was made with other settings ({key} {was} there, {now} now); "
                                 f"rerun with the same settings to resume, or start fresh with another --out or "
                                 f"--fresh")
        else:
            if path.exists() and any(p.name != CHUNKS for p in path.iterdir()):
                raise InputError(f"out == {str(path)!r} is a non-empty directory without a losslens {MANIFEST}; "
                                 f"use a new or empty directory")
            (path / CHUNKS).mkdir(parents=True, exist_ok=True)
            _atomic_write(mpath, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
        (path / CHUNKS).mkdir(parents=True, exist_ok=True)
        return store

    def clear(self) -> None:
        """Delete the files this store owns (never anything else in the directory)."""
        for name in (MANIFEST, DIRECTIONS, VALUES):
            (self.path / name).unlink(missing_ok=True)
        shutil.rmtree(self.path / CHUNKS, ignore_errors=True)

    # --- chunks ---------------------------------------------------------------------------------------------
    @property
    def n_chunks(self) -> int:
        return -(-self.points // self.chunk)

    def chunk_range(self, i: int) -> tuple[int, int]:
        """Grid-point indices [start, stop) of chunk ``i``."""
        return i * self.chunk, min((i + 1) * self.chunk, self.points)

    def _chunk_path(self, i: int) -> Path:
        return self.path / CHUNKS / f"{i:05d}.npy"

    def discard_partial(self) -> int:
        """Delete temporary files left by a killed writer; returns how many were deleted."""
        count = 0
        for p in list((self.path / CHUNKS).glob("*.tmp")) + list(self.path.glob("*.tmp")):
            p.unlink(missing_ok=True)
            count += 1
        return count

    def read_chunk(self, i: int) -> np.ndarray | None:
        """The chunk's values, or None when it is missing or not a complete chunk (then it is deleted)."""
        p = self._chunk_path(i)
        if not p.exists():
            return None
        a, b = self.chunk_range(i)
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            arr = None
        if arr is None or arr.shape != (b - a,):
            p.unlink(missing_ok=True)
            return None
        return arr

    def done(self) -> set[int]:
        """Indices of complete chunks on disk."""
        out = set()
        for p in (self.path / CHUNKS).glob("*.npy"):
            try:
                i = int(p.stem)
            except ValueError:
                continue
            if 0 <= i < self.n_chunks and self.read_chunk(i) is not None:
                out.add(i)
        return out

    def write_chunk(self, i: int, values: np.ndarray) -> None:
        a, b = self.chunk_range(i)
        values = np.ascontiguousarray(values)
        if values.shape != (b - a,):
            raise ValueError(f"chunk {i} has shape {values.shape}, expected ({b - a},)")
        _atomic_write(self._chunk_path(i), _npy_bytes(values))

    def assemble(self) -> np.ndarray:
        """All values in grid order [points]; writes ``values.npy``. Every chunk must be present."""
        parts = []
        for i in range(self.n_chunks):
            c = self.read_chunk(i)
            if c is None:
                raise RuntimeError(f"chunk {i} of store {self.path} is missing")
            parts.append(c)
        values = np.concatenate(parts)
        _atomic_write(self.path / VALUES, _npy_bytes(values))
        return values

    # --- directions -----------------------------------------------------------------------------------------
    def write_directions(self, origin: torch.Tensor, vectors: torch.Tensor) -> None:
        buf = io.BytesIO()
        torch.save({"origin": origin.detach().cpu(), "directions": vectors.detach().cpu()}, buf)
        _atomic_write(self.path / DIRECTIONS, buf.getvalue())


def load_directions(path) -> tuple[torch.Tensor, torch.Tensor]:
    """(origin [n], directions [k, n]) saved in a store directory."""
    d = torch.load(Path(path) / DIRECTIONS, weights_only=True)
    return d["origin"], d["directions"]


def _first_difference(old: dict, new: dict, prefix: str = "") -> tuple[str, object, object] | None:
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            d = _first_difference(a, b, f"{prefix}{key}.")
            if d is not None:
                return d
        elif a != b:
            return f"{prefix}{key}", a, b
    return None
