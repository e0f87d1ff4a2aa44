"""High-dimensional saddles: how likely a random critical point is a minimum, and index vs loss in a network.

* :mod:`.ensembles`  random symmetric matrix ensembles (GOE, shifted Wishart, random quadratic-net Hessians)
* :mod:`.exact`      exact P(GOE(n) ≻ 0) (de Bruijn Pfaffian), Dean–Majumdar asymptote, naive 2^−n
* :mod:`.montecarlo` batched Monte Carlo with exact binomial intervals
* :mod:`.rare`       subset simulation on the GOE eigenvalue gas for tiny probabilities
* :mod:`.experiment` the sweep over n, resumable store, verdict
* :mod:`.network`    critical points of a small digits MLP (dense Newton / Newton-MR), their index and loss
* :mod:`.report`     the ``saddles`` command's result: both studies and the figures
"""
from .ensembles import ENSEMBLES, Ensemble, get_ensemble
from .exact import (THETA, asymptotic_log_probability, goe_log_positive_probability, goe_positive_probability,
                    naive_log_probability)
from .experiment import SaddleExperiment, SaddleRow, fit_theta, run_saddles
from .montecarlo import MonteCarloEstimate, clopper_pearson, monte_carlo
from .network import NetworkPoint, NetworkSaddles, find_critical_point, network_saddles, newton_mr, point_index
from .rare import RareEventEstimate, rare_event
from .report import SaddlesReport

__all__ = ["ENSEMBLES", "Ensemble", "get_ensemble", "THETA", "asymptotic_log_probability",
           "goe_log_positive_probability", "goe_positive_probability", "naive_log_probability", "SaddleExperiment",
           "SaddleRow", "fit_theta", "run_saddles", "MonteCarloEstimate", "clopper_pearson", "monte_carlo",
           "NetworkPoint", "NetworkSaddles", "find_critical_point", "network_saddles", "newton_mr", "point_index",
           "RareEventEstimate", "rare_event", "SaddlesReport"]
