"""Your own surface: type f(x, y), choose a region and a start, and race the optimizers on it.

The text never reaches Python's evaluator: ``descent_core.expression`` parses it with a whitelist grammar and
compiles it to torch operations. Any problem comes back as an ``ExpressionError`` that this page shows with a
caret under the offending character.
"""

from __future__ import annotations

import re

import streamlit as st

import descent_core as dc
from descent_core.expression import (
    EXAMPLES,
    FUNCTIONS,
    MAX_LENGTH,
    ExpressionError,
    parse_surface,
    surface_landscape,
    validate_surface,
)

from . import fair_view, race_view
from .state import RACE_DEVICE

PREFIX = "surface."  # session-state namespace of this page
DEFAULT_EXAMPLE = "Rosenbrock"
DEFAULT_OPTIMIZERS = ["gd", "momentum", "rmsprop", "adam", "lion", "shampoo"]
OWN = "(your own)"
FAIR = "fair (tuned here)"

GRAMMAR = f"""
**What you can type** (at most {MAX_LENGTH} characters):

| | |
| --- | --- |
| variables | `x`, `y` |
| numbers | `3`, `0.5`, `.5`, `1e-3` |
| constants | `pi`, `e` |
| operators | `+  -  *  /`, powers `**` or `^` (`-x**2` is `-(x**2)`; `2**3**2` is `2**9`) |
| functions | {", ".join(f"`{name}`" for name in FUNCTIONS if name not in ("min", "max"))}, and `min(a, b)`, `max(a, b)` |

A constant exponent may be at most 16 in size, and brackets may nest 20 deep. Anything else, from
attribute access to strings or unknown names, is refused with a message that points at it.
"""

INTRO = (
    "Type a loss surface and watch the optimizers descend it. Each one starts from the same point; by default each "
    "uses the learning rate that won the same sweep on *your* surface (fair mode: the same budget for every "
    "optimizer), so the race compares update rules rather than lucky step sizes."
)


def render() -> None:
    """The whole page: inputs, then the parsed formula and the race, or an error that says what to fix."""
    _init_state()
    st.title("Your own surface")
    st.markdown(INTRO)
    with st.expander("Syntax"):
        st.markdown(GRAMMAR)

    st.selectbox("Start from an example", [OWN, *EXAMPLES], key=PREFIX + "example", on_change=_load_example)
    text = st.text_input("f(x, y) =", key=PREFIX + "text", max_chars=MAX_LENGTH, on_change=_mark_own,
                         help="An expression in x and y, e.g. x**2 + 3*y**2")
    bounds, start = _region_inputs()
    optimizers, steps, tuned = _race_inputs()

    try:
        surface = parse_surface(text)
        check = validate_surface(surface, bounds)
        surface_landscape(surface, bounds, start)  # the start and region checks, before any work
    except ExpressionError as error:
        show_error(error)
        return
    st.latex("f(x, y) = " + surface.to_latex())
    if check.finite_fraction < 1.0:
        st.warning(f"f is NaN or infinite on {100 * (1 - check.finite_fraction):.0f}% of the region; an optimizer "
                   "that steps there is marked as diverged.", icon=":material/warning:")
    if not optimizers:
        st.info("Pick at least one optimizer to race.")
        return
    try:
        view = race_payload(text, bounds, start, tuple(optimizers), steps, tuned)
    except (ExpressionError, ValueError) as error:
        show_error(error)
        return
    except Exception as error:  # a user's formula must never take the page down  # noqa: BLE001
        st.error(f"The race failed on this surface: {escape_markdown(str(error))}", icon=":material/error:")
        return
    race_view.show(view, claim=_claim(tuned), key=PREFIX + "chart", on_start=_start_clicked)
    if tuned:
        fair_view.show_tuning(view)


def _start_clicked() -> None:
    """A click on the map moves the start inputs there (inside the region)."""
    point = race_view.clicked_start(PREFIX + "chart")
    if point is None:
        return
    state = st.session_state
    x = min(max(point[0], state[PREFIX + "x0"]), state[PREFIX + "x1"])
    y = min(max(point[1], state[PREFIX + "y0"]), state[PREFIX + "y1"])
    state[PREFIX + "sx"], state[PREFIX + "sy"] = float(f"{x:.3g}"), float(f"{y:.3g}")


# ---------------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------------
def _init_state() -> None:
    example = EXAMPLES[DEFAULT_EXAMPLE]
    st.session_state.setdefault(PREFIX + "example", DEFAULT_EXAMPLE)
    for key, value in _example_values(example).items():
        st.session_state.setdefault(key, value)
    st.session_state.setdefault(PREFIX + "optimizers", list(DEFAULT_OPTIMIZERS))


def _example_values(example) -> dict:
    (x0, x1), (y0, y1) = example.bounds
    sx, sy = example.start
    values = {"text": example.text, "x0": x0, "x1": x1, "y0": y0, "y1": y1, "sx": sx, "sy": sy}
    return {PREFIX + key: value for key, value in values.items()}


def _load_example() -> None:
    """Copy the chosen example into the inputs (a callback runs before the widgets are drawn again)."""
    name = st.session_state[PREFIX + "example"]
    if name in EXAMPLES:
        st.session_state.update(_example_values(EXAMPLES[name]))


def _mark_own() -> None:
    """An edited formula is no longer the example the picker names."""
    name = st.session_state[PREFIX + "example"]
    if name in EXAMPLES and st.session_state[PREFIX + "text"] != EXAMPLES[name].text:
        st.session_state[PREFIX + "example"] = OWN


def _region_inputs() -> tuple[tuple[tuple[float, float], tuple[float, float]], tuple[float, float]]:
    columns = st.columns(6)
    labels = {"x0": "x min", "x1": "x max", "y0": "y min", "y1": "y max", "sx": "start x", "sy": "start y"}
    values = {key: column.number_input(label, key=PREFIX + key, step=0.1, format="%g")
              for column, (key, label) in zip(columns, labels.items())}
    bounds = ((float(values["x0"]), float(values["x1"])), (float(values["y0"]), float(values["y1"])))
    return bounds, (float(values["sx"]), float(values["sy"]))


def _race_inputs() -> tuple[list[str], int, bool]:
    optimizers = st.multiselect("Optimizers", list(dc.OPTIMIZERS), key=PREFIX + "optimizers",
                                format_func=lambda opt: dc.OPTIMIZERS[opt].name)
    left, right = st.columns([2, 1])
    steps = left.slider("Steps", 50, 1000, 300, step=50, key=PREFIX + "steps")
    rates = right.radio("Learning rates", [FAIR, "defaults"], key=PREFIX + "rates", horizontal=True,
                        help=f"'{FAIR}' tries the same {fair_view.POINTS} rates per optimizer (a log grid over its "
                             "own range) in one batched race on this surface and keeps each one's best final loss, "
                             "diverged runs excluded; 'defaults' are torch's.")
    return optimizers, int(steps), rates == FAIR


# ---------------------------------------------------------------------------------------------------------------
# Work and output
# ---------------------------------------------------------------------------------------------------------------
@st.cache_data(max_entries=32, show_spinner="Racing on your surface…")
def race_payload(text: str, bounds: tuple, start: tuple, optimizers: tuple[str, ...], steps: int,
                 tuned: bool) -> dict:
    """Parse, optionally tune fairly (``fair_view``), race, and return the race view's picklable payload (cached by
    the inputs)."""
    surface = parse_surface(text)
    landscape = surface_landscape(surface, bounds, start)
    if tuned:
        return fair_view.tuned_payload(landscape, list(optimizers), steps)
    race = dc.race(landscape, list(optimizers), steps=steps, device=RACE_DEVICE)
    return race_view.payload(race, show_loss=True)


def _claim(tuned: bool) -> str:
    if tuned:
        return ("Same start, each optimizer at the learning rate that won the same sweep on this surface (budget "
                "and winners below): the differences you see come from the update rules.")
    return "Same start, every optimizer at its library default: defaults are not tuned for your surface."


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$])")


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown and LaTeX delimiters, so user text such as __import__ is shown as typed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def show_error(error: ExpressionError | ValueError) -> None:
    """The message, and below it the expression with a caret under the problem (in a code block, shown raw)."""
    message = getattr(error, "message", None) or str(error)
    st.error(escape_markdown(message), icon=":material/error:")
    caret = error.caret_text() if isinstance(error, ExpressionError) else ""
    if caret:
        st.code(caret, language=None)
