import math

import pytest
from torch import nn

import losslens.diagnose.gap as gap_module
from losslens import InputError
from losslens.diagnose.gap import fit_rate, generalization_gap


def test_fit_rate_recovers_an_exact_power_law():
    N = [50, 100, 200, 400, 800]
    a, se, C, r2 = fit_rate(N, [3.0 * n ** -0.5 for n in N])
    assert a == pytest.approx(0.5, abs=1e-12) and C == pytest.approx(3.0, rel=1e-12) and r2 == pytest.approx(1.0)
    assert se == pytest.approx(0.0, abs=1e-10)
    assert math.isnan(fit_rate([10, 20], [0.1, 0.05])[0])          # too few points
    assert math.isnan(fit_rate([10, 20, 40], [0.1, -0.1, 0.0])[0])  # gaps must be positive to take logs


def tiny(seed):
    return nn.Sequential(nn.Linear(64, 10))


def test_study_lands_on_disk_and_resumes(tmp_path, monkeypatch):
    store = tmp_path / "gap.json"
    s = generalization_gap(tiny, [30, 60, 120], repeats=2, steps=40, lr=0.05, store=store)
    assert len(s.runs) == 6 and s.sizes == (30, 60, 120) and len(s.error_gap_std) == 3
    assert s.error_gap[0] == pytest.approx(s.test_error[0] - s.train_error[0])
    assert s.verdict in ("shrinking", "not_shrinking", "unknown")
    calls = []
    monkeypatch.setattr(gap_module, "train", lambda *a, **k: calls.append(1))
    again = generalization_gap(tiny, [30, 60, 120], repeats=2, steps=40, lr=0.05, store=store)
    assert calls == [] and again.runs == s.runs
    with pytest.raises(InputError, match="was written with other settings"):
        generalization_gap(tiny, [30, 60], repeats=2, steps=40, lr=0.05, store=store)


@pytest.mark.parametrize("sizes, match", [([50], "need at least two different"), ([1, 50], r"sizes == 1"),
                                          ([50, 5000], r"train_size == 5000")])
def test_bad_sizes(sizes, match):
    with pytest.raises(InputError, match=match):
        generalization_gap(tiny, sizes, repeats=1, steps=1)
