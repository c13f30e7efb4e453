"""The live figures placed in section pages by ``{{figure:id}}`` markers.

Each figure is data: the claim its caption states, the race it runs, and the knobs a reader may turn (all bounded).
``render_figure`` draws the knobs, runs the race through a cache, and shows it with every setting disclosed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

import descent_core as dc

from . import race_view
from .state import RACE_DEVICE, sidebar_speed


@dataclass(frozen=True)
class Knob:
    label: str
    name: str  # hyperparameter name; "noise" is the race's gradient-noise level
    applies_to: tuple[str, ...]  # optimizer ids the value is given to
    low: float
    high: float
    default: float
    log: bool = False
    beta_index: int | None = None  # for betas: which of the pair
    run: int | None = None  # for a per-run sweep: which run this knob sets

    def options(self) -> list[float]:
        if self.log:
            grid = np.geomspace(self.low, self.high, 41)
            return sorted({float(f"{v:.3g}") for v in np.append(grid, self.default)})
        return []


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    claim: str
    landscape: str
    optimizers: tuple[str, ...]
    steps: int = 200
    hparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    knobs: tuple[Knob, ...] = ()
    landscape_choices: tuple[str, ...] = ()
    noise: float = 0.0
    schedule_choices: tuple[str, ...] = ()
    show_loss: bool = False


def _lr(opt: str, landscape: str, low: float, high: float, applies: tuple[str, ...] | None = None,
        label: str | None = None) -> Knob:
    tuned = dc.LANDSCAPES[landscape].tuned.get(opt, {}).get("lr", dc.OPTIMIZERS[opt].defaults["lr"])
    name = dc.OPTIMIZERS[opt].name
    return Knob(label or f"{name}: learning rate η", "lr", applies or (opt,), low, high, tuned, log=True)


FIGURES: dict[str, Figure] = {f.id: f for f in [
    Figure("ravine_gd", "Gradient descent in a ravine",
           "In a valley 20 times steeper across than along, one step size cannot suit both directions: gradient "
           "descent bounces between the walls while it creeps along the floor.",
           "ravine", ("gd",), steps=120, hparams={"gd": {"lr": 0.09}},
           knobs=(Knob("learning rate η", "lr", ("gd",), 0.005, 0.12, 0.09, log=True),)),
    Figure("gd_step_sizes", "Three step sizes, one ravine",
           "Below 2/λmax = 0.1 gradient descent converges, and zig-zags once η passes 1/λmax = 0.05; just above "
           "0.1 the steep direction grows every step and the run leaves the picture.",
           "ravine", ("gd",), steps=150, hparams={"gd": {"lr": [0.01, 0.09, 0.102]}},
           knobs=(Knob("middle run's η", "lr", ("gd",), 0.005, 0.12, 0.09, log=True, run=1),)),
    Figure("sgd_noise", "Full batch against mini-batches",
           "Noisy mini-batch gradients make SGD jitter around gradient descent's path; it still reaches the valley "
           "floor, then hovers in a noise ball whose size grows with η and with the noise (smaller batches).",
           "ravine", ("gd", "sgd"), steps=200, noise=2.0, hparams={"gd": {"lr": 0.05}, "sgd": {"lr": 0.05}},
           knobs=(Knob("learning rate η (both)", "lr", ("gd", "sgd"), 0.005, 0.09, 0.05, log=True),
                  Knob("gradient noise σ (∝ 1/√batch)", "noise", (), 0.0, 10.0, 2.0))),
    Figure("saddle_escape", "Escaping a saddle",
           "Started almost on the ridge of f = x² − y², plain SGD lingers near the saddle; momentum builds speed, and "
           "the adaptive methods divide the tiny downhill gradient by its own small scale and leave first.",
           "saddle", ("sgd", "momentum", "rmsprop", "adam"), steps=150,
           hparams={"sgd": {"lr": 0.01}, "momentum": {"lr": 0.01}, "rmsprop": {"lr": 0.01}, "adam": {"lr": 0.03}}),
    Figure("momentum_vs_sgd", "Momentum against SGD, same ravine",
           "Momentum cancels the back-and-forth across the ravine and accumulates the steady push along it, so it "
           "reaches the minimum in far fewer steps; too much momentum overshoots and spirals.",
           "ravine", ("sgd", "momentum"), steps=150, hparams={"sgd": {"lr": 0.05}, "momentum": {"lr": 0.02}},
           knobs=(Knob("momentum μ", "momentum", ("momentum",), 0.0, 0.99, 0.8),
                  Knob("Momentum: learning rate η", "lr", ("momentum",), 0.001, 0.09, 0.02, log=True))),
    Figure("nesterov_vs_momentum", "Nesterov against heavy ball",
           "With the same η and μ, Nesterov's look-ahead gradient brakes before the wall, so it overshoots less and "
           "settles sooner than heavy-ball momentum, most visibly at high μ.",
           "ravine", ("momentum", "nesterov"), steps=150,
           hparams={"momentum": {"lr": 0.03, "momentum": 0.9}, "nesterov": {"lr": 0.03, "momentum": 0.9}},
           knobs=(Knob("momentum μ (both)", "momentum", ("momentum", "nesterov"), 0.0, 0.99, 0.9),
                  Knob("learning rate η (both)", "lr", ("momentum", "nesterov"), 0.001, 0.09, 0.03, log=True))),
    Figure("adagrad_axes", "AdaGrad equalises the axes",
           "Dividing each coordinate by its own gradient history lets AdaGrad walk almost straight down an "
           "axis-aligned ravine, but its steps only ever shrink; turn the ravine 45° and the per-axis trick loses "
           "most of its edge.",
           "ravine", ("gd", "adagrad"), steps=200, landscape_choices=("ravine", "rotated_ravine"),
           knobs=(Knob("AdaGrad: learning rate η", "lr", ("adagrad",), 0.05, 5.0, 1.5, log=True),)),
    Figure("rmsprop_adadelta", "AdaGrad, RMSProp and AdaDelta",
           "AdaGrad and RMSProp both divide by a gradient scale, so both head nearly straight down the ravine; "
           "AdaDelta needs no learning rate in principle, but its steps start √ε-sized, so at lr = 1 it has barely "
           "left the start after 200 steps.",
           "ravine", ("adagrad", "rmsprop", "adadelta"), steps=200,
           hparams={"adagrad": {"lr": 1.5}, "rmsprop": {"lr": 0.1}, "adadelta": {"lr": 1.0}},
           knobs=(Knob("RMSProp: decay α", "alpha", ("rmsprop",), 0.5, 0.999, 0.99),
                  Knob("RMSProp: learning rate η", "lr", ("rmsprop",), 0.001, 1.0, 0.1, log=True),
                  Knob("AdaDelta: lr multiplier", "lr", ("adadelta",), 0.1, 100.0, 1.0, log=True),
                  Knob("AdaDelta: ε", "eps", ("adadelta",), 1e-8, 1e-1, 1e-6, log=True))),
    Figure("adam_beale", "Adam on the Beale function",
           "Adam's step is about η per coordinate wherever it is, so it crosses Beale's plateau and curved canyon "
           "at a steady pace; SGD's step is η·|g|, so it lunges where the surface is steep and crawls where it is "
           "flat. Compare the spacing of the dots along each trail.",
           "beale", ("sgd", "momentum", "adam"), steps=300,
           hparams={"sgd": {"lr": 0.01}, "momentum": {"lr": 0.001}, "adam": {"lr": 0.05}},
           knobs=(Knob("Adam: β1", "betas", ("adam",), 0.0, 0.99, 0.9, beta_index=0),
                  Knob("Adam: learning rate η", "lr", ("adam",), 0.001, 0.5, 0.05, log=True))),
    Figure("amsgrad_vs_adam", "AMSGrad against Adam",
           "On a smooth surface AMSGrad's running maximum of v changes little: its steps can only shrink, so it is "
           "at most a little slower. Its point is the adversarial case in the lab below.",
           "rosenbrock", ("adam", "amsgrad"), steps=300,
           hparams={"adam": {"lr": 0.05}, "amsgrad": {"lr": 0.05}},
           knobs=(Knob("β2 (both)", "betas", ("adam", "amsgrad"), 0.5, 0.9999, 0.999, beta_index=1),
                  Knob("learning rate η (both)", "lr", ("adam", "amsgrad"), 0.001, 0.3, 0.05, log=True))),
    Figure("adamw_vs_adam", "L2 inside Adam against decoupled decay",
           "With the same λ, Adam's L2 term is divided by √v̂ and barely acts where gradients are large, while "
           "AdamW shrinks the weights by ηλ per step regardless: it stops short of the minimum, pulled towards 0.",
           "beale", ("adam", "adamw"), steps=300,
           hparams={"adam": {"lr": 0.05, "weight_decay": 0.2}, "adamw": {"lr": 0.05, "weight_decay": 0.2}},
           knobs=(Knob("weight decay λ (both)", "weight_decay", ("adam", "adamw"), 0.0, 1.0, 0.2),)),
    Figure("nadam_vs_adam", "NAdam against Adam",
           "NAdam applies the momentum step it is about to take before measuring the gradient (a Nesterov "
           "look-ahead); in torch its momentum also ramps up slowly, so early on it behaves like Adam with a "
           "smaller β1.",
           "beale", ("adam", "nadam"), steps=300, hparams={"adam": {"lr": 0.05}, "nadam": {"lr": 0.05}},
           knobs=(Knob("learning rate η (both)", "lr", ("adam", "nadam"), 0.001, 0.3, 0.05, log=True),)),
    Figure("frontier_rotated", "Diagonal against rotation-invariant methods",
           "Turn the ravine 45° and the per-coordinate methods (Adam, Lion) lose their straight-line path, while "
           "gradient descent, full-matrix Shampoo and Muon behave exactly as before, only rotated.",
           "rotated_ravine", ("gd", "adam", "lion", "shampoo", "muon"), steps=200,
           # One setting for both surfaces (the ravine's tuned rates): the two races then differ only by the turn.
           hparams={"gd": {"lr": 0.0562}, "adam": {"lr": 1.33}, "lion": {"lr": 0.1}, "shampoo": {"lr": 5.62},
                    "muon": {"lr": 0.178, "weight_decay": 0.0}},
           landscape_choices=("rotated_ravine", "ravine")),
    Figure("frontier_race", "The frontier optimizers on Rosenbrock",
           "In the narrow curved valley the sign-based Lion moves in diagonal steps of exactly η, the trust-ratio "
           "methods scale with the distance from the origin, and curvature-aware Sophia and Shampoo follow the "
           "valley floor.",
           "rosenbrock", ("adam", "lion", "lamb", "lars", "shampoo", "sophia", "muon"), steps=300,
           landscape_choices=("rosenbrock", "beale", "himmelblau", "rastrigin")),
    Figure("home_race", "Four ways down a ravine",
           "Same start, same surface, four update rules at their tuned learning rates: gradient descent zig-zags, "
           "momentum overshoots and recovers, Adam heads almost straight for the floor, and Lion moves in diagonal "
           "steps of exactly η.",
           "ravine", ("gd", "momentum", "adam", "lion"), steps=150),
    Figure("schedules_warmup", "Learning-rate schedules on a noisy problem",
           "Warmup keeps the first steps small while Adam's v̂ is still unreliable; decaying the rate at the end "
           "shrinks the noise ball around the minimum.",
           "ravine", ("sgd", "momentum", "adam"), steps=300, noise=3.0,
           hparams={"sgd": {"lr": 0.05}, "momentum": {"lr": 0.01}, "adam": {"lr": 0.5}},
           schedule_choices=("constant", "warmup", "cosine", "warmup_cosine", "step"), show_loss=True),
]}


def _apply_knob(hparams: dict[str, dict[str, Any]], knob: Knob, value: float, landscape: dc.Landscape) -> None:
    for opt in knob.applies_to:
        current = hparams.setdefault(opt, {})
        if knob.beta_index is not None:
            betas = list(current.get("betas", dc.OPTIMIZERS[opt].defaults["betas"]))
            betas[knob.beta_index] = value
            current["betas"] = tuple(betas)
        elif knob.run is not None:
            values = list(current[knob.name])
            values[knob.run] = value
            current[knob.name] = values
        else:
            current[knob.name] = value


def knobs_for(figure: Figure, landscape: dc.Landscape) -> tuple[Knob, ...]:
    """The figure's own knobs, plus a learning-rate knob for every optimizer that has none, so every race on every
    page can be re-tuned. Its default is the figure's setting, else the surface's tuned rate; its range 30x either
    way."""
    covered = {opt for knob in figure.knobs if knob.name == "lr" for opt in knob.applies_to}
    extra = []
    for opt in figure.optimizers:
        if opt in covered:
            continue
        default = figure.hparams.get(opt, {}).get(
            "lr", landscape.tuned.get(opt, {}).get("lr", dc.OPTIMIZERS[opt].defaults["lr"]))
        extra.append(Knob(f"{dc.OPTIMIZERS[opt].name}: learning rate η", "lr", (opt,), float(f"{default / 30:.3g}"),
                          float(f"{default * 30:.3g}"), float(default), log=True))
    return figure.knobs + tuple(extra)


def settings_for(figure: Figure, values: dict[str, Any]) -> dict[str, Any]:
    """Resolve knob values into race arguments (pure: the cache key and the tests use it)."""
    landscape = dc.get_landscape(values.get("landscape", figure.landscape))
    hparams = json.loads(json.dumps(figure.hparams))  # a deep copy of plain data
    noise = figure.noise
    for knob in knobs_for(figure, landscape):
        value = float(values.get(knob.label, knob.default))
        if not knob.low <= value <= knob.high:
            raise ValueError(f"{knob.label} must be in [{knob.low}, {knob.high}]; got {value}")
        if knob.name == "noise":
            noise = value
        else:
            _apply_knob(hparams, knob, value, landscape)
    start = values.get("start") or landscape.start
    return {"landscape": landscape.id, "optimizers": list(figure.optimizers), "steps": figure.steps,
            "hparams": hparams, "noise": noise, "start": [float(start[0]), float(start[1])],
            "schedule": values.get("schedule", "constant")}


@st.cache_data(max_entries=256, show_spinner=False)
def figure_payload(settings_json: str, speed: float, show_loss: bool) -> dict[str, Any]:
    settings = json.loads(settings_json)
    schedule = dc.schedules.offered(settings["schedule"], settings["steps"])
    race = dc.race(settings["landscape"], settings["optimizers"], steps=settings["steps"],
                   starts=[settings["start"]], hparams=settings["hparams"], noise=settings["noise"], seed=0,
                   schedule=schedule, device=RACE_DEVICE)
    return race_view.payload(race, width=520, speed=speed, show_loss=show_loss)


def render_figure(figure_id: str, key_prefix: str = "") -> None:
    """Draw a figure with its knobs; unknown ids get a visible notice instead of a crash."""
    figure = FIGURES.get(figure_id)
    if figure is None:
        st.error(f"Figure {figure_id!r} is not defined.")
        return
    key = f"{key_prefix}fig.{figure.id}"
    with st.container(border=True):
        st.markdown(f"##### {figure.title}")
        values = _knob_widgets(figure, key)
        try:
            settings = settings_for(figure, values)
            view = figure_payload(race_view.settings_key(settings), sidebar_speed(), figure.show_loss)
        except ValueError as error:  # bounded widgets make this rare; say what is wrong, keep the page
            st.error(f"This setting cannot run: {error}")
            return
        race_view.show(view, claim=figure.claim, key=f"{key}.chart")


def _knob_widgets(figure: Figure, key: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    landscape = dc.get_landscape(figure.landscape)
    with st.expander("Adjust this figure", expanded=False):
        columns = st.columns(2)
        if figure.landscape_choices:
            chosen = columns[0].selectbox("Surface", figure.landscape_choices, key=f"{key}.landscape",
                                          format_func=lambda i: dc.LANDSCAPES[i].name)
            values["landscape"] = chosen
            landscape = dc.LANDSCAPES[chosen]
        if figure.schedule_choices:
            values["schedule"] = columns[1].selectbox("Schedule", figure.schedule_choices, key=f"{key}.schedule",
                                                      index=figure.schedule_choices.index("warmup_cosine"))
        for i, knob in enumerate(knobs_for(figure, landscape)):
            column = columns[i % 2]
            # A learning-rate knob added for a surface has that surface's range: its widget is keyed by surface.
            widget_key = f"{key}.{knob.label}" if knob in figure.knobs else f"{key}.{landscape.id}.{knob.label}"
            if knob.log:
                values[knob.label] = column.select_slider(knob.label, options=knob.options(), value=float(
                    f"{knob.default:.3g}"), key=widget_key, format_func=lambda v: f"{v:g}")
            else:
                values[knob.label] = column.slider(knob.label, knob.low, knob.high, knob.default, key=widget_key)
        (x0, x1), (y0, y1) = landscape.bounds
        use_own_start = st.toggle("Choose the start point", key=f"{key}.own_start")
        if use_own_start:
            cx, cy = st.columns(2)
            sx = cx.slider("start x", float(x0), float(x1), float(landscape.start[0]), key=f"{key}.sx.{landscape.id}")
            sy = cy.slider("start y", float(y0), float(y1), float(landscape.start[1]), key=f"{key}.sy.{landscape.id}")
            values["start"] = (sx, sy)
    return values
