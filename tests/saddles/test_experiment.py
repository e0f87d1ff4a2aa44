import json
import math

import pytest

from losslens import InputError
from losslens.saddles.exact import THETA, goe_log_positive_probability, naive_log_probability
from losslens.saddles.experiment import run_saddles


def test_sweep_rows_sources_and_verdict(tmp_path):
    seen = []
    exp = run_saddles(8, 20_000, seed=1, particles=200, replicates=3, store=tmp_path / "s.json",
                      progress=lambda n, m, row: seen.append((n, row is None)))
    assert [r.n for r in exp.rows] == list(range(1, 9))
    assert all(r.source == "exact" and r.exact_log_p == pytest.approx(goe_log_positive_probability(r.n))
               for r in exp.rows)
    # Monte Carlo at n = 8 has no hits at 20 000 trials: the rare-event route runs and brackets the exact value
    r8 = exp.rows[-1]
    assert r8.monte_carlo.hits < 100 and r8.rare_event is not None
    assert r8.rare_event.log_lo - 1 <= r8.exact_log_p <= r8.rare_event.log_hi + 1
    assert exp.verdict == "saddles_dominate" and exp.rows[-1].log_hi < naive_log_probability(8)
    assert seen[:2] == [(1, True), (1, False)]
    d = exp.to_dict()
    json.dumps(d, allow_nan=False)
    assert set(d) >= {"ensemble", "rows", "theta", "theta_fit", "verdict", "reason"}


def test_store_is_resumed_not_recomputed(tmp_path, monkeypatch):
    store = tmp_path / "s.json"
    a = run_saddles(4, 5000, seed=2, rare="none", store=store)
    import losslens.saddles.experiment as ex

    monkeypatch.setattr(ex, "compute_row", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    b = run_saddles(4, 5000, seed=2, rare="none", store=store)
    assert a.to_dict() == b.to_dict()
    assert a.store_notes == () and b.store_notes == ()
    # other settings: computed afresh, and said so
    monkeypatch.undo()
    c = run_saddles(4, 6000, seed=2, rare="none", store=store)
    assert c.trials == 6000 and json.loads(store.read_text())["data"]["key"]["trials"] == 6000
    assert c.store_notes == (f"store {str(store)!r} was made with other settings (trials 5000 there, 6000 now): "
                             "recomputed",)


def test_a_changed_byte_in_the_store_is_refused(tmp_path, monkeypatch):
    from flipbytes import flipped, positions

    import losslens.saddles.experiment as ex

    store = tmp_path / "s.json"
    a = run_saddles(3, 2000, seed=2, rare="none", store=store)
    monkeypatch.setattr(ex, "compute_row", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    for pos in positions(store.stat().st_size):
        with flipped(store, pos):
            with pytest.raises(InputError, match=r"store '.*s.json' is not a saddles store or is corrupt \((not "
                                                 r"readable as JSON|its sha256 does not match).*\); delete it"):
                run_saddles(3, 2000, seed=2, rare="none", store=store)
    assert run_saddles(3, 2000, seed=2, rare="none", store=store).to_dict() == a.to_dict()


def test_monte_carlo_only_ensemble_and_the_unknown_verdict():
    exp = run_saddles(3, 20_000, ensemble="wishart-shifted", seed=0)
    assert all(r.exact_log_p is None and r.rare_event is None and r.source == "monte_carlo" for r in exp.rows)
    assert exp.verdict == "saddles_dominate"   # P_3 ≈ 0.001 < 1/8
    # n = 1 of GOE: P = 1/2 exactly equals the naive value, nothing to conclude
    assert run_saddles(1, 1000, seed=0).verdict == "unknown"


def test_bad_input(tmp_path):
    with pytest.raises(InputError, match=r"n \(max_n\) == 0, must be an integer in \[1, 200\]"):
        run_saddles(0)
    with pytest.raises(InputError, match=r"trials == -5, must be an integer"):
        run_saddles(3, -5)
    with pytest.raises(InputError, match=r"ensemble == 'cauchy', must be one of 'goe', 'wishart-shifted'"):
        run_saddles(3, 10, ensemble="cauchy")
    with pytest.raises(InputError, match=r"rare == 'sometimes', must be one of"):
        run_saddles(3, 10, rare="sometimes")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"is not a saddles store or is corrupt \(not readable as JSON"):
        run_saddles(3, 10, store=bad)
