"""On-disk store of a landscape grid: chunked values, atomic writes, a manifest, resume.

Layout of a store directory ``DIR``::

    DIR/manifest.json        settings that define the grid (directions, seed, grid, ranges, chunk, data fingerprint)
    DIR/directions.pt        origin [n] and direction vectors [k, n] (torch, loads with weights_only=True)
    DIR/chunks/00000.npy     values of grid points [i * chunk, (i + 1) * chunk) in row-major grid order
    DIR/values.npy           the assembled grid, written once every chunk is present

Every file is written and read through :mod:`losslens.storage`: atomically (temporary name, fsync, ``os.replace``),
so a reader sees either no file or a complete one, and sealed with the sha256 of its content (``.npy`` and torch
files keep loading with numpy and ``torch.load(weights_only=True)``). A process killed at any moment leaves at most a
``*.tmp`` file, which the next run deletes. A chunk whose checksum or shape does not verify (a flipped byte, a
truncated file) is deleted and recomputed, and so are ``directions.pt`` and ``values.npy``; each such repair is
recorded in :attr:`LandscapeStore.notes` (one line each, shown by the CLI). Because a chunk's values depend only on
its grid points, a killed run followed by a rerun gives a bit-identical grid.

A store made with other settings is never mixed with new ones: opening it raises :class:`InputError` naming the first
differing setting and saying how to start fresh; so does a manifest that does not verify.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from ..storage import (CorruptFile, fingerprint, first_difference, load_torch_bytes, read_array, read_json,
                       read_sealed, torch_bytes, write_array, write_json, write_sealed)
from ..validation import InputError

MANIFEST = "manifest.json"
DIRECTIONS = "directions.pt"
VALUES = "values.npy"
CHUNKS = "chunks"
FORMAT = 2        # 2: every file sealed with its sha256


__all__ = ["LandscapeStore", "fingerprint", "load_directions"]


class LandscapeStore:
    """A directory holding one grid's chunks. Open with :meth:`open`; all writes are atomic.

    ``manifest``: JSON-ready dict of every setting that defines the values (compared on reopen);
    ``points``: number of grid points; ``chunk``: points per chunk (the last chunk may be shorter); ``notes``: one
    line per file found corrupt and deleted for recomputation.
    """

    def __init__(self, path: Path, manifest: dict, points: int, chunk: int):
        self.path = Path(path)
        self.manifest = manifest
        self.points = points
        self.chunk = chunk
        self.notes: list[str] = []

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
                old = read_json(mpath)
            except CorruptFile as err:
                raise InputError(f"store {str(path)!r} has an unreadable {MANIFEST} ({err.reason}); delete the "
                                 f"directory or use another --out or --fresh to start fresh") from None
            diff = first_difference(old, manifest) if isinstance(old, dict) else ("manifest", "not a dict", "a dict")
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
            write_json(mpath, manifest)
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

    def _discard(self, p: Path, reason: str) -> None:
        p.unlink(missing_ok=True)
        name = p.relative_to(self.path).as_posix()
        self.notes.append(f"{name} in store {str(self.path)!r} {reason}: deleted, recomputed")

    def read_chunk(self, i: int) -> np.ndarray | None:
        """The chunk's values, or None when it is missing or does not verify (then it is deleted and noted)."""
        p = self._chunk_path(i)
        if not p.exists():
            return None
        a, b = self.chunk_range(i)
        try:
            arr = read_array(p)
        except CorruptFile as err:
            self._discard(p, f"is corrupt ({err.reason})")
            return None
        if arr.shape != (b - a,):
            self._discard(p, f"has shape {arr.shape}, expected ({b - a},)")
            return None
        return arr

    def check_file(self, name: str) -> None:
        """Verify ``directions.pt`` or ``values.npy`` if present; delete it (noted) when it does not verify."""
        p = self.path / name
        if p.exists():
            try:
                read_sealed(p)
            except CorruptFile as err:
                self._discard(p, f"is corrupt ({err.reason})")

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
        write_array(self._chunk_path(i), values)

    def assemble(self) -> np.ndarray:
        """All values in grid order [points]; writes ``values.npy``. Every chunk must be present."""
        parts = []
        for i in range(self.n_chunks):
            c = self.read_chunk(i)
            if c is None:
                raise RuntimeError(f"chunk {i} of store {self.path} is missing")
            parts.append(c)
        values = np.concatenate(parts)
        write_array(self.path / VALUES, values)
        return values

    # --- directions -----------------------------------------------------------------------------------------
    def write_directions(self, origin: torch.Tensor, vectors: torch.Tensor) -> None:
        self.check_file(DIRECTIONS)
        write_sealed(self.path / DIRECTIONS, torch_bytes({"origin": origin.detach().cpu(),
                                                          "directions": vectors.detach().cpu()}))

    def read_values(self) -> np.ndarray:
        """The assembled ``values.npy``, verified."""
        return read_array(self.path / VALUES)


def load_directions(path) -> tuple[torch.Tensor, torch.Tensor]:
    """(origin [n], directions [k, n]) saved in a store directory, verified against their checksum."""
    d = load_torch_bytes(read_sealed(Path(path) / DIRECTIONS))
    return d["origin"], d["directions"]
