"""Small helpers shared by the tour's sections."""
from __future__ import annotations

import importlib

from ..tour import Claim


def available(module: str) -> bool:
    """Whether an optional capability module is part of this build."""
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


def unavailable(statement: str, capability: str) -> Claim:
    return Claim(statement, f"Not checked: {capability} is not part of this losslens build.", "unavailable")


def verdict(ok: bool) -> str:
    return "confirmed" if ok else "refuted"
