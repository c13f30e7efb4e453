"""Charts frozen once per setting: a Vega-Lite spec whose datasets are already the Arrow bytes Streamlit sends.

Streamlit turns every dataset of a spec into Arrow IPC bytes each time ``st.vega_lite_chart`` runs, and a cached
spec whose datasets are lists of rows is also slow to unpickle. ``frozen`` does both once, inside the cached
function that builds the chart, so a warm rerun hands Streamlit bytes it passes through untouched.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
from streamlit import dataframe_util


def arrow_bytes(frame: pd.DataFrame | list[dict]) -> bytes:
    """The bytes Streamlit itself would make of ``frame`` (its own serializer, so the browser reads the same)."""
    return dataframe_util.convert_anything_to_arrow_bytes(frame)


def frozen(chart: alt.TopLevelMixin | dict) -> dict:
    """``chart``'s Vega-Lite spec with each named dataset serialized to Arrow bytes."""
    if isinstance(chart, dict):
        spec = dict(chart)
    else:
        with alt.data_transformers.disable_max_rows():  # callers' frames are bounded by what they draw
            spec = chart.to_dict()
    spec["datasets"] = {name: data if isinstance(data, bytes) else arrow_bytes(pd.DataFrame(data))
                        for name, data in spec.get("datasets", {}).items()}
    return spec
