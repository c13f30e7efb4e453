"""The surface parser: accepted expressions equal hand-written torch, hostile text is refused with a precise message,
and fuzzing finds nothing but ExpressionError."""

import math

import numpy as np

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from descent_core.expression import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    SurfaceCheck,
    check_start,
    parse_surface,
    validate_surface,
)


def random_points(dtype, shape=(7, 5)):
    generator = torch.Generator().manual_seed(0)
    return (torch.rand(*shape, 2, generator=generator, dtype=torch.float64) * 4 - 2).to(dtype)


# text -> the same function written by hand in torch
ACCEPT = [
    ("x**2 + 3*y**2", lambda x, y: x**2 + 3 * y**2),
    ("x^2 + 3*y^2", lambda x, y: x**2 + 3 * y**2),
    ("-x**2", lambda x, y: -(x**2)),
    ("(-x)**2", lambda x, y: (-x) ** 2),
    ("2**3**0.5*x", lambda x, y: 2 ** (3**0.5) * x),
    ("x - y - 1", lambda x, y: (x - y) - 1),
    ("x / y / 2", lambda x, y: (x / y) / 2),
    ("2**-x*3", lambda x, y: (2 ** (-x)) * 3),
    ("+x - -y", lambda x, y: x + y),
    ("1e-3*x + 2.5E+1*y + .5", lambda x, y: 1e-3 * x + 25.0 * y + 0.5),
    ("(1 - x)**2 + 100*(y - x**2)**2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2),
    ("abs(x) + sqrt(abs(y))", lambda x, y: torch.abs(x) + torch.sqrt(torch.abs(y))),
    ("exp(-x**2) * log(1 + y**2)", lambda x, y: torch.exp(-(x**2)) * torch.log(1 + y**2)),
    ("sin(x)*cos(y) + tanh(x*y)", lambda x, y: torch.sin(x) * torch.cos(y) + torch.tanh(x * y)),
    ("min(x, y) + max(x**2, 1)", lambda x, y: torch.minimum(x, y) + torch.clamp(x**2, min=1)),
    ("pi*x + e*y", lambda x, y: math.pi * x + math.e * y),
    ("  x  *  ( y + 1 )  ", lambda x, y: x * (y + 1)),
    ("x**y", lambda x, y: x**y),
    ("3", lambda x, y: torch.full_like(x, 3.0)),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("text, reference", ACCEPT, ids=[t for t, _ in ACCEPT])
def test_accepted_expression_equals_hand_written_torch(text, reference, dtype):
    xy = random_points(dtype)
    value = parse_surface(text).loss(xy)
    expected = reference(xy[..., 0], xy[..., 1])
    assert value.shape == xy.shape[:-1]
    assert value.dtype == dtype
    torch.testing.assert_close(value, expected, equal_nan=True)


@pytest.mark.parametrize("text, reference", ACCEPT[:15], ids=[t for t, _ in ACCEPT[:15]])
def test_gradient_matches_hand_written_torch(text, reference):
    xy = random_points(torch.float64).requires_grad_(True)
    (grad,) = torch.autograd.grad(parse_surface(text).loss(xy).sum(), xy)
    ref_xy = xy.detach().clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(reference(ref_xy[..., 0], ref_xy[..., 1]).sum(), ref_xy)
    torch.testing.assert_close(grad, expected, equal_nan=True)


def test_constant_surface_has_batch_shape_and_zero_gradient():
    xy = random_points(torch.float64).requires_grad_(True)
    (grad,) = torch.autograd.grad(parse_surface("2 + 3").loss(xy).sum(), xy)
    assert torch.all(grad == 0)


def test_single_point_without_batch():
    assert float(parse_surface("x + 10*y").loss(torch.tensor([1.0, 2.0]))) == 21.0


# text -> (a phrase the message must contain, 1-based column of the problem or None)
REJECT = [
    ("__import__('os')", "unknown function '__import__'", 1),
    ("x.__class__", "unexpected character '.'", 2),
    ("lambda: 1", "unknown name 'lambda'", 1),
    ("[x]", "unexpected character '['", 1),
    ("x; y", "unexpected character ';'", 2),
    ("open('f')", "unknown function 'open'", 1),
    ("x if y else 1", "unexpected name 'if'", 3),
    ("(" * 30 + "x" + ")" * 30, f"nested more than {MAX_DEPTH} levels", None),
    ("-" * 30 + "x", f"nested more than {MAX_DEPTH} levels", None),
    ("x" * 10_000, f"10000 characters long; the limit is {MAX_LENGTH}", None),
    ("9**9**9", "constant exponents may be at most", 4),
    ("x**100", "evaluates to 100", 4),
    ("x**(0**-1)", "evaluates to inf", 5),
    ("foo(x)", "unknown function 'foo'", 1),
    ("os", "unknown name 'os' at column 1; allowed: x, y, pi, e, abs, sqrt", 1),
    ("max(x)", "max takes 2 arguments, got 1", 1),
    ("sin(x, y)", "sin takes 1 argument, got 2", 1),
    ("", "the expression is empty", 1),
    ("   ", "the expression is empty", 1),
    ("x \u00d7 y", "write '*' instead", 3),
    ("x\u00b2", "write '**2' instead", 2),
    ("\u03c0*x", "write 'pi' instead", 1),
    ("x + \u2603", "only ASCII math is accepted", 5),
    ("x\x00", "control character (U+0000)", 2),
    ("\uff11 + x", "(U+FF11)", 1),  # a full-width digit one: not an ASCII digit
    ("2x", "missing operator before name 'x'", 2),
    ("x y", "missing operator", 3),
    ("pi(x)", "missing operator before '('", 3),
    ("x +", "found the end of the expression", 4),
    ("* x", "expected a number, x, y, a function or '('", 1),
    ("(x + y", "missing ')' to close the '(' at column 1", 7),
    ("x + y)", "unmatched ')'", 6),
    ("x, y", "commas only separate", 2),
    ("sin x", "needs its argument in parentheses", 5),
    ("1e999 * x", "out of range", 1),
    ("2000000*x", "out of range", 1),
    ("x = 1", "unexpected character '='", 3),
    ("'x'", "strings are not part of the language", 1),
    ("x @ y", "unexpected character '@'", 3),
    ("+".join(["x"] * 90), "more than 120 terms", None),
]


@pytest.mark.parametrize("text, phrase, column", REJECT, ids=[repr(t[:24]) for t, _, _ in REJECT])
def test_hostile_or_broken_input_gives_a_precise_error(text, phrase, column):
    with pytest.raises(ExpressionError) as caught:
        parse_surface(text)
    error = caught.value
    assert phrase in error.message
    if column is not None:
        assert error.column == column
        # the message names a column (of the problem, or of the '(' / function it belongs to)
        assert "at column" in error.message or "empty" in error.message


def test_caret_line_points_at_the_problem():
    with pytest.raises(ExpressionError) as caught:
        parse_surface("x + os")
    assert caught.value.caret_text() == "x + os\n    ^"


def test_non_text_is_refused():
    with pytest.raises(ExpressionError, match="must be text"):
        parse_surface(None)


def test_round_trip_and_latex_of_a_known_expression():
    surface = parse_surface("(1-x)^2+100*(y-x^2)^2")
    assert surface.canonical == "(1 - x)**2 + 100*(y - x**2)**2"
    assert surface.to_latex() == r"{\left(1 - x\right)}^{2} + 100 \cdot {\left(y - {x}^{2}\right)}^{2}"
    assert parse_surface("x/(y+1)").to_latex() == r"\frac{x}{y + 1}"


# --------------------------------------------------------------------------------------------------------------
# validate_surface and check_start
# --------------------------------------------------------------------------------------------------------------
BOUNDS = ((-2.0, 2.0), (-1.0, 3.0))


def test_validate_accepts_a_good_surface_and_reports_its_range():
    check = validate_surface(parse_surface("x**2 + y**2"), BOUNDS)
    assert isinstance(check, SurfaceCheck)
    assert check.finite_fraction == 1.0
    assert check.low == pytest.approx(0.0, abs=0.01) and check.high == pytest.approx(13.0)


def test_validate_keeps_a_surface_finite_on_most_of_the_region():
    check = validate_surface(parse_surface("sqrt(x + 1.5) + y**2"), BOUNDS)
    assert 0.5 < check.finite_fraction < 1.0


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("log(-1 - x**2)", "not finite anywhere"),
        ("log(x - 1.5) + y", "NaN or inf on"),
        ("x - x + 3", "constant over the region"),
        ("0*y", "constant over the region"),
    ],
)
def test_validate_rejects_unusable_surfaces(text, phrase):
    with pytest.raises(ExpressionError, match=phrase):
        validate_surface(parse_surface(text), BOUNDS)


@pytest.mark.parametrize("bounds", [((1, 0), (0, 1)), ((0, 1),), (("a", 1), (0, 1)), ((0, math.inf), (0, 1))])
def test_validate_rejects_bad_bounds(bounds):
    with pytest.raises(ExpressionError, match="bounds"):
        validate_surface(parse_surface("x + y"), bounds)


def test_check_start_refuses_a_point_where_the_gradient_is_infinite():
    assert check_start(parse_surface("x**2 + y**2"), (1, 2)) == (1.0, 2.0)
    with pytest.raises(ExpressionError, match="not finite at the start"):
        check_start(parse_surface("sqrt(abs(x)) + y**2"), (0.0, 1.0))


# --------------------------------------------------------------------------------------------------------------
# Fuzzing
# --------------------------------------------------------------------------------------------------------------
PIECES = list("xy0123456789.eE+-*/^(), _'[];:") + [
    "**", "sin", "max", "min", "pi", "sqrt", "log", "__", "import", "os", "lambda", "\u00e9", "\u2212", "\x00", "\n",
]
SMALL_GRID = torch.tensor([[-1.5, 0.5], [0.0, 0.0], [2.0, -3.0], [0.25, 1.0]], dtype=torch.float64)


def evaluate_everywhere(surface):
    """Evaluate forward and backward on a few points; non-finite values are allowed, exceptions are not."""
    xy = SMALL_GRID.clone().requires_grad_(True)
    value = surface.loss(xy)
    assert value.shape == (4,)
    (grad,) = torch.autograd.grad(value.sum(), xy)
    assert grad.shape == xy.shape
    return value


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join) | st.text(max_size=60))
def test_random_text_raises_nothing_but_expression_error(text):
    try:
        surface = parse_surface(text)
    except ExpressionError as error:
        assert error.message
        return
    value = evaluate_everywhere(surface)
    # whatever parsed also prints back to text that parses to the same tree and the same values
    again = parse_surface(surface.canonical)
    assert again.tree == surface.tree
    torch.testing.assert_close(again.loss(SMALL_GRID), value.detach(), equal_nan=True, rtol=0, atol=0)


def leaf():
    """Leaves of the grammar: (text, reference function)."""
    numbers = st.one_of(st.integers(0, 1000).map(float), st.floats(1e-6, 1e3, allow_nan=False))
    return st.one_of(
        st.just(("x", lambda x, y: x)),
        st.just(("y", lambda x, y: y)),
        st.just(("pi", lambda x, y: x.new_tensor(math.pi))),
        numbers.map(lambda v: (repr(v), lambda x, y, v=v: x.new_tensor(v))),
    )


BINARY = {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div}
UNARY = {"abs": torch.abs, "sqrt": torch.sqrt, "exp": torch.exp, "log": torch.log, "sin": torch.sin,
         "cos": torch.cos, "tanh": torch.tanh}


def exponent_value(name, x, y):
    """The reference value of a generated exponent: a variable or a small literal."""
    return {"x": x, "y": y}[name] if name in ("x", "y") else x.new_tensor(float(name))


def grow(children):
    """One grammar step on top of smaller expressions, each written fully parenthesised."""
    binary = st.tuples(st.sampled_from(sorted(BINARY)), children, children).map(
        lambda t: (f"({t[1][0]}){t[0]}({t[2][0]})", lambda x, y, t=t: BINARY[t[0]](t[1][1](x, y), t[2][1](x, y)))
    )
    power = st.tuples(children, st.sampled_from(["x", "y", "0", "1", "2", "3", "0.5"])).map(
        lambda t: (
            f"({t[0][0]})**{t[1]}",
            lambda x, y, t=t: torch.pow(t[0][1](x, y), exponent_value(t[1], x, y)),
        )
    )
    call = st.tuples(st.sampled_from(sorted(UNARY)), children).map(
        lambda t: (f"{t[0]}({t[1][0]})", lambda x, y, t=t: UNARY[t[0]](t[1][1](x, y)))
    )
    extremum = st.tuples(st.sampled_from(["min", "max"]), children, children).map(
        lambda t: (
            f"{t[0]}({t[1][0]}, {t[2][0]})",
            lambda x, y, t=t: (torch.minimum if t[0] == "min" else torch.maximum)(t[1][1](x, y), t[2][1](x, y)),
        )
    )
    negate = children.map(lambda c: (f"-({c[0]})", lambda x, y, c=c: torch.neg(c[1](x, y))))
    return st.one_of(binary, power, call, extremum, negate)


EXPRESSIONS = st.recursive(leaf(), grow, max_leaves=8)


def parse_within_limits(text):
    """Parse a generated expression, discarding the rare one that is longer or deeper than the limits allow."""
    assume(len(text) <= MAX_LENGTH)
    try:
        return parse_surface(text)
    except ExpressionError as error:
        assume("nested more than" not in error.message and "terms and operations" not in error.message)
        raise


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_generated_expression_evaluates_like_its_reference(expression):
    text, reference = expression
    surface = parse_within_limits(text)
    value = evaluate_everywhere(surface)
    expected = reference(SMALL_GRID[:, 0], SMALL_GRID[:, 1]).expand(4)
    torch.testing.assert_close(value.detach(), expected, equal_nan=True, rtol=1e-12, atol=0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_canonical_text_round_trips_to_the_same_tree_and_values(expression):
    surface = parse_within_limits(expression[0])
    again = parse_surface(surface.canonical)
    assert again.tree == surface.tree
    assert again.canonical == surface.canonical
    torch.testing.assert_close(again.loss(SMALL_GRID), surface.loss(SMALL_GRID), equal_nan=True, rtol=0, atol=0)


# --------------------------------------------------------------------------------------------------------------
# Racing on a typed surface
# --------------------------------------------------------------------------------------------------------------
import descent_core as dc  # noqa: E402
from descent_core.expression import surface_landscape, tune_surface  # noqa: E402
from descent_core.tuning import lr_grid, pick_stable  # noqa: E402


def test_surface_landscape_is_a_landscape_with_autograd_gradients():
    landscape = surface_landscape(parse_surface("(1 - x)^2 + 100*(y - x^2)^2"), ((-2, 2), (-1, 3)), (-1.5, 2))
    assert isinstance(landscape, dc.Landscape)
    assert landscape.start == (-1.5, 2.0) and landscape.log_scale
    point = torch.tensor([[0.5, -0.5]], dtype=torch.float64)
    x, y = 0.5, -0.5
    expected = [-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)]
    torch.testing.assert_close(landscape.grad(point), torch.tensor([expected], dtype=torch.float64))
    torch.testing.assert_close(landscape.hessian_diag(point),
                               torch.tensor([[2 - 400 * (y - 3 * x**2), 200.0]], dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_race_runs_on_a_typed_surface(dtype):
    landscape = surface_landscape(parse_surface("x**2 + 3*y**2"), ((-2, 2), (-2, 2)), (1.5, 1.5))
    result = dc.race(landscape, ["gd", "adam", "sophia"], steps=100, dtype=dtype, device="cpu",
                     hparams={"gd": {"lr": 0.1}, "adam": {"lr": 0.1}, "sophia": {"lr": 0.05, "weight_decay": 0.0}})
    assert np.all(result.diverged_at < 0)
    assert np.all(result.losses[:, 0, -1] < 0.5 * result.losses[:, 0, 0])
    assert np.all(result.losses[:2, 0, -1] < 0.01 * result.losses[:2, 0, 0])  # gd and adam reach the bottom


@pytest.mark.parametrize(
    "text, start, phrase",
    [("x**2 + y**2", (5.0, 0.0), "outside the region"), ("sqrt(abs(x)) + y**2", (0.0, 0.5), "not finite at the start"),
     ("x - x", (0.0, 0.0), "constant")],
)
def test_surface_landscape_refuses_unusable_setups(text, start, phrase):
    with pytest.raises(ExpressionError, match=phrase):
        surface_landscape(parse_surface(text), ((-2, 2), (-2, 2)), start)


def test_tuning_picks_a_stable_rate_for_every_optimizer():
    landscape = surface_landscape(parse_surface("x**2 + 3*y**2"), ((-2, 2), (-2, 2)), (1.5, 1.5))
    tuned = tune_surface(landscape, steps=60, points=9)
    assert set(tuned) == set(dc.OPTIMIZERS)
    for opt_id, hparams in tuned.items():
        assert lr_grid(opt_id, 9)[0] * 0.99 <= hparams["lr"] <= lr_grid(opt_id, 9)[-1] * 1.01
    # gd on this bowl (curvature 6) diverges above lr = 2/6; the pick keeps two grid notches below the edge
    assert tuned["gd"]["lr"] < 1 / 3
    result = dc.race(surface_landscape(parse_surface("x**2 + 3*y**2"), ((-2, 2), (-2, 2)), (1.5, 1.5), tuned=tuned),
                     ["gd", "adam", "shampoo"], steps=60, device="cpu")
    assert np.all(result.losses[:, 0, -1] < result.losses[:, 0, 0])


def test_pick_stable_keeps_a_margin_from_divergence():
    inf = np.inf
    assert pick_stable(np.array([3.0, 2.0, 1.0, 0.5, inf, inf])) == 1
    assert pick_stable(np.array([3.0, 2.0, 1.0, 0.5, 0.2, 0.1])) == 3
    assert pick_stable(np.array([inf, 1e6, 2.0, inf])) == 2  # nothing safe: the best stable one
