"""Local convexity radius against the closed form of where the Hessian stops being PSD."""
import math

import pytest

from losslens import InputError
from losslens.convexity import local_convexity


def test_quartic_double_well_radius():
    # f'' = 12x^2 - 2 >= 0 iff |x| >= 1/sqrt(6): around x = 1 the largest convex cube has half-width 1 - 1/sqrt(6)
    r = local_convexity("x^4 - x^2", "1")
    true = 1 - 6 ** -0.5
    assert 0.99 * true <= r.radius <= true
    assert r.failed_radius is not None and r.failed_radius > true
    assert r.failure_point is not None and abs(r.failure_point[0]) < 6 ** -0.5 and r.failure_curvature < 0


def test_convex_everywhere_reaches_max_radius():
    r = local_convexity("x^2 + y^2", "0,0", max_radius=3.0)
    assert r.radius == 3.0 and r.failed_radius is None and r.box.lo == (-3.0, -3.0)


def test_himmelblau_minimum_has_a_proved_cube_and_a_failure_outside():
    r = local_convexity("himmelblau", "3,2")
    assert r.radius > 0.3 and r.failure_point is not None
    assert max(abs(a - b) for a, b in zip(r.failure_point, (3, 2))) > r.radius


def test_bad_local_inputs():
    with pytest.raises(InputError, match="not inside the natural domain"):
        local_convexity("log(x)", "-1")
    with pytest.raises(InputError, match="around has 1 coordinate"):
        local_convexity("x*y", "1")
    with pytest.raises(InputError, match="is not smooth"):
        local_convexity("abs(x)", "1")
    with pytest.raises(InputError, match="max_radius == -1.0"):
        local_convexity("x^2", "1", max_radius=-1)
    with pytest.raises(InputError, match="steps == 0"):
        local_convexity("x^2", "1", steps=0)


def test_a_cube_past_the_float64_range_is_refused_naming_around():
    # the default half-width 1 + |p| puts the cube around 1e308 at inf; it was refused as a bad "box bound"
    with pytest.raises(InputError, match=r"around == \[1e\+308\]: the cube of half-width 1e\+308 .* float64 range"):
        local_convexity("x^2", "1e308")
    with pytest.raises(InputError, match="float64 range"):
        local_convexity("x^2", "-1e308", max_radius=1e308)
    r = local_convexity("x^2", "1e307")          # f'' = 2: the whole cube of half-width 1 + 1e307
    assert r.radius == 1 + 1e307 and r.failed_radius is None
