import os
import signal

import pytest
import torch

from losslens import CATALOG, InputError, parse
from losslens.optimize import basins
from losslens.optimize.basins import DIVERGED, UNSETTLED, descend
from losslens.optimize.methods import FIRST_ORDER, settings


def loop_torch_optim(f, method, X0, steps, lr):
    """The reference: one torch.optim optimizer per start, gradients from torch.func, loops over starts and steps."""
    cls, defaults = FIRST_ORDER[method]
    out = torch.empty_like(X0)
    for i in range(len(X0)):
        p = torch.nn.Parameter(X0[i].clone())
        opt = cls([p], lr=lr, **defaults)
        for _ in range(steps):
            p.grad = f.grad(p.detach())
            opt.step()
        out[i] = p.detach()
    return out


@pytest.mark.parametrize("method, lr", [("gd", 0.01), ("momentum", 0.005), ("nesterov", 0.005), ("adagrad", 0.5),
                                        ("rmsprop", 0.01), ("adadelta", 1.0), ("adam", 0.05), ("adamw", 0.05)])
def test_one_batch_equals_a_loop_of_optimizers(method, lr):
    f = parse("himmelblau")
    X0 = f.box.sample(8, seed=3)
    ends, v, g, bad = descend(f, settings(method, lr), X0, 30)
    ref = loop_torch_optim(f, method, X0, 30, lr)
    torch.testing.assert_close(ends, ref, rtol=0, atol=1e-8)
    assert (bad == -1).all()
    torch.testing.assert_close(v, f.values(ends))


def test_newton_batch_equals_single_runs():
    from losslens.optimize import run
    f = parse("himmelblau")
    X0 = f.box.sample(6, seed=1)
    ends, *_ = descend(f, settings("saddle-free-newton", 0.5), X0, 15)
    for x0, e in zip(X0, ends):
        r = run(f, "saddle-free-newton", x0, steps=15, lr=0.5, stop_at_tol=False)
        torch.testing.assert_close(r.final_point, e, rtol=0, atol=1e-10)


def test_himmelblau_basins_find_the_four_global_minima():
    b = basins(parse("himmelblau"), "gd", starts=900, steps=400, lr=0.01, known_minimum=0.0)
    assert b.m == 900 and b.grid == (30, 30)
    mins = [e for e in b.endpoints if e.kind == "min"]
    assert len(mins) == 4 and all(e.role == "global_min" for e in mins)
    known = torch.tensor(CATALOG["himmelblau"].minima, dtype=torch.float64)
    d = torch.cdist(torch.stack([e.point for e in mins]), known)
    assert sorted(d.argmin(dim=1).tolist()) == [0, 1, 2, 3] and d.min(dim=1).values.max() < 1e-4
    total = sum(e.count for e in b.endpoints) + b.diverged + b.unsettled
    assert total == 900 and sum(e.fraction for e in b.endpoints) + b.diverged_fraction + b.unsettled_fraction \
        == pytest.approx(1.0)
    assert all(0.15 < e.fraction < 0.35 for e in mins)
    # each start's label agrees with where it ended
    for j, e in enumerate(b.endpoints):
        assert torch.linalg.vector_norm(b.ends[b.labels == j] - e.point, dim=1).max() < 1e-3


def test_local_vs_global_on_six_hump_camel():
    entry = CATALOG["six-hump-camel"]
    b = basins(parse("six-hump-camel"), "gd", starts=225, steps=400, lr=0.02, known_minimum=entry.minimum)
    roles = {e.role for e in b.endpoints if e.kind == "min"}
    assert roles == {"global_min", "local_min"} and len([e for e in b.endpoints if e.kind == "min"]) == 6
    # the 15 x 15 grid has its centre start exactly on the saddle at the origin, where the gradient is 0
    saddle = [e for e in b.endpoints if e.kind == "saddle"]
    assert len(saddle) == 1 and saddle[0].count == 1 and saddle[0].point.abs().max() == 0
    glob = [e for e in b.endpoints if e.role == "global_min"]
    known = torch.tensor(entry.minima, dtype=torch.float64)
    assert len(glob) == 2 and torch.cdist(torch.stack([e.point for e in glob]), known).min(dim=1).values.max() < 1e-4
    for e in b.endpoints:
        if e.role == "local_min":
            assert e.value > entry.minimum + 0.1


def test_without_a_known_minimum_the_lowest_is_only_lowest():
    b = basins(parse("six-hump-camel"), "gd", starts=225, steps=400, lr=0.02)
    lowest = [e for e in b.endpoints if e.role == "lowest_min"]
    assert len(lowest) == 2 and all(e.value == pytest.approx(-1.0316284534898, abs=1e-9) for e in lowest)


def test_divergence_and_unsettled_are_reported():
    # eta = 1.5 > 2 / lambda = 1 on x^2: every start leaves the box uphill
    b = basins(parse("x^2"), "gd", box="-1:1", starts=10, steps=20, lr=1.5)
    assert b.diverged == 10 and (b.labels == DIVERGED).all() and b.endpoints == ()
    # the saddle: starts off the stable manifold slide away downhill, never settling
    s = basins(parse("saddle"), "gd", starts=16, steps=50, lr=0.1)
    assert s.unsettled == 16 and (s.labels == UNSETTLED).all()
    # NaN: log(x) from the right of 0 with a big step jumps out of the domain
    n = basins(parse("log(x)"), "gd", box="0.5:2", starts=8, steps=5, lr=10.0)
    assert n.diverged == 8


def test_random_layout_is_seeded_and_works_in_3d():
    f = parse("x^2 + y^2 + z^2 - 2*x")
    a = basins(f, "adam", box="-2:2", starts=50, steps=300, lr=0.05, seed=4)
    b = basins(f, "adam", box="-2:2", starts=50, steps=300, lr=0.05, seed=4)
    assert a.grid is None and torch.equal(a.starts, b.starts) and torch.equal(a.ends, b.ends)
    assert [e.role for e in a.endpoints] == ["lowest_min"] and a.endpoints[0].count == 50
    torch.testing.assert_close(a.endpoints[0].point, torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
                               rtol=0, atol=1e-4)


def test_noise_and_perturbations_in_a_batch_are_seeded():
    f = parse("x^2 - y^2 + 0.5*y^4")
    a = basins(f, "perturbed-gd", box="-1:1,-0.001:0.001", starts=16, steps=300, lr=0.1, seed=2)
    # the stable manifold y = 0 holds no grid start exactly, but all start close to it; perturbations end them at
    # the minima (0, +-1), never at the saddle
    assert {e.kind for e in a.endpoints} == {"min"}
    b = basins(f, "gd", box="-1:1", starts=16, steps=50, lr=0.1, noise=0.1, seed=5)
    c = basins(f, "gd", box="-1:1", starts=16, steps=50, lr=0.1, noise=0.1, seed=5)
    assert torch.equal(b.ends, c.ends)


@pytest.mark.parametrize("kwargs, match", [
    (dict(starts=0), r"starts == 0, must be an integer in \[1, 10000000\]"),
    (dict(steps=0), r"steps == 0"),
    (dict(lr=0.0), r"lr == 0.0"),
    (dict(layout="hex"), r"layout == 'hex', must be one of 'grid', 'random'"),
    (dict(box="-1:1,-1:1,-1:1"), r"box has 3 lo:hi parts, the objective has 2"),
    (dict(method="sgd"), r"method == 'sgd'"),
    (dict(known_minimum=float("nan")), r"known_minimum == nan"),
    (dict(tol=-1.0), r"tol == -1.0"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        basins(parse("himmelblau"), **{"method": "gd", "starts": 4, "steps": 2, **kwargs})


def test_bad_box_and_grid():
    with pytest.raises(InputError, match=r"box is missing: the objective has no default box"):
        basins(parse("x^2 + y^2"), "gd", starts=4, steps=2)
    with pytest.raises(InputError, match=r"layout == 'grid' needs 1 or 2 variables"):
        basins(parse("x^2 + y^2 + z^2"), "gd", box="-1:1", starts=8, steps=2, layout="grid")


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("method, kw", [("adam", dict(noise=0.5, schedule="exponential:gamma=0.99")),
                                        ("perturbed-gd", {}), ("saddle-free-newton", {})])
def test_checkpoint_resume_gives_the_uninterrupted_numbers(tmp_path, method, kw):
    f = parse("x^2 - y^2 + 0.5*y^4")
    args = dict(box="-1:1,-0.01:0.01", starts=36, steps=60, lr=0.05, seed=3, **kw)
    full = basins(f, method, **args)
    path = tmp_path / "b.pt"

    def stop_at_25(k):
        if k == 25:
            raise Interrupt

    with pytest.raises(Interrupt):
        basins(f, method, checkpoint=path, checkpoint_every=10, progress=stop_at_25, **args)
    seen = []
    resumed = basins(f, method, checkpoint=path, checkpoint_every=10, progress=seen.append, **args)
    assert seen[0] == 20                                   # resumed from the last checkpoint
    assert torch.equal(resumed.ends, full.ends) and torch.equal(resumed.labels, full.labels)
    again = basins(f, method, checkpoint=path, progress=seen.append, **args)   # finished: nothing left to do
    assert seen[-1] == 60 and torch.equal(again.ends, full.ends)


def test_ctrl_c_saves_the_finished_steps_and_the_resume_gives_the_uninterrupted_numbers(tmp_path):
    # Ctrl-C between checkpoints lost every step since the last one (up to checkpoint_every)
    f = parse("x^2 - y^2 + 0.5*y^4")
    args = dict(box="-1:1,-0.01:0.01", starts=36, steps=60, lr=0.05, seed=3, noise=0.5)
    full = basins(f, "adam", **args)
    path = tmp_path / "b.pt"

    def ctrl_c_at_25(k):
        if k == 25:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        basins(f, "adam", checkpoint=path, checkpoint_every=10, progress=ctrl_c_at_25, **args)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    seen = []
    resumed = basins(f, "adam", checkpoint=path, checkpoint_every=10, progress=seen.append, **args)
    assert seen[0] == 25                                   # resumed where Ctrl-C came, no step redone
    assert torch.equal(resumed.ends, full.ends) and torch.equal(resumed.labels, full.labels)


def test_checkpoint_of_another_run_is_refused(tmp_path):
    f = parse("himmelblau")
    path = tmp_path / "b.pt"
    basins(f, "gd", starts=4, steps=3, checkpoint=path)
    with pytest.raises(InputError, match=r"checkpoint .* belongs to another run"):
        basins(f, "gd", starts=4, steps=3, lr=0.02, checkpoint=path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"checkpoint .* cannot be read \(.*\); delete it to start over"):
        basins(f, "gd", starts=4, steps=3, checkpoint=path)
    with pytest.raises(InputError, match=r"checkpoint_every == 0"):
        basins(f, "gd", starts=4, steps=3, checkpoint=path, checkpoint_every=0)


def test_a_changed_byte_in_a_basins_checkpoint_is_refused(tmp_path):
    from flipbytes import flipped, positions

    from losslens.storage import write_torch

    f = parse("himmelblau")
    path = tmp_path / "b.pt"
    done = basins(f, "gd", starts=4, steps=3, checkpoint=path)
    size = path.stat().st_size
    for pos in positions(size):
        reason = "no losslens checksum" if size - 81 <= pos < size - 64 else "its sha256 does not match"
        with flipped(path, pos):
            with pytest.raises(InputError, match=rf"checkpoint .* cannot be read \(corrupt: {reason}.*\); delete it"):
                basins(f, "gd", starts=4, steps=3, checkpoint=path)
    assert torch.equal(basins(f, "gd", starts=4, steps=3, checkpoint=path).ends, done.ends)
    state = torch.load(path, weights_only=True)
    write_torch(path, {**state, "stepper": {"k": "three"}})       # the right key, other content
    with pytest.raises(InputError, match=r"has this run's key but its content does not fit \(\w+\); delete it"):
        basins(f, "gd", starts=4, steps=3, checkpoint=path)


@pytest.mark.slow
def test_ten_thousand_starts_match_the_loop_and_the_known_minima():
    f = parse("himmelblau")
    b = basins(f, "gd", starts=10_000, steps=1000, lr=0.01, layout="random", known_minimum=0.0)
    assert b.diverged == 0 and b.unsettled == 0
    assert sorted(e.role for e in b.endpoints) == ["global_min"] * 4
    pick = torch.arange(0, 10_000, 500)
    ref = loop_torch_optim(f, "gd", b.starts[pick], 1000, 0.01)
    torch.testing.assert_close(b.ends[pick], ref, rtol=0, atol=1e-8)


def test_an_end_next_to_an_inflection_is_not_a_minimum():
    """x³ has no local minimum (f' = 3x² vanishes only at 0, where f'' = 0 and f''' = 6). Undamped Newton from
    [0.5, 1] halves x each step and settles at 2^-21 ≈ 5e-7 with f'' = 6x > 0: the second-order test alone says min."""
    b = basins(parse("x^3"), "newton", box="0.5:1", starts=5, steps=20, lr=1.0)
    assert [(e.kind, e.role, e.count) for e in b.endpoints] == [("degenerate", "degenerate", 5)]
    assert float(b.endpoints[0].eigenvalues[0]) > 0
    quartic = basins(parse("x^4 - 2*x^2"), "gd", box="-2:2", starts=101, steps=500, lr=0.01)   # f''(±1) = 8
    assert sorted(e.kind for e in quartic.endpoints) == ["max", "min", "min"]
