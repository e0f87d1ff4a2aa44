"""Loss landscapes: lines and planes through parameter space, evaluated in chunks, resumable and sharded.

``directions`` makes the plane (filter-normalised Gaussian, Hessian eigenvectors, trajectory PCA, a straight line),
``grid`` evaluates it (``evaluate``, ``line_between``), ``store`` keeps the chunks on disk, ``choose`` picks the
evaluator: the plain ones in ``evaluators``, the fast ones in ``sequential`` (``nn.Sequential`` stacks) and
``networks`` (any network, fused), with ``threads`` splitting a chunk over worker threads.
"""
from .directions import Directions, filter_normalize, gaussian, hessian_eigen, line, pca
from .grid import Landscape, evaluate, grid_axes, line_between, parse_range
from .store import LandscapeStore, fingerprint, load_directions

__all__ = ["Directions", "filter_normalize", "gaussian", "hessian_eigen", "line", "pca",
           "Landscape", "evaluate", "grid_axes", "line_between", "parse_range",
           "LandscapeStore", "fingerprint", "load_directions"]
