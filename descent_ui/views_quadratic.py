"""The quadratic views: the rate map over (η, μ), whose cells race when clicked, and the eigenbasis view."""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import descent_core as dc
from descent_core import theory
from descent_core.views import bowl, eigenbasis, rate_map
from descent_core.views.quadratic import CURVE_NAMES, MU_MAX

from . import race_view
from .state import RACE_DEVICE
from .specs import frozen
from .views_common import show_checks, show_settings

L_MIN_OPTIONS = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
L_MAX_OPTIONS = [5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
MAP_WIDTH, MAP_HEIGHT = 640, 520  # the whole chart, legends included (Streamlit fits it)
RACE_STEPS = 150
CURVE_DASH = dict(zip(CURVE_NAMES, ([1, 0], [6, 3], [2, 2])))


# --------------------------------------------------------------------------------------------------------------
# The rate map.


@st.cache_data(max_entries=16, show_spinner=False)
def rate_map_figure(l_min: float, l_max: float) -> dict[str, Any]:
    """The sweep and its chart spec, cached per bowl: a warm rerun only unpickles this."""
    result = rate_map(l_min, l_max)
    return {"spec": frozen(rate_map_spec(result)), "checks": result.checks, "settings": result.settings,
            "facts": result.facts, "runtime_s": result.runtime_s,
            "cells": result.frames["cells"][["lr", "mu", "rate", "theory"]]}


def rate_map_spec(result) -> dict:
    """Heatmap of steps per 10× error reduction (log colour; diverged cells grey), the theory curves, both optima
    labelled, and a click selection ``cell`` on (lr, mu)."""
    facts = result.facts
    # Cells overlap by a few percent: abutting rects leave hairline seams in the canvas renderer.
    half_lr, half_mu = facts["d_lr"] * 0.53, facts["d_mu"] * 0.53
    x_scale = alt.Scale(domain=[0, facts["lr_max"] + facts["d_lr"] / 2], nice=False, zero=True)
    y_scale = alt.Scale(domain=[-facts["d_mu"] / 2, MU_MAX + facts["d_mu"] / 2], nice=False, zero=False)
    x = alt.X("lr:Q", scale=x_scale, title="learning rate η")
    y = alt.Y("mu:Q", scale=y_scale, title="momentum μ")
    cell = alt.selection_point(name="cell", fields=["lr", "mu"], on="click", clear=False, toggle=False)
    tooltip = [alt.Tooltip("lr:Q", title="η", format=".4g"), alt.Tooltip("mu:Q", title="μ", format=".3f"),
               alt.Tooltip("rate:Q", title="measured rate per step", format=".4f"),
               alt.Tooltip("speed:N", title="steps per 10× less error")]
    base = alt.Chart(alt.Data(name="cells")).transform_calculate(
        lr0=f"datum.lr - {half_lr!r}", lr1=f"datum.lr + {half_lr!r}",
        mu0=f"datum.mu - {half_mu!r}", mu1=f"datum.mu + {half_mu!r}",
        speed="datum.diverged ? 'diverges' : format(datum.steps_per_10, '.1f')",
    ).encode(x=alt.X("lr0:Q", scale=x_scale, title="learning rate η"), x2="lr1:Q",
             y=alt.Y("mu0:Q", scale=y_scale, title="momentum μ"), y2="mu1:Q")
    # One layer for every cell, so one click selection covers them all; a diverged cell is painted grey (its
    # steps_per_10 is a placeholder outside the colour domain, which comes from the converging cells).
    cells_frame = result.frames["cells"]
    finite = cells_frame.loc[~cells_frame["diverged"], "steps_per_10"]
    domain = [float(finite.min()), float(finite.max())] if len(finite) else [1.0, 10.0]
    cells = base.mark_rect(stroke=None).encode(
        color=alt.condition("datum.diverged", alt.value("#dee2e6"), alt.Color(
            "steps_per_10:Q", title="steps per 10× less error (grey: diverges)",
            scale=alt.Scale(type="log", scheme="viridis", reverse=True, domain=domain),
            legend=alt.Legend(orient="top", direction="horizontal", gradientLength=300, titleLimit=400))),
        stroke=alt.condition(cell, alt.value("#e03131"), alt.value(None), empty=False),
        strokeWidth=alt.condition(cell, alt.value(2.5), alt.value(0), empty=False),
        tooltip=tooltip).add_params(cell)
    curves = alt.Chart(alt.Data(name="curves")).mark_line(color="white", strokeWidth=2, clip=True).encode(
        x=x, y=y, detail="branch:N", order="order:Q",
        strokeDash=alt.StrokeDash("curve:N", title=None, scale=alt.Scale(domain=list(CURVE_DASH),
                                                                         range=list(CURVE_DASH.values())),
                                  legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400,
                                                    symbolStrokeColor="#212529", symbolStrokeWidth=2)))
    optima_data = alt.Chart(alt.Data(name="optima"))
    optima = optima_data.mark_point(filled=True, size=170, stroke="white", strokeWidth=1.5, opacity=1,
                                    color="#e03131").encode(
        x=x, y=y, shape=alt.Shape("name:N", legend=None, scale=alt.Scale(
            domain=["GD's optimum", "heavy ball's optimum"], range=["triangle-up", "diamond"])),
        tooltip=["name:N", alt.Tooltip("lr:Q", title="η", format=".4g"), alt.Tooltip("mu:Q", title="μ", format=".3f"),
                 alt.Tooltip("rate:Q", title="measured", format=".4f"), alt.Tooltip("theory:Q", format=".4f")])
    text = dict(align="right", dx=-10, dy=-11, fontSize=12, fontWeight="bold")
    halo = optima_data.mark_text(**text, stroke="white", strokeWidth=3.5, strokeJoin="round").encode(
        x=x, y=y, text="name:N")
    labels = optima_data.mark_text(**text, color="#212529").encode(x=x, y=y, text="name:N")
    chart = alt.layer(cells, curves, optima, halo, labels).properties(width=MAP_WIDTH, height=MAP_HEIGHT)
    spec = chart.to_dict()
    spec["datasets"] = {"cells": cells_frame.drop(columns=["theory"]).fillna({"steps_per_10": 1.0}),
                        "curves": result.frames["curves"], "optima": result.frames["optima"]}
    return spec


def chosen_cell(event: Any, cells: pd.DataFrame, default: tuple[float, float]) -> tuple[float, float, bool]:
    """(η, μ) of the clicked cell, snapped to the grid (the selection carries float32 values), and whether a cell was
    clicked; ``default`` when none is."""
    picked = []
    try:
        picked = list(event["selection"]["cell"]) if event is not None else []
    except (KeyError, TypeError):
        picked = []
    if not picked or "lr" not in picked[0] or "mu" not in picked[0]:
        return default[0], default[1], False
    lr, mu = float(picked[0]["lr"]), float(picked[0]["mu"])
    scale = cells["lr"].max()
    index = int(np.argmin(((cells["lr"] - lr) / scale) ** 2 + (cells["mu"] - mu) ** 2))
    return float(f"{cells['lr'].iloc[index]:.6g}"), float(f"{cells['mu'].iloc[index]:.6g}"), True


@st.cache_data(max_entries=64, show_spinner=False)
def cell_race(l_min: float, l_max: float, lr: float, mu: float) -> dict[str, Any]:
    """GD at η against heavy ball at (η, μ) on the same bowl, as a race payload."""
    race = dc.race(bowl(l_min, l_max), ["gd", "momentum"], steps=RACE_STEPS, device=RACE_DEVICE,
                   hparams={"gd": {"lr": lr}, "momentum": {"lr": lr, "momentum": mu}})
    return race_view.payload(race, show_loss=True)


def render_rate_map(key: str) -> None:
    st.caption("**Claim.** On a quadratic, heavy ball's speed is set by (η, μ) alone: it diverges past "
               "ηλmax = 2 + 2μ, it is fastest at Polyak's (η*, μ*) where both directions are critically damped, and "
               "wherever both directions ring its rate is √μ, whatever η. Click any cell to race that setting.")
    left, right = st.columns(2)
    l_min = left.select_slider("λmin (the flat direction)", L_MIN_OPTIONS, value=1.0, key=f"{key}.l_min")
    l_max = right.select_slider("λmax (the steep direction)", L_MAX_OPTIONS, value=100.0, key=f"{key}.l_max")
    if not l_min < l_max:
        st.error(f"λmax must exceed λmin; got λmin = {l_min:g}, λmax = {l_max:g}.")
        return
    with st.spinner("Sweeping 3,602 settings in one batch…"):
        figure = rate_map_figure(float(l_min), float(l_max))
    event = st.vega_lite_chart(figure["spec"], width="stretch", on_select="rerun", selection_mode="cell",
                               key=f"{key}.map.{l_min:g}.{l_max:g}")
    show_settings(figure["settings"], figure["runtime_s"])
    show_checks(figure["checks"])
    hb_lr, hb_mu, hb_rate = figure["facts"]["hb"]
    lr, mu, clicked = chosen_cell(event, figure["cells"], (float(f"{hb_lr:.6g}"), float(f"{hb_mu:.6g}")))
    row = figure["cells"].iloc[int(np.argmin(np.abs(figure["cells"]["lr"] - lr) + np.abs(figure["cells"]["mu"] - mu)))]
    predicted = float(row["rate"]) if clicked else hb_rate
    gd_factor = max(abs(1 - lr * l_min), abs(1 - lr * l_max))
    where = (f"the cell you clicked, η = {lr:.4g}, μ = {mu:.3g}" if clicked else
             f"heavy ball's optimum η* = {lr:.4g}, μ* = {mu:.3g} (click a cell to race it instead)")
    st.markdown(f"**Racing {where}.**")
    view = cell_race(float(l_min), float(l_max), lr, mu)
    race_view.show(view, key=f"{key}.race",
                   claim=f"Heavy ball at this cell contracts its error by {predicted:.4f} per step "
                         + ("(it diverges)" if predicted >= 1 else f"({_per_ten(predicted)} steps per 10×)")
                         + f"; GD at the same η, by {gd_factor:.4f} "
                         + ("(it diverges)." if gd_factor >= 1 else f"({_per_ten(gd_factor)} steps per 10×)."))


def _per_ten(rate: float) -> str:
    return "under 1" if rate <= 0.1 else f"{math.log(10) / -math.log(rate):.0f}"


# --------------------------------------------------------------------------------------------------------------
# The eigenbasis view.

DIRECTION_COLORS = ["#1c7ed6", "#e8590c"]


@st.cache_data(max_entries=64, show_spinner=False)
def eigenbasis_figure(l1: float, l2: float, lr: float, mu: float) -> dict[str, Any]:
    result = eigenbasis(l1, l2, lr, mu)
    frame = result.frames["components"]
    specs = {method: frozen(eigenbasis_spec(frame[frame["method"] == method], method))
             for method in frame["method"].cat.categories}
    return {"specs": specs, "checks": result.checks, "settings": result.settings, "runtime_s": result.runtime_s,
            "factors": result.frames["factors"]}


def eigenbasis_spec(frame: pd.DataFrame, method: str) -> dict:
    """|e_i(t)| on a log axis (solid) with its theory factor's slope (dashed), one colour per direction."""
    data = frame[frame["size"] > 0]
    top = max(2.0, float(np.nanmax(data["size"])) * 1.5) if len(data) else 2.0
    y_scale = alt.Scale(type="log", domain=[1e-15, top], clamp=False)
    directions = list(dict.fromkeys(frame["direction"]))
    color = alt.Color("direction:N", title="component along", scale=alt.Scale(domain=directions, range=DIRECTION_COLORS),
                      legend=alt.Legend(orient="top", direction="horizontal"))
    base = alt.Chart(alt.Data(name="components")).encode(x=alt.X("step:Q", title="step t"), color=color)
    measured = base.mark_line(strokeWidth=2, clip=True).encode(
        y=alt.Y("size:Q", scale=y_scale, title="|component of the error|"),
        tooltip=["direction:N", "step:Q", alt.Tooltip("size:Q", format=".3e")]).transform_filter("datum.size > 0")
    theory_line = alt.Chart(alt.Data(name="components")).mark_line(
        strokeWidth=1.4, strokeDash=[5, 4], color="#212529", clip=True).encode(
        x=alt.X("step:Q"), y=alt.Y("theory:Q", scale=y_scale), detail="direction:N").transform_filter(
        "datum.theory > 0")
    title = ("Gradient descent (dashed: |1 − ηλᵢ|ᵗ)" if method == "gradient descent"
             else "Heavy ball (dashed: the larger root's |z|ᵗ)")
    spec = alt.layer(measured, theory_line).properties(height=380, title=alt.Title(title, anchor="start")).to_dict()
    spec["datasets"] = {"components": data.drop(columns=["method"]).reset_index(drop=True)}
    return spec


def render_eigenbasis(key: str) -> None:
    st.caption("**Claim.** On a quadratic the error splits into independent components, one per eigen-direction: "
               "GD multiplies the one along λᵢ by 1 − ηλᵢ each step, heavy ball by a root of z² − (1+μ−ηλᵢ)z + μ "
               "(magnitude √μ once it rings), and the slowest component sets the pace of the whole error.")
    columns = st.columns(4)
    l1 = columns[0].select_slider("λ1", [0.1, 0.2, 0.5, 1.0, 2.0, 5.0], value=1.0, key=f"{key}.l1")
    l2 = columns[1].select_slider("λ2", [2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0], value=50.0, key=f"{key}.l2")
    lr = columns[2].select_slider("learning rate η", _lr_options(), value=0.03, key=f"{key}.lr")
    mu = columns[3].slider("momentum μ (heavy ball)", 0.0, 0.99, 0.6, step=0.01, key=f"{key}.mu")
    figure = eigenbasis_figure(float(l1), float(l2), float(lr), float(f"{mu:.2f}"))
    left, right = st.columns(2)
    for column, (method, spec) in zip((left, right), figure["specs"].items()):
        with column:
            st.vega_lite_chart(spec, width="stretch", key=f"{key}.{method.replace(' ', '_')}")
    show_settings(figure["settings"], figure["runtime_s"])
    show_checks(figure["checks"])
    with st.expander("Each component's factor: theory and measurement"):
        st.dataframe(figure["factors"], hide_index=True, width="stretch",
                     column_config={"theory factor": st.column_config.NumberColumn(format="%.4f"),
                                    "measured rate": st.column_config.NumberColumn(format="%.4f")})
    st.caption(f"Reference lines: GD's edge η = 2/λmax = {theory.gd_edge(max(l1, l2)):.4g}; heavy ball's edge "
               f"η = (2 + 2μ)/λmax = {theory.heavy_ball_edge(max(l1, l2), mu):.4g}.")


def _lr_options() -> list[float]:
    grid = {float(f"{v:.3g}") for v in np.geomspace(1e-3, 2.0, 50)} | {0.03}
    return sorted(grid)
