"""Shared sidebar controls (set once in app.py, read by every page) and session-state conventions."""

from __future__ import annotations

import streamlit as st

import descent_core as dc

SPEEDS = {"½×": 0.5, "1×": 1.0, "2×": 2.0, "4×": 4.0}
# The app's races step a few dozen 2-D points: every op is launch latency, which a CPU pays in about 1 µs and a GPU
# in about 10. So pages race on the CPU; `dc.default_device()` (a GPU when present) serves big sweeps.
RACE_DEVICE = "cpu"
SPEED_KEY = "ui.speed"


def sidebar_controls() -> None:
    """Animation speed and the device the engine runs on; shown on every page."""
    with st.sidebar:
        st.segmented_control("Animation speed", list(SPEEDS), default="1×", key=SPEED_KEY,
                             help="Steps advanced per animation frame, relative to the race's own pace.")
        accelerator = dc.default_device()
        extra = f"; {accelerator.type} available for sweeps" if accelerator.type != RACE_DEVICE else ""
        st.caption(f"Engine: `descent_core`, races on **{RACE_DEVICE}**{extra} · torch {_torch_version()}")


def sidebar_speed() -> float:
    """The chosen animation speed (1× when the sidebar has not been drawn, e.g. a page tested alone)."""
    return SPEEDS.get(st.session_state.get(SPEED_KEY) or "1×", 1.0)


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]
