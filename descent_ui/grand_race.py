"""The grand race: every optimizer released from one start on one surface, with its settings in the URL.

The URL holds the whole race (``?landscape=beale&steps=300&opts=adam,lion&schedule=cosine&clip=5``), so a link
reproduces it exactly. A malformed parameter falls back to its default, and the page says which one.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Mapping

import streamlit as st

import descent_core as dc
from descent_core import content

from . import race_view
from .section import render_body
from .state import RACE_DEVICE, sidebar_speed

STEP_CHOICES = (100, 200, 300, 500, 800, 1000)
SCHEDULES = ("constant", "warmup", "cosine", "warmup_cosine", "step")
NOISE_RANGE = (0.0, 10.0)
CLIP_RANGE = (0.1, 100.0)


@dataclass
class RaceSettings:
    landscape: str = "beale"
    steps: int = 300
    optimizers: list[str] = field(default_factory=lambda: list(dc.OPTIMIZERS))
    schedule: str = "constant"
    clip: float | None = None
    noise: float = 0.0
    seed: int = 0

    def to_query(self) -> dict[str, str]:
        query = {"landscape": self.landscape, "steps": str(self.steps), "opts": ",".join(self.optimizers),
                 "schedule": self.schedule, "noise": f"{self.noise:g}", "seed": str(self.seed)}
        if self.clip is not None:
            query["clip"] = f"{self.clip:g}"
        return query


def parse_query(query: Mapping[str, str]) -> tuple[RaceSettings, list[str]]:
    """Settings from URL parameters; each malformed one falls back to its default and is reported."""
    settings, problems = RaceSettings(), []

    def bad(name: str, value: str, why: str) -> None:
        problems.append(f"`{name}={value[:40]}` {why}; using the default.")

    if "landscape" in query:
        if query["landscape"] in dc.LANDSCAPES:
            settings.landscape = query["landscape"]
        else:
            bad("landscape", query["landscape"], f"is not one of {', '.join(dc.LANDSCAPES)}")
    if "steps" in query:
        steps = _int(query["steps"])
        if steps in STEP_CHOICES:
            settings.steps = steps
        else:
            bad("steps", query["steps"], f"must be one of {', '.join(map(str, STEP_CHOICES))}")
    if "opts" in query:
        ids = [o for o in query["opts"].split(",") if o]
        unknown = [o for o in ids if o not in dc.OPTIMIZERS]
        if ids and not unknown:
            settings.optimizers = list(dict.fromkeys(ids))
        else:
            bad("opts", query["opts"], "names no known optimizer" if not ids else f"has unknown ids {unknown}")
    if "schedule" in query:
        if query["schedule"] in SCHEDULES:
            settings.schedule = query["schedule"]
        else:
            bad("schedule", query["schedule"], f"is not one of {', '.join(SCHEDULES)}")
    for name, low, high in (("clip", *CLIP_RANGE), ("noise", *NOISE_RANGE)):
        if name in query:
            value = _float(query[name])
            if value is not None and low <= value <= high:
                setattr(settings, name, value)
            else:
                bad(name, query[name], f"must be a number in [{low}, {high}]")
    if "seed" in query:
        seed = _int(query["seed"])
        if seed is not None and 0 <= seed < 2**31:
            settings.seed = seed
        else:
            bad("seed", query["seed"], "must be a non-negative integer")
    return settings, problems


def _int(text: str) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


@st.cache_data(max_entries=64, show_spinner="Racing…")
def race_payload(settings_json: str, speed: float) -> dict:
    s = json.loads(settings_json)
    race = dc.race(s["landscape"], s["optimizers"], steps=s["steps"], noise=s["noise"], seed=s["seed"],
                   schedule=dc.schedules.offered(s["schedule"], s["steps"]), clip=s["clip"], device=RACE_DEVICE)
    return race_view.payload(race, width=500, speed=speed, show_loss=True)


KEY = "grand."


def render_grand_race() -> None:
    section = content.section("grand-race")
    st.title(section.title)
    st.caption(section.summary)
    # Streamlit forgets a widget's value once a run goes by without it (a visit to another page), so the widgets
    # are seeded whenever they are missing: from the link when it names a race, else from the last race shown.
    if f"{KEY}landscape" not in st.session_state:
        query = st.query_params.to_dict()
        if set(query) & set(RaceSettings().to_query()):
            settings, problems = parse_query(query)
        else:
            settings, problems = st.session_state.get(f"{KEY}last", RaceSettings()), []
        st.session_state[f"{KEY}problems"] = problems
        _seed_widgets(settings)
    for problem in st.session_state.get(f"{KEY}problems", []):
        st.warning(f"Link parameter ignored: {problem}", icon=":material/link:")

    settings = _controls()
    st.session_state[f"{KEY}last"] = settings
    _sync_url(settings.to_query())
    if not settings.optimizers:
        st.info("Pick at least one optimizer to race.")
        return
    view = race_payload(json.dumps(asdict(settings), sort_keys=True), sidebar_speed())
    race_view.show(view, claim=section.extra["claims"][settings.landscape], key=f"{KEY}chart")
    st.caption("Link to this race: copy the address bar — every setting above is in it.")
    with st.expander("How to read the race", expanded=False):
        render_body(section)


def _sync_url(query: dict[str, str]) -> None:
    """Write the race into the address bar, touching only keys that changed."""
    for name in [k for k in st.query_params if k not in query]:
        del st.query_params[name]
    for name, value in query.items():
        if st.query_params.get(name) != value:
            st.query_params[name] = value


def _seed_widgets(settings: RaceSettings) -> None:
    st.session_state[f"{KEY}landscape"] = settings.landscape
    st.session_state[f"{KEY}steps"] = settings.steps
    st.session_state[f"{KEY}opts"] = settings.optimizers
    st.session_state[f"{KEY}schedule"] = settings.schedule
    st.session_state[f"{KEY}clip_on"] = settings.clip is not None
    st.session_state[f"{KEY}clip"] = settings.clip if settings.clip is not None else 5.0
    st.session_state[f"{KEY}noise"] = settings.noise
    st.session_state[f"{KEY}seed"] = settings.seed


def _reset() -> None:
    _seed_widgets(RaceSettings())
    st.session_state[f"{KEY}problems"] = []


def _controls() -> RaceSettings:
    st.button("Reset to the default race", key=f"{KEY}reset", on_click=_reset, icon=":material/restart_alt:")
    top = st.columns([2, 2, 3])
    landscape = top[0].selectbox("Landscape", list(dc.LANDSCAPES), key=f"{KEY}landscape",
                                 format_func=lambda i: dc.LANDSCAPES[i].name)
    steps = top[1].select_slider("Steps", STEP_CHOICES, key=f"{KEY}steps")
    schedule = top[2].selectbox("Learning-rate schedule", SCHEDULES, key=f"{KEY}schedule",
                                format_func=lambda s: s.replace("_", " + "))
    optimizers = st.pills("Optimizers", list(dc.OPTIMIZERS), selection_mode="multi", key=f"{KEY}opts",
                          format_func=lambda o: dc.OPTIMIZERS[o].name)
    bottom = st.columns(4)
    clip_on = bottom[0].toggle("Clip gradients", key=f"{KEY}clip_on")
    clip = bottom[1].slider("max ‖g‖", *CLIP_RANGE, key=f"{KEY}clip", disabled=not clip_on)
    noise = bottom[2].slider("Gradient noise σ", *NOISE_RANGE, step=0.1, key=f"{KEY}noise",
                             help="Gaussian noise added to every gradient (mini-batch emulation); GD stays exact.")
    seed = bottom[3].number_input("Noise seed", 0, 2**31 - 1, step=1, key=f"{KEY}seed")
    ordered = [o for o in dc.OPTIMIZERS if o in (optimizers or [])]
    return RaceSettings(landscape, int(steps), ordered, schedule or "constant", float(clip) if clip_on else None,
                        float(noise), int(seed))
