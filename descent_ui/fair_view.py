"""Fair mode on screen: before a race, every optimizer's learning rate is tuned by the same sweep
(``descent_core.fair.tune_fairly``: one batched race, the same number of rates per optimizer, final loss decides,
diverged runs excluded), then the race runs every optimizer at its winner. The page says the budget, the objective
and each winning rate, and marks a winner at the edge of its grid (there the grid, not the optimizer, decided).

The grand race and "Your own surface" both use it; their payloads (cached there) carry ``tuning_rows`` and
``tuning_budget`` next to the race view.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

import descent_core as dc
from descent_core.fair import FairTuning, tune_fairly

from . import race_view
from .state import RACE_DEVICE

POINTS = 16  # learning rates per optimizer: the budget every optimizer gets
CLAIM = ("Fair mode: every optimizer races at the learning rate that won the same sweep on this surface (the budget "
         "and each winner are below), so the order compares update rules, not step sizes someone picked.")


def budget_text(tuning: FairTuning) -> str:
    return (f"**Budget:** each of the {len(tuning.optimizers)} optimizers tried the same {tuning.points} learning "
            f"rates, a log grid over its own range, for {tuning.steps} steps: {tuning.runs:,} runs in one batched "
            f"race. **Objective:** {tuning.objective}.")


def tuning_rows(tuning: FairTuning) -> pd.DataFrame:
    """One row per optimizer: the rate that won, the grid it came from, and how many tries diverged."""
    rows = []
    for opt in tuning.optimizers:
        grid, losses, best = tuning.grids[opt], tuning.final_losses[opt], tuning.best[opt]
        rows.append({
            "optimizer": dc.OPTIMIZERS[opt].name,
            "tuned lr": f"{best:.3g}" if best is not None else f"none (all diverged; raced at {grid[0]:.3g})",
            "grid": f"{grid[0]:.3g} … {grid[-1]:.3g}",
            "at the grid's edge": "yes" if tuning.at_edge[opt] else "no",
            "tries diverged": f"{int(pd.isna(losses).sum())} of {len(grid)}",
        })
    return pd.DataFrame(rows)


def tuned_payload(landscape, optimizers: list[str], steps: int, *, race_landscape=None, checks=(), **race_args) -> dict:
    """Tune every optimizer fairly on ``landscape``, race them at their winners, return the race view's payload with
    the tuning's disclosure. ``race_args`` (start, noise, seed, schedule, clip) apply to the sweep and the race."""
    start = race_args.pop("start", None)
    tuning = tune_fairly(landscape, optimizers, steps=steps, points=POINTS, start=start, device=RACE_DEVICE,
                         **race_args)
    race = dc.race(race_landscape if race_landscape is not None else landscape, list(optimizers), steps=steps,
                   starts=[list(start)] if start is not None else None, hparams=tuning.hparams, device=RACE_DEVICE,
                   **race_args)
    return {**race_view.payload(race, show_loss=True, checks=checks), "tuning_budget": budget_text(tuning),
            "tuning_rows": tuning_rows(tuning)}


@st.cache_data(max_entries=32, show_spinner="Tuning every optimizer fairly, then racing…")
def grand_race_payload(settings_text: str) -> dict:
    """The grand race in fair mode for these settings (the grand race's settings JSON)."""
    s = json.loads(settings_text)
    return tuned_payload(s["landscape"], s["optimizers"], s["steps"], start=s.get("start"), noise=s["noise"],
                         seed=s["seed"], schedule=dc.schedules.offered(s["schedule"], s["steps"]), clip=s["clip"])


def show_tuning(view: dict) -> None:
    """The disclosure under a fair race: budget, objective, every optimizer's winning rate."""
    st.markdown(view["tuning_budget"])
    st.dataframe(view["tuning_rows"], hide_index=True, width="stretch")
    if (view["tuning_rows"]["at the grid's edge"] == "yes").any():
        st.caption("A winner at the grid's edge means a better rate may lie outside it: there the grid decided.")
