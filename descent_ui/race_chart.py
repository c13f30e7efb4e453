"""The animated race chart: trails and moving heads over the loss surface, animated in the browser.

Animation runs entirely client-side (see ../shared/notes/animation.md): a Vega-Lite variable param ``frame`` is
bound to a range slider and advanced by a Vega ``timer`` event while the ``playing`` checkbox is on; the layers
filter on ``datum.step <= frame``. Nothing crosses the websocket during playback. The ``on`` key of a param is
outside the Vega-Lite schema, so it is added to the spec after Altair validates it.

Data travel as named datasets that Streamlit serialises to Arrow: optimizer as a category, step as int16 (races are capped at 20,000 steps) and
coordinates as float32, thinned to at most ``MAX_ROWS`` rows so a chart stays well under 150 KB.
"""

from __future__ import annotations

import base64
import functools
import io
import math
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

import descent_core as dc

from .theme import color_of, colormap

MAX_ROWS = 6000
FRAME_MS = 20  # timer period: up to 50 frames per second; slower machines render fewer


@dataclass(frozen=True)
class Series:
    """One drawn trajectory: run ``run`` of optimizer ``index`` in a race."""

    label: str
    color: str
    index: int
    run: int


def series_of(race: dc.Race) -> list[Series]:
    """Label every run. A single run is named after its optimizer; a sweep after the hyperparameter that varies."""
    out = []
    for i, opt in enumerate(race.optimizers):
        name = dc.OPTIMIZERS[opt].name
        varying = [(k, v) for k, v in race.hparams[opt].items() if isinstance(v, list)]
        for b in range(race.runs):
            if race.runs == 1:
                label, shade = name, 0.0
            else:
                detail = ", ".join(f"{k}={_fmt(v[b])}" for k, v in varying) or f"start {b + 1}"
                label, shade = f"{name} ({detail})", b / max(race.runs - 1, 1)
            out.append(Series(label, _shade(color_of(opt), shade), i, b))
    return out


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _shade(hex_color: str, amount: float) -> str:
    """Mix a colour towards black (amount 0 keeps it) so runs of one optimizer stay in its hue."""
    rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    mixed = rgb * (1 - 0.55 * amount)
    return "#" + "".join(f"{int(round(c)):02x}" for c in mixed)


def thinning_stride(n_series: int, steps: int) -> int:
    return max(1, math.ceil(n_series * (steps + 1) / MAX_ROWS))


def kept_steps(steps: int, stride: int) -> np.ndarray:
    return np.unique(np.append(np.arange(0, steps + 1, stride), steps))


def race_frames(race: dc.Race, series: list[Series]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Slim long tables for the chart: trajectories, and divergence markers."""
    stride = thinning_stride(len(series), race.steps)
    steps = kept_steps(race.steps, stride)
    following = np.append(steps[1:], race.steps + 1)
    labels = pd.Categorical([s.label for s in series for _ in steps], categories=[s.label for s in series])
    paths = np.stack([race.paths[s.index, s.run, steps] for s in series])
    losses = np.stack([race.losses[s.index, s.run, steps] for s in series])
    trajectory = pd.DataFrame({
        "series": labels,
        "step": np.tile(steps, len(series)).astype(np.int16),
        "next": np.tile(following, len(series)).astype(np.int16),
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


def surface_layers(landscape: dc.Landscape, width: int, height: int, background: str) -> list[alt.Chart]:
    """The picture under the trails: the surface image, its minima (white stars), and axes with fixed domains."""
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
            shape="diamond", size=110, filled=True, color="white", stroke="#212529", strokeWidth=1, opacity=0.9
        ).encode(x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale),
                 tooltip=[alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")]))
    return layers


def race_spec(race: dc.Race, *, width: int = 520, speed: float = 1.0, show_loss: bool = False,
              autoplay: bool = True) -> dict:
    """The full Vega-Lite spec of an animated race (datasets included, ready for ``st.vega_lite_chart``)."""
    series = series_of(race)
    trajectory, diverged, stride = race_frames(race, series)
    width, height = chart_size(race.landscape, width)
    (x0, x1), (y0, y1) = race.landscape.bounds
    x_scale = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    y_scale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    legend_columns = 4 if show_loss else 3
    color = alt.Color("series:N", title=None,
                      scale=alt.Scale(domain=[s.label for s in series], range=[s.color for s in series]),
                      legend=alt.Legend(orient="bottom", columns=legend_columns, symbolType="stroke", symbolStrokeWidth=4,
                                        labelLimit=260, direction="horizontal"))
    frame = alt.param(name="frame", value=0 if autoplay else race.steps,
                      bind=alt.binding_range(min=0, max=race.steps, step=stride, name="step "))
    playing = alt.param(name="playing", value=autoplay, bind=alt.binding_checkbox(name="play "))

    data = alt.Data(name="race")
    trails = alt.Chart(data).mark_line(strokeWidth=2.2, opacity=0.95, clip=True).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), color=color,
        detail="series:N", order="step:Q",
    ).transform_filter("datum.step <= frame")
    heads = alt.Chart(data).mark_point(size=95, filled=True, opacity=1, stroke="white", strokeWidth=1.2,
                                       clip=True).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), color=color,
        tooltip=["series:N", "step:Q", alt.Tooltip("loss:Q", format=".4g"), alt.Tooltip("x:Q", format=".4f"),
                 alt.Tooltip("y:Q", format=".4f")],
    ).transform_filter("datum.step <= frame && frame < datum.next")
    starts = alt.Chart(alt.Data(values=[{"x": float(x), "y": float(y)} for x, y in race.starts])).mark_point(
        shape="circle", size=150, filled=False, stroke="white", strokeWidth=2.2, clip=True
    ).encode(x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale),
             tooltip=[alt.Tooltip("x:Q", title="start x", format=".3f"), alt.Tooltip("y:Q", title="start y", format=".3f")])
    layers = surface_layers(race.landscape, width, height, surface_image(race.landscape)) + [starts, trails, heads]
    if len(diverged):
        layers.append(alt.Chart(alt.Data(name="diverged")).mark_point(
            shape="cross", size=220, filled=True, color="#ff0000", stroke="white", strokeWidth=1, clip=True
        ).encode(x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale),
                 tooltip=["series:N", alt.Tooltip("step:Q", title="diverged at step")]
                 ).transform_filter("frame >= datum.step"))
    surface = alt.layer(*layers).properties(width=width, height=height)

    chart = surface
    if show_loss:
        chart = alt.hconcat(surface, loss_panel(race, data, color, height)).resolve_scale(color="shared")
    spec = chart.add_params(frame, playing).to_dict()
    add_timer(spec, race.steps, stride, speed)
    spec["datasets"] = {"race": trajectory}
    if len(diverged):
        spec["datasets"]["diverged"] = diverged
    return spec


def loss_panel(race: dc.Race, data: alt.Data, color: alt.Color, height: int) -> alt.LayerChart:
    """Loss against step, revealed up to the current frame, with a rule marking the frame."""
    log = race.landscape.log_scale
    gap = "max(datum.loss - %r, 1e-12)" % float(race.landscape.minimum_value)
    y_title = "loss − min (log)" if log else "loss"
    base = alt.Chart(data).transform_calculate(gap=gap).transform_filter("datum.step <= frame")
    y = alt.Y("gap:Q" if log else "loss:Q", title=y_title, scale=alt.Scale(type="log" if log else "linear"))
    lines = base.mark_line(strokeWidth=2, clip=True).encode(
        x=alt.X("step:Q", title="step", scale=alt.Scale(domain=[0, race.steps], nice=False)), y=y, color=color,
        detail="series:N")
    rule = alt.Chart(alt.Data(values=[{}])).mark_rule(color="#868e96", strokeDash=[4, 3]).encode(
        x=alt.X("current:Q", title="step")).transform_calculate(current="frame")
    return alt.layer(lines, rule).properties(width=280, height=height)


def add_timer(spec: dict, steps: int, stride: int, speed: float) -> None:
    """Attach the Vega timer that advances ``frame`` while ``playing`` is on (stops at the last step)."""
    increment = max(stride, int(round(stride * speed)))
    for param in spec.get("params", []):
        if param.get("name") == "frame":
            param["on"] = [{
                "events": {"type": "timer", "throttle": FRAME_MS},
                "update": f"playing ? min(frame + {increment}, {steps}) : frame",
            }]
            return
    raise RuntimeError("race spec has no frame param")  # pragma: no cover - guarded by tests


def is_animated(spec: dict) -> bool:
    """True when a spec carries the client-side animation (a timer-driven frame param)."""
    return any(p.get("name") == "frame" and any("timer" in str(e.get("events")) for e in p.get("on", []))
               for p in spec.get("params", []))
