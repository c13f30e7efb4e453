"""The quiz's pictures: a name-the-optimizer card's trajectory (drawn by the race player, like every surface in the
guide, so no chart toolbar sits over the question) and the summary's accuracy per topic."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import altair as alt
import pandas as pd

import descent_core as dc

from .race_chart import SURFACE_TOKEN, aspect, show_static, surface_image, surface_layers

PICTURE_WIDTH = 520
PATH_COLOR, START_COLOR, END_COLOR = "#d9480f", "#2f9e44", "#1c7ed6"


def trajectory_spec(picture: dict[str, Any]) -> dict:
    """An unlabelled picture: the surface, the path, its start and its end (nothing names the optimizer)."""
    landscape = dc.LANDSCAPES[picture["landscape"]]
    width = PICTURE_WIDTH
    height = int(round(width * aspect(landscape)))
    (x0, x1), (y0, y1) = landscape.bounds
    x_scale = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    y_scale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    X = alt.X("x:Q", scale=x_scale, title="x")
    Y = alt.Y("y:Q", scale=y_scale, title="y")
    path = pd.DataFrame(picture["path"], columns=["x", "y"]).reset_index(names="step")
    rows = path.to_dict("records")
    line = alt.Chart(alt.Data(values=rows)).mark_line(
        color=PATH_COLOR, strokeWidth=2, clip=True, point=alt.OverlayMarkDef(size=14, color=PATH_COLOR, clip=True)
    ).encode(x=X, y=Y, order="step:Q")
    start = alt.Chart(alt.Data(values=[{**rows[0], "label": "start"}]))
    start_mark = start.mark_point(size=140, filled=True, color=START_COLOR, clip=True).encode(x=X, y=Y)
    start_text = start.mark_text(dy=-14, fontWeight="bold", color=START_COLOR, clip=True).encode(x=X, y=Y, text="label:N")
    end_mark = alt.Chart(alt.Data(values=[rows[-1]])).mark_point(
        size=120, shape="diamond", filled=True, color=END_COLOR, clip=True).encode(x=X, y=Y)
    layers = surface_layers(landscape, width, height, SURFACE_TOKEN) + [line, start_mark, start_text, end_mark]
    if picture.get("landmark") is not None:  # the point the explanation speaks of, named as it speaks of it
        (lx, ly), name = picture["landmark"], picture.get("landmark_name", "minimum")
        mark = alt.Chart(alt.Data(values=[{"x": lx, "y": ly, "label": name}]))
        layers += [mark.mark_point(shape="cross", size=120, filled=True, color="#212529", clip=True).encode(x=X, y=Y),
                   mark.mark_text(dy=16, color="#212529", clip=True).encode(x=X, y=Y, text="label:N")]
    spec = alt.layer(*layers).properties(width=width, height=height).to_dict()
    for layer in spec["layer"]:
        layer.pop("width", None), layer.pop("height", None)
    return spec


def show_trajectory(picture: dict[str, Any], key: str) -> None:
    landscape = dc.LANDSCAPES[picture["landscape"]]
    spec = trajectory_spec(picture)
    digest = hashlib.sha1(json.dumps(picture["path"]).encode()).hexdigest()[:12]
    show_static(spec, key=f"{key}.{digest}", label="A trajectory from the marked start", bounds=landscape.bounds,
                aspect_ratio=aspect(landscape), surface=surface_image(landscape))


def topic_accuracy_chart(rows: pd.DataFrame) -> alt.Chart:
    return alt.Chart(rows).mark_bar().encode(
        x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title="Accuracy"),
        y=alt.Y("section:N", sort="x", title=None),
        color=alt.Color("accuracy:Q", scale=alt.Scale(domain=[0, 1], scheme="redyellowgreen"), legend=None),
        tooltip=["section", "correct", "answered", alt.Tooltip("accuracy:Q", format=".0%")],
    ).properties(height=alt.Step(32))
