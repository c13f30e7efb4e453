"""The basin map: a grid of starts on Himmelblau, coloured by the minimum each optimizer reaches from there."""

from __future__ import annotations

from typing import Any

import altair as alt
import streamlit as st

import descent_core as dc
from descent_core.views import BASIN_OPTIMIZERS, basin_map
from descent_core.views.basins import DEFAULT_OTHERS, NOT_SETTLED, minimum_labels

from .specs import frozen
from .views_common import show_checks, show_settings

BASIN_COLORS = ["#f59f00", "#1c7ed6", "#2b8a3e", "#ae3ec9"]  # one per minimum, in the landscape's order
UNSETTLED_COLOR = "#adb5bd"
MAP_SIZE = 290
STEP_OPTIONS = [100, 200, 300, 500, 1000]


@st.cache_data(max_entries=32, show_spinner=False)
def basin_figure(others: tuple[str, ...], steps: int) -> dict[str, Any]:
    result = basin_map(others, steps=steps)
    titles = [f"{name} · η = {result.facts['lrs'][opt]:g}"
              for opt, name in zip(result.facts["optimizers"], result.facts["names"])]
    return {"maps": [frozen(spec) for spec in basin_maps(result.frames["starts"], result.facts["names"], titles,
                                                         result.facts["grid"])],
            "checks": result.checks, "settings": result.settings, "runtime_s": result.runtime_s,
            "counts": result.frames["counts"], "runs": result.facts["runs"]}


def basin_maps(frame, names: list[str], titles: list[str], grid: int) -> list[dict]:
    """One small map per optimizer, every start a cell coloured by the minimum it reached, the minima as white
    diamonds. Each map is its own chart, so the page can set them two to a row on a wide screen and one under the
    other on a phone (a concatenated chart has a fixed width); the colours are explained once, by ``legend_html``."""
    surface = dc.get_landscape("himmelblau")
    (x0, x1), (y0, y1) = surface.bounds
    half_x, half_y = (x1 - x0) / grid * 0.53, (y1 - y0) / grid * 0.53  # a slight overlap: no seams between cells
    x_scale = alt.Scale(domain=[x0, x1], nice=False)
    y_scale = alt.Scale(domain=[y0, y1], nice=False)
    categories = minimum_labels() + [NOT_SETTLED]
    color = alt.Color("basin:N", title="ends at the minimum",
                      scale=alt.Scale(domain=categories, range=BASIN_COLORS + [UNSETTLED_COLOR]), legend=None)
    maps = []
    for name, title in zip(names, titles):
        cells = alt.Chart(alt.Data(name="starts")).transform_calculate(
            x0=f"datum.x - {half_x!r}", x1=f"datum.x + {half_x!r}", y0=f"datum.y - {half_y!r}", y1=f"datum.y + {half_y!r}",
        ).mark_rect(stroke=None).encode(
            x=alt.X("x0:Q", scale=x_scale, title="start x"), x2="x1:Q",
            y=alt.Y("y0:Q", scale=y_scale, title="start y"), y2="y1:Q", color=color,
            tooltip=[alt.Tooltip("x:Q", title="start x", format=".2f"), alt.Tooltip("y:Q", title="start y", format=".2f"),
                     alt.Tooltip("basin:N", title="ends at"),
                     alt.Tooltip("final_loss:Q", title="final loss", format=".2e")])
        minima = alt.Chart(alt.Data(values=[{"x": x, "y": y} for x, y in surface.minima])).mark_point(
            shape="diamond", size=90, filled=True, color="white", stroke="#212529", strokeWidth=1, opacity=1).encode(
            x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale))
        spec = alt.layer(cells, minima).properties(height=MAP_SIZE, title=alt.Title(title, anchor="start")).to_dict()
        spec["datasets"] = {"starts": frame[frame["optimizer"] == name].reset_index(drop=True)}
        maps.append(spec)
    return maps


def legend_html() -> str:
    """The basins' colours, once for every map: a swatch and the minimum's name each, wrapping on a narrow screen."""
    from html import escape

    chips = "".join(
        f'<span style="display:inline-flex;align-items:center;gap:6px;margin-right:16px;white-space:nowrap">'
        f'<span style="width:14px;height:14px;border-radius:3px;background:{colour};display:inline-block"></span>'
        f"{escape(label)}</span>"
        for label, colour in zip(minimum_labels() + [NOT_SETTLED], BASIN_COLORS + [UNSETTLED_COLOR]))
    return f'<div style="display:flex;flex-wrap:wrap;row-gap:4px;font-size:14px">Ends at the minimum:&nbsp;{chips}</div>'


def render_basin_map(key: str) -> None:
    st.caption("**Claim.** Himmelblau's four minima split the plane into basins, but the split belongs to the "
               "optimizer as much as to the surface: gradient descent's map is the landscape's own (a smaller step "
               "draws the same map), while momentum, Adam and Lion carry many starts over a ridge into another "
               "basin.")
    left, right = st.columns([3, 1])
    others = left.multiselect("Beside gradient descent (up to three)", BASIN_OPTIMIZERS, default=list(DEFAULT_OTHERS),
                              max_selections=3, format_func=lambda o: dc.OPTIMIZERS[o].name, key=f"{key}.others")
    steps = right.select_slider("steps", STEP_OPTIONS, value=300, key=f"{key}.steps")
    ordered = tuple(o for o in BASIN_OPTIMIZERS if o in others)
    with st.spinner("Racing every start…"):
        figure = basin_figure(ordered, int(steps))
    st.html(legend_html())
    maps = figure["maps"]
    for row in range(0, len(maps), 2):
        columns = st.columns(2)  # side by side on a wide screen, one under the other on a phone
        for column, index in zip(columns, range(row, min(row + 2, len(maps)))):
            column.vega_lite_chart(maps[index], width="stretch", key=f"{key}.map.{index}")
    show_settings(figure["settings"], figure["runtime_s"])
    show_checks(figure["checks"])
    with st.expander("How many starts end at each minimum"):
        st.dataframe(figure["counts"], hide_index=True, width="stretch")
