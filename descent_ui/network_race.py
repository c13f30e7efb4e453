"""A real network race: every optimizer trains the same small MLP; loss curves, decision boundaries and the
learning rates used, all on one page."""

from __future__ import annotations

import io

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, ImageDraw

import descent_core as dc
from descent_core.network import (
    COMPARISON_LANDSCAPES,
    DATASETS,
    LEARNING_RATES,
    SUBSTITUTES,
    NetworkRace,
    network_race,
    planar_ranking,
    rank_correlation,
)

from .theme import color_of

PREFIX = "network."  # session-state namespace of this page
TILE = 168  # pixels per decision-boundary tile
TILES_PER_ROW = 6
SMOOTHING = 20  # steps in the loss curves' moving average
CLASS_COLORS = (np.array([28, 126, 214]), np.array([247, 103, 7]))  # class 0 blue, class 1 orange

INTRO = """
The 2-D races show how each update rule *moves*. Here every optimizer does a real job instead: it trains the same
multilayer perceptron (2 inputs, two hidden layers of 32 tanh units, 1 output; 1,185 weights) to separate two
classes of points, minimising the mean binary cross-entropy.

Everyone starts from the same initial weights and sees the same mini-batches of 64 points in the same order; only
gradient descent (`gd`) takes the full-batch gradient each step, which is exactly what makes it *gradient
descent* rather than SGD. Each parameter tensor has its own stepper, so the per-layer rules (LAMB's and LARS's
trust ratios, Shampoo's two preconditioners, Muon's orthogonalisation) act on one layer at a time.
"""


def render() -> None:
    _init_state()
    st.title("A real network race")
    st.markdown(INTRO)
    settings = _controls()
    if st.button("Run the race", type="primary", key=PREFIX + "run"):
        _run(settings)
    result: NetworkRace | None = st.session_state.get(PREFIX + "result")
    if result is None:
        st.info("Press **Run the race** to train the network once per optimizer (a few seconds on a laptop).")
        st.subheader("Learning rates")
        st.dataframe(rates_table(), hide_index=True, width="stretch")
        return
    if st.session_state.get(PREFIX + "settings") != settings:
        st.caption("The settings changed since this race ran; press **Run the race** to update it.")
    _results(result)


def _init_state() -> None:
    st.session_state.setdefault(PREFIX + "optimizers", list(dc.OPTIMIZERS))


def _controls() -> dict:
    left, middle, right = st.columns([2, 2, 1])
    dataset = left.radio("Data", DATASETS, horizontal=True, key=PREFIX + "dataset",
                         help="moons: two interleaved half circles; spirals: two interleaved spirals (harder).")
    steps = middle.slider("Steps", 100, 1000, 400, step=50, key=PREFIX + "steps")
    seed = right.number_input("Seed", 0, 10_000, 0, step=1, key=PREFIX + "seed",
                              help="Fixes the data, the initial weights and the mini-batch order.")
    optimizers = st.multiselect("Optimizers", list(dc.OPTIMIZERS), key=PREFIX + "optimizers",
                                format_func=lambda opt: dc.OPTIMIZERS[opt].name)
    return {"dataset": dataset, "steps": int(steps), "seed": int(seed), "optimizers": tuple(optimizers)}


def _run(settings: dict) -> None:
    if not settings["optimizers"]:
        st.warning("Pick at least one optimizer.")
        return
    bar = st.progress(0.0, text="Training…")
    result = network_race(list(settings["optimizers"]), dataset=settings["dataset"], steps=settings["steps"],
                          seed=settings["seed"], progress=lambda done: bar.progress(done, text=f"Training… {done:.0%}"))
    bar.empty()
    st.session_state[PREFIX + "result"] = result
    st.session_state[PREFIX + "settings"] = settings


# ---------------------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------------------
def _results(result: NetworkRace) -> None:
    ranking = result.ranking()
    best = result.runs[ranking[0]]
    st.markdown(
        f"**{len(result.runs)} optimizers × {result.steps} steps in {result.wall_time:.1f} s** on "
        f"{result.dataset.name} ({len(result.dataset.y)} points, seed {result.seed}). Lowest final loss: "
        f"**{dc.OPTIMIZERS[best.opt_id].name}** ({best.final_loss:.3g}, {best.accuracy:.0%} of points right)."
    )
    st.subheader("Training loss")
    smooth = st.checkbox(f"Smooth over {SMOOTHING} steps", value=True, key=PREFIX + "smooth")
    st.altair_chart(loss_chart(result, SMOOTHING if smooth else 1), width="stretch")
    st.caption("Loss on all training points after every step (a trailing moving average when smoothed). Click a "
               "legend entry to pick out one optimizer.")
    st.subheader("Decision boundaries")
    st.caption("Shading is the predicted probability of the orange class; the line between the colours is where the "
               "network is undecided. Dots are the training points.")
    _boundary_tiles(result, ranking)
    st.subheader("Results and learning rates")
    st.dataframe(results_table(result), hide_index=True, width="stretch")
    st.caption(RATES_NOTE)
    comparison = comparison_sentence(ranking)
    if comparison:
        st.markdown(comparison)


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at every step (fewer at the start), so the curve never looks ahead."""
    if window <= 1:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def loss_chart(result: NetworkRace, window: int = 1) -> alt.Chart:
    """Full-data training loss after every step, one line per optimizer, on a log axis; the legend highlights."""
    frames = [
        pd.DataFrame({"optimizer": dc.OPTIMIZERS[opt].name, "step": np.arange(run.losses.size),
                      "loss": trailing_mean(run.losses, window).astype(np.float32)})
        for opt, run in result.runs.items()
    ]
    data = pd.concat(frames, ignore_index=True).dropna()
    names = [dc.OPTIMIZERS[opt].name for opt in result.runs]
    picked = alt.selection_point(fields=["optimizer"], bind="legend")
    color = alt.Color("optimizer:N", scale=alt.Scale(domain=names, range=[color_of(opt) for opt in result.runs]),
                      legend=alt.Legend(title=None, orient="bottom", columns=4, symbolStrokeWidth=3))
    return alt.Chart(data).mark_line(strokeWidth=1.8).encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("loss:Q", title="training loss (log)", scale=alt.Scale(type="log")),
        color=color,
        opacity=alt.condition(picked, alt.value(1.0), alt.value(0.12)),
        tooltip=["optimizer:N", "step:Q", alt.Tooltip("loss:Q", format=".4g")],
    ).add_params(picked).properties(height=360)


def boundary_png(result: NetworkRace, opt_id: str, size: int = TILE) -> bytes:
    """One small multiple: P(class 1) shaded from blue through white to orange, training points on top."""
    p = result.runs[opt_id].boundary[::-1]  # image row 0 is the top, i.e. the largest y
    white = np.array([255.0, 255.0, 255.0])
    strength = np.abs(p - 0.5)[..., None] * 2  # 0 on the boundary, 1 where the network is sure
    target = np.where((p > 0.5)[..., None], CLASS_COLORS[1], CLASS_COLORS[0])
    rgb = (white + (target - white) * (0.15 + 0.5 * strength)).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB").resize((size, size), Image.BILINEAR)
    draw = ImageDraw.Draw(image)
    xs, ys = result.grid_x, result.grid_y
    for (x, y), label in zip(result.dataset.X, result.dataset.y):
        u = (x - xs[0]) / (xs[-1] - xs[0]) * (size - 1)
        v = (ys[-1] - y) / (ys[-1] - ys[0]) * (size - 1)
        draw.ellipse((u - 1.4, v - 1.4, u + 1.4, v + 1.4), fill=tuple(int(c * 0.75) for c in CLASS_COLORS[int(label)]))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _boundary_tiles(result: NetworkRace, ranking: list[str]) -> None:
    for row in range(0, len(ranking), TILES_PER_ROW):
        columns = st.columns(TILES_PER_ROW)
        for column, opt in zip(columns, ranking[row : row + TILES_PER_ROW]):
            run = result.runs[opt]
            status = "diverged" if run.diverged else f"{run.accuracy:.0%} right"
            column.image(boundary_png(result, opt), caption=f"{dc.OPTIMIZERS[opt].name} · {status}")


RATES_NOTE = (
    "Learning rates come from a sweep over factors of 2 on moons and spirals (400 steps, seeds 0 and 1): a rate with "
    "a low final loss on both, at least two notches below where the optimizer starts to blow up. Other "
    "hyperparameters are the library defaults. Where an optimizer is not designed for a kind of parameter, that "
    "parameter follows common practice, as listed."
)


def _practice(opt_id: str) -> str:
    notes = {f"{sub.why} (lr {LEARNING_RATES[sub.opt_id]:g})" for sub in SUBSTITUTES.get(opt_id, {}).values()}
    if opt_id == "shampoo":
        notes.add("biases use full-matrix AdaGrad, Shampoo's own rule for vectors")
    if opt_id == "sophia":
        notes.add("Hessian diagonal from the Gauss-Newton-Bartlett estimate every 10 steps")
    if opt_id == "gd":
        notes.add("full-batch gradient every step")
    return "; ".join(sorted(notes))


def rates_table() -> pd.DataFrame:
    return pd.DataFrame([
        {"optimizer": dc.OPTIMIZERS[opt].name, "learning rate": f"{LEARNING_RATES[opt]:g}", "notes": _practice(opt)}
        for opt in dc.OPTIMIZERS
    ])


def results_table(result: NetworkRace) -> pd.DataFrame:
    rows = []
    for rank, opt in enumerate(result.ranking(), start=1):
        run = result.runs[opt]
        rows.append({
            "rank": rank,
            "optimizer": dc.OPTIMIZERS[opt].name,
            "final loss": "diverged" if run.diverged else f"{run.final_loss:.4f}",
            "train accuracy": "—" if run.diverged else f"{run.accuracy:.1%}",
            "learning rate": f"{run.lr:g}",
            "time (s)": round(run.wall_time, 2),
            "notes": _practice(opt),
        })
    return pd.DataFrame(rows)


@st.cache_data(max_entries=16, show_spinner=False)
def cached_planar_ranking(optimizers: tuple[str, ...]) -> list[str]:
    return planar_ranking(list(optimizers))


def comparison_sentence(network_order: list[str]) -> str:
    """How the network ranking relates to the ranking of the same optimizers over the built-in 2-D races."""
    if len(network_order) < 3:
        return ""
    planar = cached_planar_ranking(tuple(sorted(network_order)))
    rho = rank_correlation(network_order, planar)
    names = lambda order: ", ".join(dc.OPTIMIZERS[opt].name for opt in order[:3])  # noqa: E731
    if rho < 0.3:
        verdict = ("close to unrelated: a path on a 2-D surface shows how an update rule moves, not how well it will "
                   "train a network")
    elif rho < 0.7:
        verdict = "loosely related: the 2-D races hint at the network ranking but do not predict it"
    else:
        verdict = "strongly related: here the 2-D races foretold the network ranking well"
    surfaces = ", ".join(COMPARISON_LANDSCAPES).replace("_", " ")
    return (
        f"**Compared with the 2-D races.** By final training loss the top three here are {names(network_order)}. "
        f"Averaged over the 2-D races on {surfaces} (each optimizer at its rate tuned for that surface, ranked by "
        f"mean log-loss gap) the top three are {names(planar)}. The rank correlation of the two orders is "
        f"ρ = {rho:+.2f}: {verdict}."
    )
