"""The animated race chart: trails and moving heads over the loss surface, and loss against step beside it.

The chart is a Vega-Lite spec built here with Altair, played by a small custom component (``race_player.js``, an
``st.components.v2`` component with vega-embed served from ``static/vega/``). Everything that moves happens in the
browser: the player advances two Vega-Lite variables, ``frame`` (a real number, for the heads, which glide
between recorded steps) and ``kept`` (the last recorded step reached, for the trails and the loss curves), from
``requestAnimationFrame``; nothing crosses the websocket while a race plays. The player owns the controls (play or
pause, a step back or forward, replay from the start, the step slider, the speed), picks the layout from the width it
is given (map and loss side by side, or stacked on a narrow screen), and sends a value back only when a reader acts:
a new speed, or a click on the map to start the race from there.

Data travel as Arrow tables: optimizer as a category, step as int16 (races are capped at 20,000 steps) and
coordinates as float32, thinned to at most ``MAX_ROWS`` rows so a chart stays well under 150 KB.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import math
import pathlib
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
from PIL import Image

import descent_core as dc
from descent_core import claims

from .theme import colormap, series_styles

MAX_ROWS = 6000
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)  # the player's choices: 1x = STEPS_PER_SECOND recorded steps per second
STEPS_PER_SECOND = 50
HERE = pathlib.Path(__file__).resolve().parent
SURFACE_TOKEN = "descent:surface"  # the image URL in the spec; the player puts the PNG there (sent once, beside it)


@dataclass(frozen=True)
class Series:
    """One drawn trajectory: run ``run`` of optimizer ``index`` in a race."""

    label: str
    color: str
    index: int
    run: int
    optimizer: str = ""
    dash: tuple[int, ...] = ()
    shape: str = "circle"


def series_of(race: dc.Race) -> list[Series]:
    """Label and style every run. A single run is named after its optimizer; a sweep after the hyperparameter that
    varies."""
    owners, labels = [], []
    for i, opt in enumerate(race.optimizers):
        name = dc.OPTIMIZERS[opt].name
        varying = [(k, v) for k, v in race.hparams[opt].items() if isinstance(v, list)]
        for b in range(race.runs):
            if race.runs == 1:
                label = name
            else:
                detail = ", ".join(f"{k}={_fmt(v[b])}" for k, v in varying) or f"start {b + 1}"
                label = f"{name} ({detail})"
            owners.append((opt, i, b))
            labels.append(label)
    styles = series_styles([opt for opt, _, _ in owners])
    return [Series(label, style.color, i, b, opt, style.dash, style.shape)
            for label, (opt, i, b), style in zip(labels, owners, styles)]


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def thinning_stride(n_series: int, steps: int) -> int:
    return max(1, math.ceil(n_series * (steps + 1) / MAX_ROWS))


def kept_steps(recorded: np.ndarray, stride: int) -> np.ndarray:
    """Every ``stride``-th recorded point, and always the last one (indices into ``recorded``)."""
    return np.unique(np.append(np.arange(0, len(recorded), stride), len(recorded) - 1))


def race_frames(race: dc.Race, series: list[Series]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Slim long tables for the chart: trajectories, and divergence markers."""
    stride = thinning_stride(len(series), len(race.recorded) - 1)
    keep = kept_steps(race.recorded, stride)
    labels = pd.Categorical([s.label for s in series for _ in keep], categories=[s.label for s in series])
    paths = np.stack([race.paths[s.index, s.run, keep] for s in series])
    losses = np.stack([race.losses[s.index, s.run, keep] for s in series])
    trajectory = pd.DataFrame({
        "series": labels,
        "step": np.tile(race.recorded[keep], len(series)).astype(np.int16),
        "x": paths[..., 0].ravel().astype(np.float32),
        "y": paths[..., 1].ravel().astype(np.float32),
        "loss": losses.ravel().astype(np.float32),
    })
    rows = [
        {"series": s.label, "step": int(race.diverged_at[s.index, s.run]),
         "x": float(race.paths[s.index, s.run, -1, 0]), "y": float(race.paths[s.index, s.run, -1, 1])}
        for s in series if race.diverged_at[s.index, s.run] >= 0
    ]
    diverged = pd.DataFrame(rows, columns=["series", "step", "x", "y"])
    return trajectory, diverged, stride


def surface_image(landscape: dc.Landscape, resolution: int = 200) -> str:
    """The loss surface as a PNG data URL, coloured by log(loss - min) (or loss), row 0 = top (y max).

    Cached by what defines the picture; a user's own surface carries its formula text in ``formula``.
    """
    return _cached_surface(_Picture(landscape, resolution))


class _Picture:
    """A landscape as a cache key: equal when what defines its picture is equal (the functions are not compared)."""

    def __init__(self, landscape: dc.Landscape, resolution: int):
        self.landscape, self.resolution = landscape, resolution
        self.key = (landscape.id, landscape.name, landscape.formula, landscape.bounds, landscape.log_scale, resolution)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Picture) and self.key == other.key


@functools.lru_cache(maxsize=64)
def _cached_surface(picture: _Picture) -> str:
    return _render_surface(picture.landscape, picture.resolution)


def _render_surface(landscape: dc.Landscape, resolution: int) -> str:
    _, _, loss = landscape.grid(resolution)
    values = loss.numpy()
    if landscape.log_scale:
        values = np.log10(np.maximum(values - min(landscape.minimum_value, values.min()), 0) + 1e-3)
    low, high = np.nanpercentile(values, [0.5, 99.5])
    rgb = colormap((values - low) / max(high - low, 1e-12))[::-1]
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def chart_size(landscape: dc.Landscape, width: int) -> tuple[int, int]:
    (x0, x1), (y0, y1) = landscape.bounds
    height = int(round(width * (y1 - y0) / (x1 - x0)))
    return width, max(220, min(height, int(width * 1.1)))


def aspect(landscape: dc.Landscape) -> float:
    """Height over width of the map, kept between 0.5 and 1.1 so no surface is drawn as a ribbon or a tower."""
    (x0, x1), (y0, y1) = landscape.bounds
    return float(min(1.1, max(0.5, (y1 - y0) / (x1 - x0))))


def surface_layers(landscape: dc.Landscape, width: int, height: int, background: str) -> list[alt.Chart]:
    """The picture under the trails: the surface image, its minima (white diamonds), and axes with fixed domains."""
    (x0, x1), (y0, y1) = landscape.bounds
    x_scale = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    y_scale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    image = alt.Chart(alt.Data(values=[{"url": background, "x": x0, "x2": x1, "y": y0, "y2": y1}])).mark_image(
        aspect=False
    ).encode(
        x=alt.X("x:Q", scale=x_scale, title="x"), x2="x2:Q",
        y=alt.Y("y:Q", scale=y_scale, title="y"), y2="y2:Q", url="url:N",
    ).properties(width=width, height=height)
    layers = [image]
    if landscape.minima:
        minima = pd.DataFrame(landscape.minima, columns=["x", "y"])
        layers.append(alt.Chart(alt.Data(values=minima.to_dict("records"))).mark_point(
            shape="diamond", size=110, filled=True, color="white", stroke="#212529", strokeWidth=1.2, opacity=0.95
        ).encode(x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale),
                 tooltip=[alt.Tooltip("x:Q", title="minimum x", format=".3f"),
                          alt.Tooltip("y:Q", title="minimum y", format=".3f")]))
    return layers


# --------------------------------------------------------------------------------------------------------------
# The spec. Sizes are placeholders: the player sets each panel's width and height from the space it has.

# Log-axis labels: plain numbers from 0.001 to 1000, "1e-9" style beyond (narrower than d3's 0.000000001).
LOG_LABEL = ("datum.value >= 0.001 && datum.value <= 1000 ? format(datum.value, '~g') : "
             "replace(format(datum.value, '.0e'), 'e+', 'e')")
DIM = 0.12  # opacity of the series a reader has not picked in the legend
TOOLTIP = [alt.Tooltip("series:N", title="optimizer"), alt.Tooltip("step:Q", title="step"),
           alt.Tooltip("loss:Q", title="loss", format=".4g"), alt.Tooltip("x:Q", format=".4f"),
           alt.Tooltip("y:Q", format=".4f")]


def race_spec(race: dc.Race, *, show_loss: bool = False, width: int = 520) -> dict:
    """The Vega-Lite spec of a race (datasets not included: they travel beside it as Arrow tables).

    Panels: ``map`` (surface, minima, starts, trails on a white casing, hover points, gliding heads, divergence
    crosses) and, with ``show_loss``, ``loss`` (loss against step up to the current step, a rule at the frame). The
    legend is shared; clicking an entry picks that optimizer on both panels (shift-click adds one), hovering any
    drawn point shows optimizer, step, loss and position."""
    series = series_of(race)
    _, diverged, stride = race_frames(race, series)
    width, height = width, int(round(width * aspect(race.landscape)))
    (x0, x1), (y0, y1) = race.landscape.bounds
    x_scale = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    y_scale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    labels = [s.label for s in series]
    color = alt.Color("series:N", title=None, scale=alt.Scale(domain=labels, range=[s.color for s in series]),
                      legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=3, symbolSize=260,
                                        direction="horizontal", labelLimit=220, title=None))
    dash = alt.StrokeDash("series:N", scale=alt.Scale(domain=labels, range=[list(s.dash) or [1, 0] for s in series]))
    # Heads take their shape from a copy of the field, so the shape scale stays out of the merged colour-and-dash
    # legend (whose swatches are line segments).
    shape = alt.Shape("member:N", scale=alt.Scale(domain=labels, range=[s.shape for s in series]), legend=None)
    pick = alt.selection_point(fields=["series"], bind="legend", name="pick")
    shown = alt.condition(pick, alt.value(1.0), alt.value(DIM))
    X, Y = alt.X("x:Q", scale=x_scale), alt.Y("y:Q", scale=y_scale)

    data = alt.Data(name="race")
    casing = alt.Chart(data).mark_line(strokeWidth=4.6, color="white", clip=True, strokeCap="round").encode(
        x=X, y=Y, detail="series:N", order="step:Q",
        opacity=alt.condition(pick, alt.value(0.75), alt.value(0.0)),
    ).transform_filter("datum.step <= kept")
    trails = alt.Chart(data).mark_line(strokeWidth=2.2, clip=True).encode(
        x=X, y=Y, color=color, strokeDash=dash, detail="series:N", order="step:Q", opacity=shown,
    ).transform_filter("datum.step <= kept").add_params(pick).properties(name="trails")
    hover = alt.Chart(data).mark_point(size=70, filled=True, opacity=0, clip=True).encode(
        x=X, y=Y, tooltip=TOOLTIP,
    ).transform_filter("datum.step <= kept")
    gliding = alt.Chart(data).transform_window(
        nstep="lead(step)", nx="lead(x)", ny="lead(y)", groupby=["series"], sort=[alt.SortField("step")],
        frame=[None, None],
    ).transform_filter(
        "datum.step <= frame && (datum.nstep == null || frame < datum.nstep)"
    ).transform_calculate(
        t="datum.nstep == null ? 0 : clamp((frame - datum.step) / (datum.nstep - datum.step), 0, 1)",
        hx="datum.x + (datum.nstep == null ? 0 : (datum.nx - datum.x) * datum.t)",
        hy="datum.y + (datum.nstep == null ? 0 : (datum.ny - datum.y) * datum.t)",
        member="datum.series",
    )
    tips = gliding.mark_rule(strokeWidth=2.2, clip=True).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), x2="hx:Q", y2="hy:Q", color=color,
        opacity=shown)
    heads = gliding.mark_point(size=95, filled=True, stroke="white", strokeWidth=1.3, clip=True).encode(
        x=alt.X("hx:Q", scale=x_scale), y=alt.Y("hy:Q", scale=y_scale), color=color, shape=shape,
        opacity=shown, tooltip=TOOLTIP)
    starts = alt.Chart(alt.Data(values=[{"x": float(x), "y": float(y)} for x, y in race.starts])).mark_point(
        shape="circle", size=150, filled=False, stroke="#212529", strokeWidth=2, clip=True
    ).encode(x=X, y=Y, tooltip=[alt.Tooltip("x:Q", title="start x", format=".3f"),
                                alt.Tooltip("y:Q", title="start y", format=".3f")])
    layers = surface_layers(race.landscape, width, height, SURFACE_TOKEN) + [starts, casing, trails, hover, tips,
                                                                             heads]
    if len(diverged):
        layers.append(alt.Chart(alt.Data(name="diverged")).mark_point(
            shape="cross", size=220, filled=True, color="#e03131", stroke="white", strokeWidth=1, clip=True
        ).encode(x=X, y=Y, tooltip=["series:N", alt.Tooltip("step:Q", title="diverged at step")]
                 ).transform_filter("kept >= datum.step"))
    surface = alt.layer(*layers).properties(width=width, height=height)
    chart = alt.hconcat(surface, loss_panel(race, data, color, dash, shown, height)) if show_loss else surface
    chart = chart.add_params(alt.param(name="frame", value=race.steps), alt.param(name="kept", value=race.steps))
    spec = chart.to_dict()
    for layer in (spec["hconcat"][0] if show_loss else spec)["layer"]:
        layer.pop("width", None), layer.pop("height", None)  # the panel's size is set once, by the player
    spec.setdefault("config", {}).update({
        "legend": {"columns": 3, "labelFontSize": 12, "symbolOffset": 0},
        "axis": {"labelFontSize": 11, "titleFontSize": 12},
        "view": {"stroke": None},
    })
    spec["autosize"] = {"type": "pad", "resize": True}
    spec["usermeta"] = {"descent": {"stride": stride, "steps": race.steps, "panels": 2 if show_loss else 1}}
    return spec


def loss_panel(race: dc.Race, data: alt.Data, color: alt.Color, dash: alt.StrokeDash, shown, height: int):
    """Loss against step over the whole race's x range, drawn up to the current step, with a rule at the frame.

    The y axis is log(loss − min) on surfaces with a known minimum value, symlog on a surface whose loss has no
    lower bound (so a run falling to -10^6 does not flatten the others), linear otherwise."""
    landscape = race.landscape
    losses = race.losses[np.isfinite(race.losses)]
    low, high = (float(losses.min()), float(losses.max())) if losses.size else (0.0, 1.0)
    if claims.unbounded_below(landscape):
        y = alt.Y("loss:Q", title="loss (symlog)", scale=alt.Scale(type="symlog", domain=[low, high], nice=False))
        base = alt.Chart(data)
    elif landscape.log_scale:
        floor = 1e-12
        gap = "max(datum.loss - %r, %r)" % (float(landscape.minimum_value), floor)
        base = alt.Chart(data).transform_calculate(gap=gap)
        top = max(high - float(landscape.minimum_value), floor * 10)
        bottom = max(low - float(landscape.minimum_value), floor)
        y = alt.Y("gap:Q", title="loss − min (log)", scale=alt.Scale(type="log", domain=[bottom, top], nice=True),
                  axis=alt.Axis(labelExpr=LOG_LABEL))
    else:
        base = alt.Chart(data)
        y = alt.Y("loss:Q", title="loss", scale=alt.Scale(domain=[low, high], nice=True, zero=False))
    lines = base.transform_filter("datum.step <= kept").mark_line(strokeWidth=2, clip=True).encode(
        x=alt.X("step:Q", title="step", scale=alt.Scale(domain=[0, race.steps], nice=False)), y=y, color=color,
        strokeDash=dash, detail="series:N", opacity=shown, tooltip=TOOLTIP[:3])
    rule = alt.Chart(alt.Data(values=[{}])).mark_rule(color="#868e96", strokeDash=[4, 3]).encode(
        x=alt.X("current:Q", title="step")).transform_calculate(current="frame")
    return alt.layer(lines, rule).properties(width=280, height=height, name="loss")


def is_animated(spec: dict) -> bool:
    """True when a spec carries the player's animation variables (``frame`` and ``kept``) and its panels filter on
    them."""
    names = {p.get("name") for p in spec.get("params", [])}
    return {"frame", "kept"} <= names and "datum.step <= kept" in json.dumps(spec)


# --------------------------------------------------------------------------------------------------------------
# The player component.


@functools.lru_cache(maxsize=1)
def _player():
    import streamlit as st

    return st.components.v2.component(
        "descent.race_player",
        html=(HERE / "race_player.html").read_text(encoding="utf-8"),
        css=(HERE / "race_player.css").read_text(encoding="utf-8"),
        js=(HERE / "race_player.js").read_text(encoding="utf-8"),
    )


def player_data(race: dc.Race, *, show_loss: bool) -> dict:
    """Everything the player draws, as picklable data: the spec, the two tables, and what the controls need."""
    series = series_of(race)
    trajectory, diverged, stride = race_frames(race, series)
    spec = race_spec(race, show_loss=show_loss)
    text = json.dumps(spec, sort_keys=True)
    digest = hashlib.sha1(text.encode() + trajectory.to_numpy().tobytes()).hexdigest()[:16]
    (x0, x1), (y0, y1) = race.landscape.bounds
    return {
        "id": digest,
        "spec": spec,
        "surface": surface_image(race.landscape),
        # Arrow tables, made once here: pages cache this payload, and the component then only copies the tables
        # into its message on a rerun instead of converting the DataFrames again (about 5 ms a player).
        "race": _arrow(trajectory),
        "diverged": _arrow(diverged) if len(diverged) else None,
        "meta": {"steps": int(race.steps), "stride": int(stride), "bounds": [[x0, x1], [y0, y1]],
                 "aspect": aspect(race.landscape), "panels": 2 if show_loss else 1,
                 "steps_per_second": STEPS_PER_SECOND, "speeds": list(SPEEDS)},
    }


def _arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def show_player(data: dict, *, key: str, speed: float, label: str, clickable: bool = True,
                on_start=None, on_speed=None) -> object:
    """Mount the player. ``on_start`` runs when the reader clicks the map (the new start is in
    ``st.session_state[key].start``), ``on_speed`` when the reader picks a speed."""
    payload = {**{k: v for k, v in data.items() if v is not None}, "speed": float(speed), "label": label,
               "clickable": bool(clickable)}
    return _player()(key=key, data=payload, on_start_change=on_start or _ignore,
                     on_speed_change=on_speed or _ignore, width="stretch", height="content")


def _ignore() -> None:
    return None


def show_static(spec: dict, *, key: str, label: str, bounds, aspect_ratio: float, surface: str) -> None:
    """Draw a still single-panel surface chart through the player, so it is sized to its container with the
    surface's aspect kept (narrow screens get a smaller picture, never a wider one). ``spec`` carries its data
    inline; its surface image is the ``SURFACE_TOKEN`` url."""
    data = {"id": hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16],
            "spec": spec, "surface": surface, "label": label, "clickable": False, "speed": 1.0,
            "meta": {"steps": 0, "stride": 1, "bounds": [list(b) for b in bounds], "aspect": aspect_ratio,
                     "panels": 1, "static": True, "steps_per_second": STEPS_PER_SECOND, "speeds": list(SPEEDS)}}
    _player()(key=key, data=data, on_start_change=_ignore, on_speed_change=_ignore, width="stretch",
              height="content")
