"""The whole family on one page: a sortable table built from the registry, so it cannot drift from the code."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import descent_core as dc
from descent_core import content



def family_frame() -> pd.DataFrame:
    notes = content.family_notes()
    rows = []
    for opt, spec in dc.OPTIMIZERS.items():
        idea, when = notes.get(opt, ("", ""))
        slots = spec.state_slots
        rows.append({
            "optimizer": spec.name, "family": spec.family, "core idea": idea,
            "state per parameter": ", ".join(slots) if slots else "none",
            "buffers": len(slots), "use it when": when,
            "torch": f"torch.optim.{spec.torch_class}" if spec.torch_class else "not in torch (paper rule)",
            "source": spec.reference,
        })
    return pd.DataFrame(rows)


def render_family_table() -> None:
    section = content.section("family")
    st.title(section.title)
    st.caption(section.summary)
    intro = section.body.split("## When to use each")[0]
    st.markdown(intro)
    st.dataframe(family_frame(), hide_index=True, width="stretch", height=680,
                 column_config={"buffers": st.column_config.NumberColumn(help="Buffers kept per parameter")})
    st.caption("State columns are read from `descent_core.OPTIMIZERS[...].state_slots`: the buffers the stepper "
               "actually keeps. Click a column header to sort.")
