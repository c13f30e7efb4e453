"""What every explanatory view shows under its chart: its claim's checks as badges, and its disclosed settings."""

from __future__ import annotations

from typing import Iterable

import streamlit as st

from descent_core.views import Check


def show_checks(checks: Iterable[Check]) -> None:
    """One line per property of the claim: a green badge where it holds for this setting, a red one where not."""
    checks = list(checks)
    held = sum(c.holds for c in checks)
    lines = []
    for c in checks:
        badge = (":green-badge[:material/check_circle: holds]" if c.holds
                 else ":red-badge[:material/cancel: fails here]")
        lines.append(f"- {badge} {c.claim} *Measured:* {c.measured}.")
    colour = "green" if held == len(checks) else "orange"
    st.markdown(f":{colour}-badge[{held} of {len(checks)} properties hold for this setting]\n\n" + "\n".join(lines))


def show_settings(settings: dict[str, str], runtime_s: float) -> None:
    text = " · ".join(f"**{k}**: {v}" for k, v in settings.items())
    st.caption(f"{text} · computed in {runtime_s * 1000:.0f} ms (cached per setting)")
