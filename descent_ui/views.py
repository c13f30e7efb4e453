"""Explanatory figures placed by ``{{view:<id>}}``: each draws its knobs, its chart, and its claim's checks.

The numbers come from ``descent_core.views`` (pure, cached here per setting); each check is shown as a badge that
holds or fails for the reader's own setting, the same comparison tests/test_views.py asserts at the defaults.
The views themselves live in ``views_quadratic`` (rate map, eigenbasis), ``views_basins`` and ``views_muon``.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

TITLES = {
    "rate_map": "The rate map: how fast heavy ball converges for every (η, μ)",
    "eigenbasis": "The eigenbasis view: the error, one direction at a time",
    "basin_map": "The basin map: which minimum each start reaches",
    "muon_spectrum": "Muon's orthogonalisation, singular value by singular value",
}


def _renderers() -> dict[str, Callable[[str], None]]:
    from . import views_basins, views_muon, views_quadratic  # imported on first use, like the labs

    return {"rate_map": views_quadratic.render_rate_map, "eigenbasis": views_quadratic.render_eigenbasis,
            "basin_map": views_basins.render_basin_map, "muon_spectrum": views_muon.render_muon}


def render_view(view_id: str, key_prefix: str = "") -> None:
    """Draw one view in a bordered box; an unknown id gets a visible notice instead of a crash."""
    render = _renderers().get(view_id)
    if render is None:
        st.error(f"View {view_id!r} is not defined.")
        return
    with st.container(border=True, key=f"{key_prefix}view-{view_id}".replace(".", "-")):
        st.markdown(f"##### :material/insights: {TITLES[view_id]}")
        render(f"{key_prefix}view.{view_id}")
