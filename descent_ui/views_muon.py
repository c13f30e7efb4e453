"""Muon's Newton–Schulz step seen through singular values: a small matrix before and after, the exact polar factor,
and the scalar quintic p iterated over s ∈ (0, 1]."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from descent_core.views import NS_COEFFICIENTS, muon_spectrum
from descent_core.views.muon import BAND, SHAPES

from .specs import frozen
from .views_common import show_checks, show_settings

SERIES_COLORS = ["#495057", "#0b7285", "#e03131"]  # input, Newton–Schulz (Muon's colour), polar factor
ITERATION_COLORS = ["#c5f6fa", "#66d9e8", "#22b8cf", "#1098ad", "#0b7285", "#095c6b", "#074652", "#04303a"]
SPREADS = [1.0, 10.0, 100.0, 1000.0, 10000.0]


@st.cache_data(max_entries=64, show_spinner=False)
def muon_figure(rows: int, cols: int, spread: float, seed: int, steps: int) -> dict[str, Any]:
    result = muon_spectrum(rows, cols, spread, seed, steps)
    return {"singular": frozen(singular_spec(result.frames["singular"])),
            "map": frozen(map_spec(result.frames["map"], result.frames["points"], steps)),
            "checks": result.checks, "settings": result.settings, "runtime_s": result.runtime_s, "facts": result.facts}


def singular_spec(frame: pd.DataFrame) -> dict:
    series = list(dict.fromkeys(frame["series"]))
    low = float(min(frame["value"].min(), BAND[0])) / 2
    y_scale = alt.Scale(type="log", domain=[low, 1.6], nice=False)
    y = alt.Y("value:Q", title="singular value (log)", scale=y_scale)
    points = alt.Chart(alt.Data(name="singular")).mark_line(point=alt.OverlayMarkDef(size=70, filled=True),
                                                            strokeWidth=1.5).encode(
        x=alt.X("i:O", title="index i (largest first)", axis=alt.Axis(labelAngle=0)), y=y,
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=series, range=SERIES_COLORS),
                        legend=alt.Legend(orient="top", direction="vertical", labelLimit=300)),
        tooltip=["series:N", "i:O", alt.Tooltip("value:Q", format=".4f")])
    band = alt.Chart(alt.Data(values=[{"low": BAND[0], "high": BAND[1]}])).mark_rect(
        color="#0b7285", opacity=0.12).encode(y=alt.Y("low:Q", scale=y_scale), y2="high:Q")
    chart = alt.layer(band, points).properties(
        height=400, title=alt.Title(f"Singular values (shaded: [{BAND[0]:g}, {BAND[1]:g}])", anchor="start"))
    spec = chart.to_dict()
    spec["datasets"] = {"singular": frame}
    return spec


def map_spec(curves: pd.DataFrame, points: pd.DataFrame, steps: int) -> dict:
    x = alt.X("s:Q", title="s = σ / ‖G‖_F before", scale=alt.Scale(type="log", domain=[1e-4, 1], nice=False))
    y = alt.Y("value:Q", title="after k steps: pᵏ(s)", scale=alt.Scale(domain=[0, 1.3], nice=False))
    lines = alt.Chart(alt.Data(name="map")).mark_line(strokeWidth=2, clip=True).encode(
        x=x, y=y, color=alt.Color("k:O", title="k", scale=alt.Scale(range=ITERATION_COLORS[-steps:] if steps <= 8
                                                                         else ITERATION_COLORS),
                                  legend=alt.Legend(orient="top", direction="horizontal")),
        tooltip=["k:O", alt.Tooltip("s:Q", format=".4g"), alt.Tooltip("value:Q", format=".4f")])
    dots = alt.Chart(alt.Data(name="points")).mark_point(shape="circle", size=80, filled=True, color="#e8590c",
                                                         stroke="white", strokeWidth=1, clip=True).encode(
        x=x, y=y, tooltip=[alt.Tooltip("s:Q", title="s of the matrix", format=".4g"),
                           alt.Tooltip("value:Q", title="after Newton–Schulz (bf16)", format=".4f"),
                           alt.Tooltip("predicted:Q", title=f"p^{steps}(s), exact", format=".4f")])
    band = alt.Chart(alt.Data(values=[{"low": BAND[0], "high": BAND[1]}])).mark_rect(
        color="#0b7285", opacity=0.10).encode(y=alt.Y("low:Q", scale=alt.Scale(domain=[0, 1.3])), y2="high:Q")
    chart = alt.layer(band, lines, dots).properties(
        height=400, title=alt.Title(["The quintic p, iterated k times", f"(orange: this matrix after {steps} steps)"],
                                    anchor="start"))
    spec = chart.to_dict()
    spec["datasets"] = {"map": curves, "points": points}
    return spec


def render_muon(key: str) -> None:
    a, b, c = NS_COEFFICIENTS
    st.caption("**Claim.** Newton–Schulz treats every singular value alone, through one scalar quintic: it lifts the "
               "small ones fast and lands them all in a band around 1 (about 0.68 to 1.2), close to the polar factor "
               "U Vᵀ, whose singular values are exactly 1, without ever converging to it.")
    columns = st.columns(4)
    shape = columns[0].selectbox("matrix shape", SHAPES, index=SHAPES.index((8, 4)), key=f"{key}.shape",
                                 format_func=lambda s: f"{s[0]} × {s[1]}" + (" (a race's 2-D point)" if s == (1, 2) else ""))
    spread = columns[1].select_slider("largest / smallest σ", SPREADS, value=100.0, key=f"{key}.spread",
                                      format_func=lambda v: f"{v:g}", disabled=min(shape) == 1)
    seed = columns[2].number_input("seed", 0, 99, 0, key=f"{key}.seed")
    steps = columns[3].slider("Newton–Schulz steps", 1, 8, 5, key=f"{key}.steps")
    figure = muon_figure(int(shape[0]), int(shape[1]), float(spread), int(seed), int(steps))
    left, right = st.columns(2)
    with left:
        st.vega_lite_chart(figure["singular"], width="stretch", key=f"{key}.singular")
    with right:
        st.vega_lite_chart(figure["map"], width="stretch", key=f"{key}.map")
    facts = figure["facts"]
    fixed, slope = facts["fixed_point"]
    st.markdown(
        f"Each step is $X \\leftarrow aX + b\\,(XX^\\top)X + c\\,(XX^\\top)^2X$ with $(a, b, c) = ({a}, {b}, {c})$. "
        f"For $X = U S V^\\top$ that is $U\\,p(S)\\,V^\\top$ with $p(s) = a s + b s^3 + c s^5$, so the matrix never "
        f"needs an SVD: every singular value follows the curve on the right. The coefficients buy speed: the slope "
        f"at zero is $a = {a}$, so {steps} steps multiply a tiny singular value by $a^{{{steps}}} \\approx "
        f"{facts['gain_at_zero']:.0f}$. The price is that $p$ does not fix 1: $p^5(1) \\approx {facts['p5_of_1']:.3f}$, "
        f"and its fixed point $s = {fixed:.3f}$ repels (slope ${slope:.2f}$), so the values keep scattering inside "
        "the band instead of settling. A 1 × 2 matrix, the races' 2-D point, has one singular value, 1 after "
        "normalising, so Muon's step there is about 0.68 to 0.70 times η along the momentum.")
    show_settings(figure["settings"], figure["runtime_s"])
    show_checks(figure["checks"])
