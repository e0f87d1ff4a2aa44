"""How often Python's cyclic garbage collector runs while the tour computes (a process-wide setting, restored)."""
from __future__ import annotations

import gc
from contextlib import contextmanager

GC_YOUNG_THRESHOLD = 10_000


@contextmanager
def fewer_collections():
    """Python's cyclic garbage collector run less often while the tour runs (restored afterwards).

    A collection is due after 700 net allocations by default; the tour allocates millions of short-lived objects
    (sympy expressions, figure artists) beside ~470,000 long-lived ones (torch, sympy and matplotlib modules and
    caches) that each full collection walks: about 1.1 s of a quick tour's CPU went to collections. With
    :data:`GC_YOUNG_THRESHOLD` 10,000 it is about 0.6 s, at the same peak memory (measured, docs/benchmarks.md). Nothing
    is computed differently: collection only frees unreachable objects.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], GC_YOUNG_THRESHOLD), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
