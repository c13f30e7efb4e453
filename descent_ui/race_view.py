"""Show a race: the animated chart, the claim it demonstrates, the hyperparameters it used, and its results."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

import descent_core as dc

from .race_chart import race_spec, series_of

TOLERANCE = 1e-3


def results_table(race: dc.Race) -> pd.DataFrame:
    """``Race.summary`` for readers: each drawn trajectory by its label, ranked by final loss (diverged runs last),
    since the ranking is what changes from surface to surface."""
    summary = race.summary(TOLERANCE)
    table = pd.DataFrame({"optimizer": [s.label for s in series_of(race)], "final loss": summary["final loss"]})
    if race.landscape.minima:
        column = f"steps to loss ≤ {TOLERANCE:g}"
        table[column] = [str(k) if not pd.isna(k) else "not reached" for k in summary[column]]
    table["status"] = [f"diverged at step {k}" if not pd.isna(k) else "finite" for k in summary["diverged at"]]
    order = table.assign(_diverged=table["status"] != "finite").sort_values(["_diverged", "final loss"], kind="stable")
    ranked = table.loc[order.index].reset_index(drop=True)
    ranked.insert(0, "rank", range(1, len(ranked) + 1))
    return ranked


def hparams_table(race: dc.Race) -> pd.DataFrame:
    rows = []
    for opt in race.optimizers:
        shown = {k: _plain(v) for k, v in race.hparams[opt].items() if k not in ("ns_coefficients",)}
        rows.append({"optimizer": dc.OPTIMIZERS[opt].name,
                     "hyperparameters": ", ".join(f"{k}={v}" for k, v in shown.items())})
    return pd.DataFrame(rows)


def race_settings_line(race: dc.Race) -> str:
    parts = [f"surface **{race.landscape.name}**", f"{race.steps} steps",
             f"start ({race.starts[0, 0]:.3g}, {race.starts[0, 1]:.3g})"]
    if race.noise:
        parts.append(f"gradient noise σ = {race.noise:g} (seed {race.seed})")
    if race.schedule is not None and race.schedule.kind != "constant":
        parts.append(f"schedule: {race.schedule.describe()}")
    if race.clip is not None:
        parts.append(f"clip ‖g‖ ≤ {race.clip:g}")
    return " · ".join(parts)


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_plain(v) for v in value) + ")"
    return str(value)


def payload(race: dc.Race, *, width: int, speed: float, show_loss: bool) -> dict[str, Any]:
    """Everything the view needs, as picklable data (so pages can st.cache_data it)."""
    return {
        "spec": race_spec(race, width=width, speed=speed, show_loss=show_loss),
        "results": results_table(race),
        "hparams": hparams_table(race),
        "settings": race_settings_line(race),
        "diverged": [dc.OPTIMIZERS[race.optimizers[i]].name for i, b in zip(*np.nonzero(race.diverged_at >= 0))],
    }


def show(view: dict[str, Any], *, claim: str, key: str) -> None:
    """Render a payload: claim, chart, disclosed settings and results."""
    st.caption(f"**Claim.** {claim}")
    st.vega_lite_chart(view["spec"], width="content", key=key, alt=f"Animated race. {claim}")
    if view["diverged"]:
        st.warning(f"Diverged (marked ✕ where it left): {', '.join(sorted(set(view['diverged'])))}. "
                   "Its trail stops at its last finite point.", icon=":material/warning:")
    st.caption(view["settings"])
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(view["results"], hide_index=True, width="stretch")
    with right:
        st.dataframe(view["hparams"], hide_index=True, width="stretch")


def settings_key(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True, default=str)
