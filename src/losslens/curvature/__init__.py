"""Hessian curvature from Hessian-vector products only: extreme eigenvalues, trace, spectral density, verdict."""
from .operator import HessianOperator, as_operator
from .lanczos import LanczosResult, lanczos
from .trace import TraceEstimate, hutch_plus_plus, hutchinson

__all__ = ["HessianOperator", "as_operator", "LanczosResult", "lanczos", "TraceEstimate", "hutch_plus_plus",
           "hutchinson"]
from .density import SpectralDensity, spectral_density

__all__ += ["SpectralDensity", "spectral_density"]
from .verdict import HessianReport, classify_curvature, hessian_report

__all__ += ["HessianReport", "classify_curvature", "hessian_report"]
