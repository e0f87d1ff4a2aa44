"""Stage 3: merge converged starts that reached the same critical point (greedy clustering by distance)."""
from __future__ import annotations

import torch


def merge(points: torch.Tensor, radius: float, max_clusters: int | None = None):
    """Greedy clustering of ``points`` [m, n]: each cluster is (first member [n], size); members lie within
    ``radius`` of its first.

    At most ``max_clusters`` clusters are formed (a work budget: a constant function makes every start its own
    critical point); returns (clusters, number of points left outside every cluster).

    >>> clusters, left = merge(torch.tensor([[0.0], [1e-9], [1.0]]), 1e-6)
    >>> [(float(p[0]), k) for p, k in clusters], left
    ([(0.0, 2), (1.0, 1)], 0)
    """
    reps: list[torch.Tensor] = []
    sizes: list[int] = []
    left = 0
    for p in points:
        if reps:
            d = torch.linalg.vector_norm(torch.stack(reps) - p, dim=1)
            near = torch.nonzero(d <= radius)
            if len(near):
                sizes[int(near[0])] += 1
                continue
        if max_clusters is not None and len(reps) >= max_clusters:
            left += 1
            continue
        reps.append(p)
        sizes.append(1)
    return list(zip(reps, sizes)), left
