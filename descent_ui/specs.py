"""Charts frozen once per setting: a Vega-Lite spec whose datasets are already Arrow tables.

Streamlit turns every pandas dataset of a spec into Arrow each time ``st.vega_lite_chart`` (or ``st.dataframe``)
runs, and a cached spec whose datasets are lists of rows is also slow to unpickle. ``frozen`` converts once,
inside the cached function that builds the chart, so a warm rerun unpickles Arrow buffers and hands Streamlit a
``pyarrow.Table``, one of the data types its charts and tables take, which it only copies into the message.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa


def arrow_table(frame: pd.DataFrame | list[dict] | pa.Table) -> pa.Table:
    """``frame`` as an Arrow table (its values and column order; a pandas index is not kept)."""
    if isinstance(frame, pa.Table):
        return frame
    return pa.Table.from_pandas(pd.DataFrame(frame), preserve_index=False)


def frozen(chart: alt.TopLevelMixin | dict[str, Any]) -> dict[str, Any]:
    """``chart``'s Vega-Lite spec with each named dataset converted to an Arrow table."""
    if isinstance(chart, dict):
        spec = dict(chart)
    else:
        with alt.data_transformers.disable_max_rows():  # callers' frames are bounded by what they draw
            spec = chart.to_dict()
    spec["datasets"] = {name: arrow_table(data) for name, data in spec.get("datasets", {}).items()}
    return spec
