"""The whole family on one page: a table built from the registry, so it cannot drift from the code, and under it
the notes of content/15-family-table.md (each optimizer's core idea and when to use it), grouped by family.

The table is a static one (``st.table``): every row and every column is shown and long cells wrap instead of
being cut off; a "Sort by" choice replaces clicking the headers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import descent_core as dc
from descent_core import content, memory

from .links import title_of

SORTS = {"the guide's order": None, "name": "optimizer", "family": "family", "buffers kept": "buffers",
         "state memory": "state bytes / weight"}
MEMORY_SHAPE = (4096, 4096)  # one square weight matrix in float32: the shape the scale section prices


@st.cache_data(max_entries=1, show_spinner=False)
def state_bytes() -> dict[str, float]:
    """Bytes of optimizer state per weight of a 4096 x 4096 float32 matrix, counted on the stepper's real state."""
    return {row["optimizer"]: row["bytes_per_parameter"] for row in memory.memory_table(MEMORY_SHAPE)}


def family_frame() -> pd.DataFrame:
    rows, bytes_per_weight = [], state_bytes()
    for opt, spec in dc.OPTIMIZERS.items():
        slots = spec.state_slots
        rows.append({
            "optimizer": spec.name, "family": spec.family,
            "state per parameter": ", ".join(slots) if slots else "none",
            "buffers": len(slots),
            "state bytes / weight": f"{bytes_per_weight[opt]:.3g}",  # 8, 12, 0.00293: no padded decimals
            "torch": f"torch.optim.{spec.torch_class}" if spec.torch_class else "not in torch (paper rule)",
            "source": spec.reference,
        })
    return pd.DataFrame(rows)


def notes_markdown() -> str:
    """The section's notes, by family, each optimizer under its registry name."""
    notes = content.family_notes()
    lines = []
    for family in dict.fromkeys(spec.family for spec in dc.OPTIMIZERS.values()):
        lines.append(f"\n**{family}**\n")
        for opt, spec in dc.OPTIMIZERS.items():
            if spec.family != family or opt not in notes:
                continue
            idea, when = notes[opt]
            lines.append(f"- **{spec.name}**: {idea}. *Use it when* {when}.")
    return "\n".join(lines)


def render_family_table() -> None:
    section = content.section("family")
    st.title(title_of(section))
    st.caption(section.summary)
    intro = section.body.split("## When to use each")[0]
    st.markdown(intro)
    order = st.selectbox("Sort by", list(SORTS), key="family.sort")
    frame = family_frame()
    column = SORTS[order]
    if column:
        key = (lambda values: values.astype(float)) if column == "state bytes / weight" else None
        frame = frame.sort_values(column, kind="stable", ascending=column not in ("buffers", "state bytes / weight"),
                                  key=key)
    st.table(frame.set_index("optimizer"))
    st.caption("State columns are read from `descent_core.OPTIMIZERS[...].state_slots`: the buffers the stepper "
               "actually keeps; bytes per weight are counted on that state for one 4096 x 4096 float32 matrix "
               "(`descent_core.memory`; the Training at scale section explains the bill).")
    st.subheader("When to use each")
    st.markdown(notes_markdown())
