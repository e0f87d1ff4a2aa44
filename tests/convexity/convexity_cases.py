"""Functions and sets with known convexity, and how a verdict is judged against the truth.

Truth labels for functions: ``strongly`` (with the true inf λ_min μ* on the region), ``strictly`` (strictly but not
strongly convex), ``convex`` (convex, not strictly), ``concave`` (concave, not convex), ``neither``.
"""
import math

CONVEX_FAMILY = ("convex", "strictly_convex", "strongly_convex")

# (expression, box, where, truth, mu_star)
FUNCTIONS = [
    ("x^4 + x^2", None, None, "strongly", 2.0),
    ("exp(x) + exp(-x)", None, None, "strongly", 2.0),
    ("log(1 + exp(x))", None, None, "strictly", None),
    ("(x - y)^2 + x^2", None, None, "strongly", 3 - math.sqrt(5)),
    ("x^3", None, None, "neither", None),
    ("x^2 + x*y + y^2", None, None, "strongly", 1.0),
    ("x^2 + 3*x*y + y^2", None, None, "neither", None),
    ("log(x)", None, None, "concave", None),
    ("-log(x)", None, None, "strictly", None),
    ("1/x", None, "x > 0", "strictly", None),
    ("sqrt(x^2 + y^2)", None, None, "convex", None),
    ("abs(x) + max(x, y)", None, None, "convex", None),
    ("x^4", None, None, "strictly", None),
    ("x^4 - x^2", None, None, "neither", None),
    ("exp(x + y) + x^2", None, None, "strictly", None),
    ("softplus(x) + y^2", None, None, "strictly", None),
    ("log(exp(x) + exp(y))", None, None, "convex", None),
    ("x*y", None, None, "neither", None),
    ("cos(x)", None, None, "neither", None),
    ("x^2*y^2", None, None, "neither", None),
    ("sigmoid(x)", None, None, "neither", None),
    ("x^4 + y^4", None, None, "strictly", None),
    ("(x^2 + y^2)^2", None, None, "strictly", None),
    ("x*log(x)", None, None, "strictly", None),
    ("exp(x^2)", None, None, "strongly", 2.0),
    ("tanh(x)", None, None, "neither", None),
    ("relu(x)", None, None, "convex", None),
    ("abs(x)^3", None, None, "strictly", None),              # sympy writes x^2*|x|
    ("-3*abs(x - 1)^3", None, None, "concave", None),
    ("x^2*abs(y)", None, None, "neither", None),
    ("x*cos(pi*x)", "0.5:1.5", None, "neither", None),
    ("cos(x)", "2:4", None, "strongly", min(-math.cos(2), -math.cos(4))),
    ("x^3", "0:2", None, "strictly", None),
    ("x^3", "1:2", None, "strongly", 6.0),
    ("sin(x)", "0.1:3", None, "concave", None),
    ("rosenbrock", None, None, "neither", None),
    ("(1 - x)^2 + 100*(y - x^2)^2", "0.9:1.1,0.9:1.1", None, "neither", None),
    ("booth", None, None, "strongly", 2.0),
    ("x^2 - y^2", None, None, "neither", None),
    ("(x + y)^2", None, None, "convex", None),
    ("2*x - 3*y + 1", None, None, "convex", None),
    ("x^2/y", None, "y > 0", "convex", None),
    ("-sqrt(x)", None, None, "strictly", None),
    ("sqrt(x)", None, None, "concave", None),
    ("x^1.5", None, None, "strictly", None),
    ("log(1 + x^2)", None, None, "neither", None),
    ("exp(-x^2)", None, None, "neither", None),
    ("x^6 - 3*x^2", None, None, "neither", None),
    ("max(x^2, y^2)", None, None, "convex", None),
    ("abs(x - y) + (x + y)^2", None, None, "convex", None),
    ("himmelblau", None, None, "neither", None),
    ("six-hump-camel", None, None, "neither", None),
    ("x^2 + 2*x*y + y^2 + z^2", None, None, "convex", None),
    ("x^2 + y^2 + z^2 + w^2 - 0.5*x*w", None, None, "strongly", 1.5),
    ("exp(x)*exp(y)", None, None, "convex", None),
    ("1/(1 - x)", "-1:0.5", None, "strongly", 0.25),
    ("-log(1 - x^2)", "-0.5:0.5", None, "strongly", 2.0),
    ("(x^2 - y)^2 + x^2", None, None, "neither", None),
    ("x^2 + sin(x)", None, None, "strongly", 1.0),
    ("x^3", None, "x <= 0", "concave", None),
]

ACCEPT = {
    "strongly": {"strongly_convex", "strictly_convex", "convex", "unknown"},
    "strictly": {"strictly_convex", "convex", "unknown"},
    "convex": {"convex", "unknown"},
    "concave": {"concave", "not_convex", "unknown"},
    "neither": {"not_convex", "unknown"},
}

# (set text, truth): truth True = convex, False = not convex
SETS = [
    ("x^2 + y^2 <= 1 and y >= x^2", True),
    ("x^2 + y^2 >= 1", False),
    ("x^2 + y^2 <= 1 or (x - 3)^2 + y^2 <= 1", False),
    ("0 <= x <= 1 and 0 <= y <= 1", True),
    ("y >= x^3", False),
    ("y >= x^3 and x >= 0", True),
    ("x*y >= 1 and x > 0", True),
    ("x*y >= 1", False),
    ("log(x) >= y", True),
    ("abs(x) + abs(y) <= 1", True),
    ("max(x, y) <= 1", True),
    ("y <= sin(x)", False),
    ("exp(x) <= y", True),
    ("x^2 <= 1", True),
    ("x^3 <= 1", True),
    ("x + y == 1", True),
    ("sqrt(x^2 + y^2) <= y + 1", True),
    ("x^2 + y^2 == 1", False),
    ("x*y >= 1 and x >= 0", True),          # y >= 1/x on x > 0
    ("x^2*y >= 1", False),                  # y >= 1/x^2: two branches, (±1, 1) in it, (0, 1) not
    ("x^2*y >= 1 and x >= 0", True),        # y >= 1/x^2 on x > 0
    ("x^2*y >= 1 and x >= -1", False),      # both branches again
    ("abs(x) + abs(y) >= 1 and x^2 + y^2 <= 4", False),
    ("x^2 - y^2 <= 1", False),
    ("(x - 1)^2 + (y - 1)^2 <= 1 and x + y >= 2", True),
    ("(1 - x)^2 + 100*(y - x^2)^2 <= 10", False),
    ("x^2 + y^2 <= 1 or (x - 1)^2 + y^2 <= 1", False),
    ("1/x <= 1", False),
    ("1/x <= 1 and x > 0", True),
    ("x^2/y <= 1 and y > 0", True),
]
