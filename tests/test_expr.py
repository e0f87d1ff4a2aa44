import math
import time

import pytest
import sympy
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from losslens import ExprError, parse_expression as parse
from losslens.expr import FUNCTIONS, MAX_DEPTH, natural_order


def test_natural_order():
    assert natural_order(["z", "x10", "y", "x2", "x1", "x"]) == ["x", "x1", "x2", "x10", "y", "z"]
    assert parse("z + x10 + x2 + y").variables == ("x2", "x10", "y", "z")


def test_vars_override_order_and_extras():
    e = parse("x - y", "y,x,w")
    assert e.variables == ("y", "x", "w")
    assert e.evaluate([torch.tensor(1.0), torch.tensor(5.0), torch.tensor(0.0)]).item() == 4.0


def test_caret_is_power_with_power_precedence():
    assert sympy.simplify(parse("x^2+1").sympy - (sympy.Symbol("x", real=True) ** 2 + 1)) == 0


def test_decimal_constants_are_exact():
    e = parse("0.1*x")
    assert e.sympy.args[0] == sympy.Rational(1, 10)


def test_domain_conditions_collected():
    e = parse("log(x) + sqrt(y) + 1/z + w^0.5 + tan(x)")
    labels = [d[0] for d in e.domain]
    assert labels == ["log argument > 0", "sqrt argument >= 0", "denominator != 0",
                      "base of fractional power >= 0", "tan argument not at a pole"]
    assert parse("exp(x) + x^2").domain == ()


@pytest.mark.parametrize("text, match", [
    ("", "expression is empty"),
    ("   ", "expression is empty"),
    ("(x + 1", r"unbalanced parentheses in '\(x \+ 1': 1 '\(' and 0 '\)'"),
    ("x + 1)", "unbalanced parentheses"),
    ("foo(x)", "unknown function 'foo'; known: abs, sqrt"),
    ("x.__class__", "attribute access not allowed"),
    ("__import__('os')", "unknown function '__import__'"),
    ("__import__", "name '__import__' is not allowed"),
    ("lambda: 1", "lambda not allowed"),
    ("'abc'", "strings not allowed"),
    ("x['a']", "subscripts not allowed"),
    ("[x for x in y]", "comprehensions not allowed"),
    ("x if y else z", "if-expressions not allowed"),
    ("x < y", "comparisons not allowed"),
    ("x**10**10**10", r"exponent 1e\+10 is too large"),
    ("2**10000*x", "too large"),
    ("x^1001", r"exponent 1001 is too large, \|exponent\| <= 1000"),
    ("x" + "*(x" * 150 + ")" * 150, "nests deeper than 100 levels"),
    ("sin(" * 120 + "x" + ")" * 120, "nests deeper than 100 levels"),
    ("x" * 2001, "at most 2000 are allowed"),
    ("sin", "sin is a function: call it as sin"),
    ("sin(x, y)", r"sin\(\) takes 1 argument\(s\), got 2"),
    ("max(x)", r"max\(\) takes at least 2 argument\(s\), got 1"),
    ("exp(x=1)", "takes no keyword arguments"),
    ("2 3", "invalid syntax"),
    ("x = 1", "invalid syntax"),
    ("x / 0", "division by zero"),
    ("1j*x", "complex literals not allowed"),
    ("True*x", "bool literals not allowed"),
    ("x @ y", "operator MatMult not allowed"),
    ("~x", "unary operator not allowed"),
    ("1 + 2", "has no variables"),
    ("x + y", "unknown name 'y': not among vars x"),
])
def test_rejections(text, match):
    vars = "x" if text == "x + y" else None
    with pytest.raises(ExprError, match=match):
        parse(text, vars)


def test_huge_power_rejected_fast():
    t = time.perf_counter()
    for text in ["x**10**10**10", "(2**999)**999*x", "x**(9**9**9)", "exp(x)**10**100"]:
        with pytest.raises(ExprError):
            parse(text)
    assert time.perf_counter() - t < 1.0


@pytest.mark.parametrize("vars, match", [
    ("x,x", "repeats a name"), ("sin", "taken by a function"), ("1a", "is not allowed"), ("pi", "taken"),
])
def test_bad_vars(vars, match):
    with pytest.raises(ExprError, match=match):
        parse("1", vars)


# --- property tests ------------------------------------------------------------------------------------------
VARS = ("x", "y", "z")
UNARY = ["abs", "exp", "sin", "cos", "tanh", "sigmoid", "softplus", "relu", "log1p", "sqrt", "log", "tan"]
leaf = st.one_of(st.sampled_from(VARS), st.sampled_from(["pi", "e"]),
                 st.floats(-3, 3, allow_nan=False).map(lambda v: repr(round(v, 3))))


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "/"]), children, children).map(lambda t: f"({t[1]} {t[0]} {t[2]})"),
        st.tuples(children, st.integers(-3, 4)).map(lambda t: f"({t[0]})^{t[1]}"),
        st.tuples(st.sampled_from(UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        children.map(lambda c: f"-{c}"),
    )


trees = st.recursive(leaf, _extend, max_leaves=8)
points = st.tuples(*[st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 6)) for _ in VARS])


def _beyond_float64(expr, subs) -> bool:
    """Some subexpression over- or underflows float64 at this point (then float64 cannot match exact math)."""
    for sub in sympy.preorder_traversal(expr):
        v = sub.xreplace(subs).evalf(20)
        if v.is_number and v.is_real and v != 0 and not (1e-300 < abs(v) < 1e300):
            return True
    return False


@settings(max_examples=10_000, suppress_health_check=list(HealthCheck))
@given(text=trees, point=points)
def test_torch_and_sympy_agree(text, point):
    try:
        e = parse(text, VARS)
    except ExprError:
        return  # e.g. a constant division by zero: refused, which is the parser's own error
    cols = [torch.tensor(p, dtype=torch.float64) for p in point]
    got = e.evaluate(cols).item()
    subs = dict(zip(e.symbols, map(sympy.Rational, point)))
    if any(cond.xreplace(subs) != sympy.true for _, cond in e.domain):
        return  # outside the natural domain (sympy may simplify x/x to 1; torch gives nan at 0): no promise
    exact = e.sympy.xreplace(subs).evalf(30)
    if not exact.is_real or exact.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        return  # outside the natural domain: torch gives nan/inf, sympy a complex or infinite value
    want = float(exact)
    if not math.isfinite(want) or abs(want) > 1e12 or (not math.isfinite(got) and _beyond_float64(e.sympy, subs)):
        return
    # near-cancellation loses relative accuracy in float64; compare on the scale of the inputs, and where an
    # ill-conditioned step amplifies rounding (a periodic function of a huge argument), on its error bound
    if got != pytest.approx(want, rel=1e-7, abs=1e-7):
        assert abs(got - want) <= 16 * _rounding_bound(e.sympy, subs), text


def _rounding_bound(expr, subs) -> float:
    """First-order forward error of evaluating ``expr`` in float64: each operation rounds its result r to
    r(1 + δ), |δ| <= 2^-53, which moves f by about |∂f/∂r| · |r| · 2^-53; summed over the subexpressions (the
    standard running-error bound; sin(y^-2) at y = 1e-5 loses ~1e-6 absolute to the rounding of y^-2 = 1e10)."""
    total = 0.0
    for sub in sympy.preorder_traversal(expr):
        if sub.is_Atom:
            continue
        t = sympy.Dummy("t")
        r = sub.xreplace(subs).evalf(30)
        slope = sympy.diff(expr.xreplace({sub: t}), t).xreplace(subs).xreplace({t: r}).evalf(30)
        if not (r.is_real and slope.is_real) or slope.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
            return math.inf
        total += abs(float(slope)) * abs(float(r)) * 2.0 ** -53
    return total


SENTINEL = []


def _touch():  # reachable only if user text were executed
    SENTINEL.append(1)


ALPHABET = "xyz0123456789.+-*/^() ,_[]'\"\\:=<>!@#;{}abcdefghijklmnopqrstuvw\n"
fragments = st.sampled_from(list(FUNCTIONS) + ["__import__", "_touch()", "__class__", "lambda", "os", ".", "**",
                                               "globals()", "exec", "eval", "9**9**9", "(", ")", "pi", "e"])
texts = st.lists(st.one_of(st.text(ALPHABET, max_size=6), fragments), max_size=12).map("".join)


@settings(max_examples=10_000, suppress_health_check=list(HealthCheck))
@given(text=texts)
def test_random_text_parses_or_raises_own_error(text):
    try:
        parse(text)
    except ExprError:
        pass
    assert SENTINEL == []


def test_domain_of_a_possibly_non_real_argument_is_kept_unevaluated():
    # sympy cannot order log(min(x, 0)) against 0; the condition stays symbolic instead of raising
    e = parse("log1p(log(min(x, 0.0)))")
    assert [d[0] for d in e.domain] == ["log argument > 0", "log1p argument > -1"]


def test_constants_are_exact_where_sympy_sees_them():
    # float rounding of pi would put tan(pi) just below 0 and sqrt would give nan
    e = parse("x + sqrt(tan(pi))", "x")
    assert e.evaluate([torch.tensor(0.5, dtype=torch.float64)]).item() == 0.5
    with pytest.raises(ExprError, match="constant log1p subexpression zoo is not a finite real number"):
        parse("log1p(log1p(-(x / x)))", "x")


@pytest.mark.parametrize("text", ["1if x", '"\\d" + x', "0x1g"])
def test_odd_literals_give_our_error_and_no_python_warning(text):
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")           # a SyntaxWarning from Python's parser would be recorded
        with pytest.raises(ExprError):
            parse(text)
    assert [str(w.message) for w in seen] == []


@pytest.mark.parametrize("text", ["α^2", "_x + 1", "x + é"])
def test_a_name_outside_ascii_letters_digits_and_underscore_says_so(text):
    with pytest.raises(ExprError, match=r"not allowed: names are ASCII letters, digits and _, starting with a letter"):
        parse(text)
