"""The grand race: every optimizer released from one start on one surface, with its settings in the URL.

The URL holds the whole race (``?landscape=beale&steps=300&opts=adam,lion&schedule=cosine&clip=5&start=1,2``) and
the playback speed (``speed=2``), so a link reproduces it exactly. A malformed parameter falls back to its default,
and the page says which one. Clicking the map starts the race from that point (``start``, cleared by "Reset" or by
choosing another landscape). The claim under the title is the landscape's entry in the section's front matter:
a sentence and the checks (``descent_core.claims``) that make it testable, evaluated on the race drawn.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Mapping, NamedTuple

import streamlit as st

import descent_core as dc
from descent_core import claims, content

from . import fair_view, race_view
from .links import title_of
from .section import render_body
from .state import RACE_DEVICE

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
    start: tuple[float, float] | None = None  # None: the landscape's own start

    def to_query(self) -> dict[str, str]:
        query = {"landscape": self.landscape, "steps": str(self.steps), "opts": ",".join(self.optimizers),
                 "schedule": self.schedule, "noise": f"{self.noise:g}", "seed": str(self.seed)}
        if self.clip is not None:
            query["clip"] = f"{self.clip:g}"
        if self.start is not None:
            query["start"] = f"{self.start[0]:g},{self.start[1]:g}"
        return query


class RaceClaim(NamedTuple):
    text: str
    checks: tuple[claims.Check, ...]


def claim_for(landscape: str) -> RaceClaim:
    """The grand race's claim on ``landscape``: the sentence and its checks, from the section's front matter."""
    entry = content.section("grand-race").extra["claims"][landscape]
    return RaceClaim(entry["text"], tuple(claims.check_from(c) for c in entry.get("checks", ())))


def settings_json(settings: RaceSettings) -> str:
    return json.dumps(asdict(settings), sort_keys=True)


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
    if "start" in query:
        point = _point(query["start"])
        (x0, x1), (y0, y1) = dc.LANDSCAPES[settings.landscape].bounds
        if point is not None and x0 <= point[0] <= x1 and y0 <= point[1] <= y1:
            settings.start = point
        else:
            bad("start", query["start"], f"must be x,y inside the {dc.LANDSCAPES[settings.landscape].name} map "
                f"([{x0:g}, {x1:g}] × [{y0:g}, {y1:g}])")
    if "speed" in query and race_view.parse_speed(query["speed"]) is None:
        bad("speed", query["speed"], "must be one of " + ", ".join(f"{v:g}" for v in race_view.SPEEDS))
    return settings, problems


def _point(text: str) -> tuple[float, float] | None:
    parts = text.split(",")
    if len(parts) != 2:
        return None
    x, y = _float(parts[0]), _float(parts[1])
    return None if x is None or y is None else (x, y)


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
def race_payload(settings_text: str) -> dict:
    s = json.loads(settings_text)
    race = dc.race(s["landscape"], s["optimizers"], steps=s["steps"], noise=s["noise"], seed=s["seed"],
                   starts=[s["start"]] if s.get("start") else None,
                   schedule=dc.schedules.offered(s["schedule"], s["steps"]), clip=s["clip"], device=RACE_DEVICE)
    return race_view.payload(race, show_loss=True, checks=claim_for(s["landscape"]).checks)


KEY = "grand."


def render_grand_race() -> None:
    section = content.section("grand-race")
    st.title(title_of(section))
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
    _sync_url({**settings.to_query(), "speed": f"{race_view.current_speed():g}"})
    if not settings.optimizers:
        st.info("Pick at least one optimizer to race.")
        return
    fair = st.toggle("Fair mode: tune each optimizer's learning rate first, the same budget for each",
                     key=f"{KEY}fair", help="Off: the disclosed rates of descent_core/tuned.py. On: one batched "
                     f"sweep of {fair_view.POINTS} rates per optimizer on this race's settings decides.")
    view = (fair_view.grand_race_payload if fair else race_payload)(settings_json(settings))
    race_view.show(view, claim=fair_view.CLAIM if fair else claim_for(settings.landscape).text, key=f"{KEY}chart",
                   on_start=_start_clicked)
    if fair:
        fair_view.show_tuning(view)
    st.caption("Link to this race: copy the address bar — every setting above, the start and the speed are in it.")
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
    st.session_state[f"{KEY}start"] = settings.start


def _reset() -> None:
    _seed_widgets(RaceSettings())
    st.session_state[f"{KEY}problems"] = []


def _start_clicked() -> None:
    point = race_view.clicked_start(f"{KEY}chart")
    if point is None:
        return
    (x0, x1), (y0, y1) = dc.LANDSCAPES[st.session_state.get(f"{KEY}landscape", "beale")].bounds
    st.session_state[f"{KEY}start"] = (min(max(point[0], x0), x1), min(max(point[1], y0), y1))


def _landscape_changed() -> None:
    st.session_state[f"{KEY}start"] = None  # a start belongs to the map it was picked on


def _controls() -> RaceSettings:
    st.button("Reset to the default race", key=f"{KEY}reset", on_click=_reset, icon=":material/restart_alt:")
    top = st.columns([2, 2, 3])
    landscape = top[0].selectbox("Landscape", list(dc.LANDSCAPES), key=f"{KEY}landscape",
                                 format_func=lambda i: dc.LANDSCAPES[i].name, on_change=_landscape_changed)
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
    start = st.session_state.get(f"{KEY}start")
    where, clear = st.columns([4, 1], vertical_alignment="center")
    if start is None:
        where.caption(f"Start: the landscape's own, {_pair(dc.LANDSCAPES[landscape].start)}. Click the map to start "
                      "every optimizer somewhere else.")
    else:
        where.caption(f"Start: {_pair(start)}, picked on the map.")
        clear.button("Use the landscape's start", key=f"{KEY}clear_start", on_click=_landscape_changed)
    ordered = [o for o in dc.OPTIMIZERS if o in (optimizers or [])]
    return RaceSettings(landscape, int(steps), ordered, schedule or "constant", float(clip) if clip_on else None,
                        float(noise), int(seed), tuple(start) if start is not None else None)


def _pair(point) -> str:
    return f"({point[0]:.3g}, {point[1]:.3g})"
