"""The random-matrix experiment: P(H ≻ 0) for n = 1..N by every available route, and what it says.

Per ``n``: plain Monte Carlo with an exact binomial interval (:mod:`.montecarlo`), the exact GOE value
(:mod:`.exact`), a subset-simulation estimate where Monte Carlo has too few hits (GOE, :mod:`.rare`), the
Dean–Majumdar asymptote ``−θ n²`` and the naive ``−n ln 2``. All probabilities are natural logs.

Verdict (``verdict``): ``saddles_dominate`` when at the largest ``n`` with a usable estimate the whole interval of
ln P lies below the naive ``−n ln 2`` (a random critical point is a minimum far less often than independent
eigenvalue signs would say); ``unknown`` when no estimate is precise enough to say so (e.g. small ``n`` only).
The fitted ``θ̂`` is the ``n²`` coefficient of a least-squares fit ``ln P ≈ −θ̂ n² − b n − c`` over ``n ≥ 5``.

Store: each finished ``n`` lands in a JSON file through :mod:`losslens.storage` (atomic, sealed with its sha256),
keyed by every setting that shapes a row (ensemble, trials, seed, rare, min_hits, particles, replicates). A store of
other settings is recomputed from scratch (``store_notes`` names the first differing setting); one that does not
verify (a changed byte, not a losslens store) is refused, never used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..results import Result, nested
from ..storage import CorruptFile, read_json, settings_mismatch, write_json
from ..validation import InputError, check_choice, check_int
from .ensembles import get_ensemble
from .exact import THETA, asymptotic_log_probability, goe_log_positive_probability, naive_log_probability
from .montecarlo import MonteCarloEstimate, monte_carlo
from .rare import RareEventEstimate, rare_event

STORE_VERSION = 2        # 2: sealed with a sha256


@dataclass(frozen=True)
class SaddleRow(Result):
    """One ``n``: every estimate of ln P(H ≻ 0) (``None`` where a route does not apply).

    ``log_p``/``log_lo``/``log_hi``: the best estimate and its interval (exact > rare-event > Monte Carlo with
    hits); ``source`` says which.
    """

    n: int
    naive_log_p: float
    asymptotic_log_p: float
    exact_log_p: float | None
    monte_carlo: MonteCarloEstimate
    rare_event: RareEventEstimate | None
    log_p: float | None
    log_lo: float | None
    log_hi: float | None
    source: str


@dataclass(frozen=True)
class SaddleExperiment(Result):
    """The whole sweep ``n = 1..max_n``; ``theta_fit`` ± ``theta_fit_stderr`` against ``theta`` = ln 3 / 4;
    ``store_notes``: one line when a store of other settings was recomputed."""

    ensemble: str
    max_n: int
    trials: int
    seed: int
    rows: tuple[SaddleRow, ...]
    theta: float
    theta_fit: float | None
    theta_fit_stderr: float | None
    fit_source: str
    verdict: str
    reason: str
    store_notes: tuple[str, ...] = ()


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def _best(mc: MonteCarloEstimate, exact: float | None, rare: RareEventEstimate | None):
    if exact is not None:
        return exact, exact, exact, "exact"
    if rare is not None and rare.converged:
        return rare.log_p, rare.log_lo, rare.log_hi, "rare_event"
    if mc.hits > 0:
        return _log(mc.p), _log(mc.lo), _log(mc.hi), "monte_carlo"
    return None, None, _log(mc.hi), "monte_carlo_upper_bound"


def compute_row(n: int, trials: int, ensemble: str, seed: int, rare: str, min_hits: int, particles: int,
                replicates: int) -> SaddleRow:
    mc = monte_carlo(n, trials, ensemble, seed=seed * 1_000_003 + n)
    exact = goe_log_positive_probability(n) if get_ensemble(ensemble).exact else None
    use_rare = rare == "always" or (rare == "auto" and mc.hits < min_hits)
    rr = rare_event(n, ensemble, particles=particles, replicates=replicates, seed=seed * 1_000_003 + 500_000 + n) \
        if use_rare and ensemble == "goe" and n > 1 else None
    return SaddleRow(n, naive_log_probability(n), asymptotic_log_probability(n), exact, mc, rr, *_best(mc, exact, rr))


def fit_theta(rows, key: str = "log_p", n_min: int = 5) -> tuple[float | None, float | None]:
    """Least squares ``ln P ≈ −θ n² − b n − c`` over rows with ``n >= n_min``: (θ̂, its standard error)."""
    pts = [(r.n, v) for r in rows if r.n >= n_min and (v := getattr(r, key)) is not None and math.isfinite(v)]
    if len(pts) < 4:
        return None, None
    n = np.array([p[0] for p in pts], dtype=float)
    y = np.array([p[1] for p in pts], dtype=float)
    X = np.stack([-n * n, -n, -np.ones_like(n)], 1)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    dof = len(y) - 3
    s2 = float(resid @ resid) / dof if dof > 0 else 0.0
    cov = s2 * np.linalg.inv(X.T @ X)
    return float(coef[0]), float(math.sqrt(max(cov[0, 0], 0.0)))


def _verdict(rows) -> tuple[str, str]:
    usable = [r for r in rows if r.log_hi is not None and math.isfinite(r.log_hi) and r.source != "monte_carlo_upper_bound"]
    if not usable:
        return "unknown", "no n has a usable estimate of P"
    r = max(usable, key=lambda r: r.n)
    if r.log_hi < r.naive_log_p:
        return "saddles_dominate", (f"at n = {r.n}, ln P <= {r.log_hi:.4g} ({r.source}) is below the naive "
                                    f"-n ln 2 = {r.naive_log_p:.4g}: minima are rarer than independent signs predict")
    return "unknown", (f"at the largest usable n = {r.n}, the interval of ln P reaches {r.log_hi:.4g}, not below "
                       f"the naive {r.naive_log_p:.4g}; increase max_n or trials")


def run_saddles(max_n: int = 30, trials: int = 100_000, ensemble: str = "goe", seed: int = 0, rare: str = "auto",
                min_hits: int = 100, particles: int = 1000, replicates: int = 4, store: str | Path | None = None,
                progress: Callable[[int, int, SaddleRow | None], None] | None = None) -> SaddleExperiment:
    """Run the sweep. With ``store`` (a JSON file) each finished ``n`` is written at once and a rerun with the same
    settings reuses it. ``progress(n, max_n, row)`` is called before (row None) and after each ``n``."""
    max_n = check_int("n (max_n)", max_n, lo=1, hi=200)
    trials = check_int("trials", trials, lo=1)
    ens = get_ensemble(ensemble)
    check_choice("rare", rare, ("auto", "always", "none"))
    min_hits = check_int("min_hits", min_hits, lo=0)
    key = {"version": STORE_VERSION, "ensemble": ens.name, "trials": trials, "seed": seed, "rare": rare,
           "min_hits": min_hits, "particles": particles, "replicates": replicates}
    done, notes = _load(store, key)
    rows = []
    for n in range(1, max_n + 1):
        if progress:
            progress(n, max_n, None)
        row = done.get(n) or compute_row(n, trials, ens.name, seed, rare, min_hits, particles, replicates)
        rows.append(row)
        if store is not None and n not in done:
            done[n] = row
            _save(store, key, done)
        if progress:
            progress(n, max_n, row)
    theta_fit, stderr = fit_theta(rows)
    verdict, reason = _verdict(rows)
    return SaddleExperiment(ens.name, max_n, trials, seed, tuple(rows), THETA, theta_fit, stderr,
                            "best estimate per n (exact for GOE)", verdict, reason, notes)


def _save(store, key: dict, done: dict) -> None:
    write_json(store, {"key": key, "rows": [nested(done[n].to_dict()) for n in sorted(done)]})


def _load(store, key: dict) -> tuple[dict[int, SaddleRow], tuple[str, ...]]:
    """Finished rows of a verified store made with ``key`` and the notes to show; refuses a store that does not
    verify."""
    if store is None or not Path(store).exists():
        return {}, ()
    try:
        data = read_json(store)
    except CorruptFile as err:
        raise InputError(f"store {str(store)!r} is not a saddles store or is corrupt ({err.reason}); delete it to "
                         "recompute") from None
    mismatch = settings_mismatch(data.get("key") if isinstance(data, dict) else None, key)
    if mismatch is not None:      # other settings: start afresh (the file is overwritten as rows finish)
        return {}, (f"store {str(store)!r} was made with other settings ({mismatch}): recomputed",)
    return {d["n"]: _row_from_dict(d) for d in data.get("rows", [])}, ()


def _row_from_dict(d: dict) -> SaddleRow:
    mc = d["monte_carlo"]
    rr = d["rare_event"]
    return SaddleRow(
        d["n"], d["naive_log_p"], d["asymptotic_log_p"], d["exact_log_p"],
        MonteCarloEstimate(**mc),
        None if rr is None else RareEventEstimate(**{**rr, "runs": tuple(rr["runs"]), "levels": tuple(rr["levels"])}),
        d["log_p"], d["log_lo"], d["log_hi"], d["source"])
