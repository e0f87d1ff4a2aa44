import math

import pytest
import torch
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
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(64, 10))


def wide(seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(64, 12), nn.ReLU(), nn.Linear(12, 10))


def test_study_lands_on_disk_and_resumes(tmp_path, monkeypatch):
    store = tmp_path / "gap.json"
    s = generalization_gap(tiny, [30, 60, 120], repeats=2, steps=40, lr=0.05, store=store)
    assert len(s.runs) == 6 and s.sizes == (30, 60, 120) and len(s.error_gap_std) == 3
    assert s.error_gap[0] == pytest.approx(s.test_error[0] - s.train_error[0])
    # the verdict follows the documented rule on the fitted rate a and its standard error
    want = ("shrinking" if s.rate - 2 * s.rate_stderr > 0 else
            "not_shrinking" if s.rate + 2 * s.rate_stderr <= 0 else "unknown")
    assert s.verdict == want, s.reason
    calls = []
    monkeypatch.setattr(gap_module, "train", lambda *a, **k: calls.append(1))
    again = generalization_gap(tiny, [30, 60, 120], repeats=2, steps=40, lr=0.05, store=store)
    assert calls == [] and again.runs == s.runs
    with pytest.raises(InputError, match=r"was written with other settings \(sizes \[30, 60, 120\] there, \[30, 60\] "
                                         r"now\); use another path"):
        generalization_gap(tiny, [30, 60], repeats=2, steps=40, lr=0.05, store=store)


def test_store_of_another_model_or_a_changed_byte_is_refused(tmp_path, monkeypatch):
    from flipbytes import flipped, positions

    store = tmp_path / "gap.json"
    generalization_gap(tiny, [30, 60], repeats=1, steps=5, lr=0.05, store=store)
    calls = []
    monkeypatch.setattr(gap_module, "train", lambda *a, **k: calls.append(1))
    with pytest.raises(InputError, match=r"other settings \(model.0.architecture [0-9a-f]+ there, [0-9a-f]+ now\)"):
        generalization_gap(wide, [30, 60], repeats=1, steps=5, lr=0.05, store=store)
    with pytest.raises(InputError, match=r"other settings \(model.0.parameters [0-9a-f]+ there, [0-9a-f]+ now\)"):
        generalization_gap(lambda s: tiny(s + 1), [30, 60], repeats=1, steps=5, lr=0.05, store=store)
    for pos in positions(store.stat().st_size):
        with flipped(store, pos):
            with pytest.raises(InputError, match=r"store '.*gap.json' is corrupt or not a gap-study store \((not "
                                                 r"readable as JSON|its sha256 does not match).*\); delete it"):
                generalization_gap(tiny, [30, 60], repeats=1, steps=5, lr=0.05, store=store)
    assert calls == []                                  # nothing was recomputed on top of a bad store
    generalization_gap(tiny, [30, 60], repeats=1, steps=5, lr=0.05, store=store)
    assert calls == []                                  # the intact store is reused


@pytest.mark.parametrize("sizes, match", [([50], "need at least two different"), ([1, 50], r"sizes == 1"),
                                          ([50, 5000], r"sizes == 5000, must be an integer in \[2, 1348\] \(the "
                                                       r"digits training split\)")])
def test_bad_sizes(sizes, match):
    with pytest.raises(InputError, match=match):
        generalization_gap(tiny, sizes, repeats=1, steps=1)


def test_store_of_another_loss_setting_is_refused(tmp_path, monkeypatch):
    # the store knew a loss by its class name only: label smoothing or class weights changed, the old runs were reused
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(80, 64, generator=g), torch.randint(0, 10, (80,), generator=g)
    data = ((X[:60], y[:60]), (X[60:], y[60:]))
    store = tmp_path / "gap.json"
    kw = dict(repeats=1, steps=3, lr=0.05, store=store, data=data)
    generalization_gap(tiny, [30, 60], loss_fn=nn.CrossEntropyLoss(), **kw)
    calls = []
    monkeypatch.setattr(gap_module, "train", lambda *a, **k: calls.append(1))
    for other in (nn.CrossEntropyLoss(label_smoothing=0.1), nn.CrossEntropyLoss(weight=torch.arange(1.0, 11.0))):
        with pytest.raises(InputError, match=r"store '.*gap.json' was written with other settings \(loss "):
            generalization_gap(tiny, [30, 60], loss_fn=other, **kw)
    generalization_gap(tiny, [30, 60], loss_fn=nn.CrossEntropyLoss(), **kw)
    assert calls == []                                  # the same loss reuses the store
