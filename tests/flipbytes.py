"""Flip one byte of a stored file at several positions: the corruption every store must detect."""
from __future__ import annotations

import contextlib
from pathlib import Path


def positions(size: int) -> list[int]:
    """Byte positions spread over a file of ``size`` bytes: its start, header, middle, the checksum trailer, the end."""
    picks = {0, 1, 7, size // 3, size // 2, (2 * size) // 3, size - 81, size - 40, size - 1}
    return sorted(p for p in picks if 0 <= p < size)


def stored_files(root: Path) -> list[Path]:
    """Every file under ``root`` (sorted), temporary files excluded."""
    return sorted(p for p in Path(root).rglob("*") if p.is_file() and not p.name.endswith(".tmp"))


@contextlib.contextmanager
def flipped(path: Path, pos: int):
    """``path`` with byte ``pos`` XOR 0xFF inside the block; the original bytes are restored afterwards."""
    path = Path(path)
    original = path.read_bytes()
    data = bytearray(original)
    data[pos] ^= 0xFF
    path.write_bytes(bytes(data))
    try:
        yield
    finally:
        path.write_bytes(original)
