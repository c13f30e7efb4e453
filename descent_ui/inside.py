"""Look inside an optimizer: step through one run and see the state the update rule keeps.

The page runs one race with ``record_state=True`` (cached), then a step slider picks update k. The surface chart
shows the path so far and arrows from the current point: the negative gradient, the momentum buffer or first
moment, Shampoo's preconditioned direction and its principal axes, and the update actually made. A table gives
the same quantities as numbers; a second chart follows them over the whole run. The arithmetic is in
``descent_core.inside``; this module only draws.
"""

from __future__ import annotations

import functools
import inspect
import json

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch

import descent_core as dc
from descent_core import content, inside

from .race_chart import SURFACE_TOKEN, aspect, show_static, surface_image, surface_layers
from .specs import frozen
from .state import RACE_DEVICE
from .theme import color_of

KEY = "inside"
CHART_WIDTH = 600
# Colours that stay visible on both ends of the surface colormap (dark blue to pale yellow).
ARROW_COLORS = {"−gradient": "#e03131", "update made": "#e64980", "−P·g (preconditioned)": "#fd7e14"}
BUFFER_COLOR = "#1c7ed6"
AXIS_COLOR = "#7048e8"
LABELS = {"momentum": "momentum μ", "alpha": "α", "rho": "ρ", "weight_decay": "weight decay λ", "eps": "ε",
          "trust_coefficient": "trust coefficient"}
# Hyperparameters a reader may turn, with their slider ranges; others keep the optimizer's defaults.
RANGES = {
    "momentum": (0.0, 0.999, 0.001),
    "alpha": (0.5, 0.999, 0.001),
    "rho": (0.5, 0.999, 0.001),
    "weight_decay": (0.0, 1.0, 0.01),
}
LOG_KNOBS = {"eps", "trust_coefficient"}
BETA_RANGES = ((0.0, 0.999, 0.001), (0.5, 0.9999, 0.0001))  # β1; β2 and AdEMAMix's β3


@st.cache_resource(max_entries=24, show_spinner=False)
def recorded_race(opt: str, landscape: str, hparams_json: str, steps: int) -> dc.Race:
    """One run with every buffer recorded. Cached as a resource: a Race holds the landscape's functions (not
    picklable); it is never mutated after this call."""
    return dc.race(landscape, [opt], steps=steps, hparams={opt: json.loads(hparams_json)}, record_state=True,
                   dtype=torch.float64, device=RACE_DEVICE)


def _log_options(value: float, low: float | None = None, high: float | None = None) -> list[float]:
    low = low if low is not None else value / 100
    high = high if high is not None else value * 100
    grid = {float(f"{v:.3g}") for v in np.geomspace(low, high, 41)} | {float(f"{value:.3g}")}
    return sorted(grid)


def _controls() -> tuple[str, str, dict, int]:
    top = st.columns(3)
    opt = top[0].selectbox("Optimizer", list(dc.OPTIMIZERS), index=list(dc.OPTIMIZERS).index("adam"),
                           format_func=lambda o: dc.OPTIMIZERS[o].name, key=f"{KEY}.opt")
    landscape = top[1].selectbox("Surface", list(dc.LANDSCAPES), index=list(dc.LANDSCAPES).index("ravine"),
                                 format_func=lambda i: dc.LANDSCAPES[i].name, key=f"{KEY}.landscape")
    steps = top[2].slider("Steps to run", 10, 500, 100, step=10, key=f"{KEY}.steps")
    spec = dc.OPTIMIZERS[opt]
    start = {**spec.defaults, **dc.LANDSCAPES[landscape].tuned.get(opt, {})}
    hparams: dict = {}
    knobs = st.columns(4)
    prefix = f"{KEY}.{opt}.{landscape}"  # new optimizer or surface: widgets start from its tuned values
    hparams["lr"] = knobs[0].select_slider("learning rate η", _log_options(float(start["lr"])),
                                           value=float(f"{float(start['lr']):.3g}"), key=f"{prefix}.lr",
                                           format_func=lambda v: f"{v:g}")
    column = 1
    for name, default in spec.defaults.items():
        target = knobs[column % 4]
        value = start[name]
        if name == "betas":  # two betas, or AdEMAMix's three (fast EMA, second moment, slow EMA)
            hparams["betas"] = tuple(
                knobs[(column + j) % 4].slider(f"β{j + 1}", low, high, float(b), step, key=f"{prefix}.b{j + 1}",
                                               format="%.3f" if j == 0 else "%.4f")
                for j, b in enumerate(value) for low, high, step in [BETA_RANGES[min(j, 1)]])
            column += len(value)
        elif name in RANGES and isinstance(default, float) and RANGES[name][0] <= float(value) <= RANGES[name][1]:
            # A name shared by different quantities (RMSprop's α is a decay, AdEMAMix's α a mixing weight of 5)
            # gets a slider only where its value is the kind the range is for; otherwise it keeps its default.
            low, high, step = RANGES[name]
            hparams[name] = target.slider(LABELS.get(name, name), low, high, float(value), step,
                                          key=f"{prefix}.{name}")
            column += 1
        elif name in LOG_KNOBS and isinstance(value, (int, float)) and value > 0:  # not Adafactor's (None, 1e-3)
            hparams[name] = target.select_slider(LABELS.get(name, name), _log_options(float(value)),
                                                 value=float(f"{float(value):.3g}"), key=f"{prefix}.{name}",
                                                 format_func=lambda v: f"{v:g}")
            column += 1
    return opt, landscape, hparams, steps


# --------------------------------------------------------------------------------------------------------------
# Charts.


def surface_with_arrows(race: dc.Race, view: inside.StepView, arrows: pd.DataFrame) -> alt.LayerChart:
    landscape = race.landscape
    # The player keeps this aspect at any width, so arrow heads turned for it stay aligned with their shafts.
    width, height = CHART_WIDTH, int(round(CHART_WIDTH * aspect(landscape)))
    (x0, x1), (y0, y1) = landscape.bounds
    x_scale = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    y_scale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    X = lambda field: alt.X(field, scale=x_scale, title="x")  # noqa: E731
    Y = lambda field: alt.Y(field, scale=y_scale, title="y")  # noqa: E731

    path = pd.DataFrame(race.paths[0, 0, : view.step + 1], columns=["x", "y"]).assign(step=np.arange(view.step + 1))
    trail = alt.Chart(path).mark_line(color=color_of(view.optimizer), strokeWidth=2.2, clip=True).encode(
        x=X("x:Q"), y=Y("y:Q"), order="step:Q")
    visited = alt.Chart(path).mark_point(color=color_of(view.optimizer), size=14, filled=True, clip=True).encode(
        x=X("x:Q"), y=Y("y:Q"), tooltip=["step:Q", alt.Tooltip("x:Q", format=".4g"), alt.Tooltip("y:Q", format=".4g")])
    here = alt.Chart(pd.DataFrame({"x": [view.point[0]], "y": [view.point[1]]})).mark_point(
        shape="circle", size=130, filled=True, color="white", stroke="#212529", strokeWidth=1.5).encode(
        x=X("x:Q"), y=Y("y:Q"))

    arrows = arrows.copy()
    names = arrows["arrow"].tolist()
    palette = [ARROW_COLORS.get(n, AXIS_COLOR if n.startswith("P axis") else BUFFER_COLOR) for n in names]
    color = alt.Color("arrow:N", title=None, scale=alt.Scale(domain=names, range=palette),
                      legend=alt.Legend(orient="bottom", columns=2, labelLimit=320))
    # Screen angle of each arrow head (Vega rotates symbols clockwise from "up", in pixels).
    sx, sy = width / (x1 - x0), height / (y1 - y0)
    arrows["angle"] = np.degrees(np.arctan2((arrows["x2"] - arrows["x"]) * sx, (arrows["y2"] - arrows["y"]) * sy))
    tooltip = ["arrow:N", alt.Tooltip("length:Q", format=".4g", title="true length"), "drawn:N"]
    shafts = alt.Chart(arrows).mark_rule(strokeWidth=3, clip=True).encode(
        x=X("x:Q"), y=Y("y:Q"), x2="x2:Q", y2="y2:Q", color=color, tooltip=tooltip)
    heads = alt.Chart(arrows[arrows["head"]]).mark_point(shape="triangle-up", size=110, filled=True, opacity=1,
                                                         clip=True).encode(
        x=X("x2:Q"), y=Y("y2:Q"), angle=alt.Angle("angle:Q", scale=None), color=color, tooltip=tooltip)
    layers = surface_layers(landscape, width, height, SURFACE_TOKEN) + [trail, visited, shafts, heads, here]
    return alt.layer(*layers).properties(width=width, height=height, title=f"Update {view.step} of {race.steps}",
                                         autosize=alt.AutoSizeParams(type="pad"))


def signals(race: dc.Race) -> pd.DataFrame:
    """Per-step quantities over the whole run, long format: ‖g‖, ‖Δθ‖, the per-coordinate effective step, and the
    trust ratio where there is one."""
    opt = race.optimizers[0]
    t = np.arange(1, race.steps + 1)
    columns = {
        "‖g‖": np.linalg.norm(race.grads[0, 0], axis=-1),
        "‖Δθ‖": np.linalg.norm(np.diff(race.paths[0, 0], axis=0), axis=-1),
        "effective step, x": race.effective_step()[0, 0, :, 0],
        "effective step, y": race.effective_step()[0, 0, :, 1],
    }
    if "trust_ratio" in race.states.get(opt, {}):
        columns["trust ratio"] = inside.trust_ratios(race, opt)[0]
    frame = pd.concat([pd.DataFrame({"step": t, "value": v, "quantity": k}) for k, v in columns.items()],
                      ignore_index=True)
    return frame[np.isfinite(frame["value"]) & (frame["value"] > 0)]


def signals_chart(frame: pd.DataFrame, k: int) -> alt.LayerChart:
    lines = alt.Chart(frame).mark_line(strokeWidth=1.8).encode(
        x=alt.X("step:Q"), y=alt.Y("value:Q", scale=alt.Scale(type="log"), title="value (log)"),
        color=alt.Color("quantity:N", title=None, legend=alt.Legend(orient="bottom", columns=3)),
        tooltip=["quantity:N", "step:Q", alt.Tooltip("value:Q", format=".4g")])
    rule = alt.Chart(pd.DataFrame({"step": [k]})).mark_rule(color="#868e96", strokeDash=[4, 3]).encode(x="step:Q")
    return alt.layer(lines, rule).properties(height=200, title="Over the whole run",
                                             autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


# --------------------------------------------------------------------------------------------------------------
# The page.




def readable_state(table: pd.DataFrame) -> pd.DataFrame:
    """The state table as a reader reads it: numbers to four significant digits, "—" where a quantity has no such
    component (a scalar has no y, a matrix row no norm)."""
    shown = table.copy()
    for column in ("x", "y", "norm"):
        if column in shown:
            shown[column] = [("—" if not np.isfinite(v) else f"{v:.4g}") if isinstance(v, (int, float)) else str(v)
                             for v in shown[column]]
    return shown.set_index(shown.columns[0])


@st.cache_data(max_entries=64, show_spinner=False)
def inside_view(opt: str, landscape: str, hparams_json: str, steps: int, k: int) -> dict:
    """Everything the page shows for update k of one setting, built once: the surface spec with its arrows, the
    signals chart frozen to Arrow bytes, the state table and the numbers. A warm rerun builds no chart (building
    and validating the two Altair charts was nearly all of it)."""
    race = recorded_race(opt, landscape, hparams_json, steps)
    view = inside.step_view(race, k)
    (x0, x1), (y0, y1) = race.landscape.bounds
    arrows = inside.arrows(view, span=min(x1 - x0, y1 - y0))
    spec = surface_with_arrows(race, view, arrows).to_dict()
    for layer in spec["layer"]:
        layer.pop("width", None), layer.pop("height", None)
    shown = ", ".join(f"{name}={value}" for name, value in race.hparams[opt].items()
                      if name != "ns_coefficients" and value is not None)
    start = ", ".join(f"{c:g}" for c in race.starts[0])
    return {
        "surface_spec": spec, "label": f"{dc.OPTIMIZERS[opt].name} on {race.landscape.name}: update {k}",
        "bounds": race.landscape.bounds, "aspect": aspect(race.landscape), "surface": surface_image(race.landscape),
        "diverged_at": int(race.diverged_at[0, 0]), "loss": float(race.losses[0, 0, k]), "lr": view.lr,
        "trust_ratio": view.trust_ratio, "state": readable_state(inside.state_table(view)),
        "signals": frozen(signals_chart(signals(race), k)),
        "settings": f"{dc.OPTIMIZERS[opt].name} on {race.landscape.name}, start ({start}), {steps} steps, "
                    f"float64 · {shown}",
    }


def render_inside_page() -> None:
    st.title("Look inside an optimizer")
    st.markdown("Pick an optimizer and a surface, then move through the run one update at a time. The arrows start "
                "where the gradient of that update was taken; the table gives the same state as numbers.")
    opt, landscape, hparams, steps = _controls()
    k = st.slider("Update k", 1, steps, min(steps, 10), key=f"{KEY}.k.{steps}")
    try:
        shown = inside_view(opt, landscape, json.dumps(hparams, sort_keys=True), steps, k)
    except ValueError as error:
        st.error(f"This setting cannot run: {error}")
        return
    show_static(shown["surface_spec"], key=f"{KEY}.surface", label=shown["label"], bounds=shown["bounds"],
                aspect_ratio=shown["aspect"], surface=shown["surface"])
    st.caption("Arrows start where update k took its gradient. Directions are drawn at a common length because "
               "their units differ; the pink “update made” arrow is to scale. Hover an arrow for its true length.")
    if shown["diverged_at"] >= 0:
        st.warning(f"This run diverged at step {shown['diverged_at']}; it is held at its last finite point.")
    left, right = st.columns([2, 3])
    with left:
        metrics = st.columns(2)
        metrics[0].metric("loss after update k", f"{shown['loss']:.3g}")
        metrics[1].metric("η in force", f"{shown['lr']:.3g}")
        if shown["trust_ratio"] is not None:
            st.metric("trust ratio", f"{shown['trust_ratio']:.4g}")
        st.markdown(content.inside_notes()["explain"].get(opt, ""))
    with right:
        st.table(shown["state"])
    st.vega_lite_chart(shown["signals"], width="stretch", key=f"{KEY}.signals")
    rule = dc.OPTIMIZERS[opt].rule
    with st.expander(f"The update rule that produced this state: {rule.__module__}.{rule.__name__}"):
        st.code(_source(opt), language="python")
    st.caption(shown["settings"])


@functools.lru_cache(maxsize=64)
def _source(opt: str) -> str:
    """The rule's source text (read once per optimizer: inspect reads and tokenizes the whole module)."""
    return inspect.getsource(dc.OPTIMIZERS[opt].rule)
