"""Small helpers shared by the tour's sections.

Every claim's status comes from a *check*: a small pure function of the numbers the page shows, registered here
under the claim's id together with a *mutation* — a change of those numbers (or of the relation they must satisfy)
that makes the claim false. A test applies every mutation and asserts the page then shows ``refuted``; so no claim
can be confirmed by numbers that contradict it, and no check is one that cannot fail.
"""
from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass
from typing import Callable

from ..claims import Claim, Figure


@dataclass(frozen=True)
class Check:
    """``test(numbers)`` -> True (confirmed), False (refuted) or None (the computation could not decide: unknown);
    ``mutate(numbers)`` -> numbers for which the claim is false (``test`` must then return False)."""

    id: str
    test: Callable[[dict], bool | None]
    mutate: Callable[[dict], dict]


CHECKS: dict[str, Check] = {}
# claim id -> function of the ``--json`` output of the claim's command giving (some of) the claim's numbers
REPRODUCE: dict[str, Callable[[dict], dict]] = {}


def check(id: str, mutate: Callable[[dict], None], reproduce: Callable[[dict], dict] | None = None):
    """Register the decorated ``test(numbers)`` as claim ``id``'s check; ``mutate`` edits a copy of the numbers in
    place so that the claim becomes false. ``reproduce`` reads the claim's numbers back from the ``--json`` output
    of its command (claims whose command is a ``losslens tour --only`` run are compared claim by claim)."""
    if reproduce is not None:
        REPRODUCE[id] = reproduce

    def deco(test):
        def mutated(numbers: dict) -> dict:
            m = copy.deepcopy(numbers)
            mutate(m)
            return m

        def decided(numbers: dict) -> bool | None:
            ok = test(numbers)
            return None if ok is None else bool(ok)

        CHECKS[id] = Check(id, decided, mutated)
        return test

    return deco


def status(id: str, numbers: dict) -> str:
    ok = CHECKS[id].test(numbers)
    return "unknown" if ok is None else verdict(ok)


def claim(id: str, statement: str, check_text: str, numbers: dict, figures: tuple[Figure, ...] | list,
          command: str = "") -> Claim:
    """A claim whose status is its registered check applied to the very numbers it displays."""
    return Claim(statement, check_text, status(id, numbers), numbers, tuple(figures), command, id)


def unknown_if(words, ok: bool) -> bool | None:
    """A checker that answered ``unknown`` makes the claim unknown, never refuted."""
    return None if any(w == "unknown" for w in words) else ok


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


def exact_set(s) -> str:
    """A sympy set in the usual notation: ∅, (-∞, 0), [0, 1/3] ∪ [2, 3]."""
    import sympy

    return sympy.pretty(s, use_unicode=True)


def tour_command(section: str, ctx) -> str:
    """The command that recomputes a section's numbers exactly (same seed, same size)."""
    return f"losslens tour --only {section}{' --quick' if ctx.quick else ''} --seed {ctx.seed} --out tour-{section}"
