"""Points of a chunk split over worker threads, each single-threaded: a point's arithmetic, hence its value bit for
bit, does not depend on the thread count."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

import torch


def split_over_threads(owner, C: torch.Tensor, run) -> torch.Tensor:
    """``run(points, worker)`` over ``C`` cut into ``torch.get_num_threads()`` contiguous parts, one per worker thread
    of ``owner`` (its ``_pool`` and ``_worker(i)``); each worker runs single-threaded, so a point's arithmetic does
    not depend on the thread count. The caller's thread setting is restored."""
    threads = torch.get_num_threads()
    if threads == 1:
        return run(C, owner._worker(0))
    if owner._pool is None:
        owner._pool = ThreadPoolExecutor(threads, thread_name_prefix="losslens-landscape")
    parts = C.tensor_split(min(threads, len(C)))
    workers = [owner._worker(i) for i in range(len(parts))]  # all made before any runs (making one may trace it)
    jobs = [owner._pool.submit(run, p, w) for p, w in zip(parts, workers)]
    try:
        return torch.cat([j.result() for j in jobs])
    finally:
        wait(jobs)                           # every worker is done before the caller's setting returns
        torch.set_num_threads(threads)
