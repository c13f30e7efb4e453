"""Live labs on screen: a lab's knobs, its charts, and a pass/fail badge computed from the run just made.

``render_lab`` draws one lab where a section says ``{{lab:<id>}}``; ``render_labs_page`` collects all of them,
grouped by the section that makes each claim. The experiments live in ``descent_core.labs``; this module only
turns their parameter specs into widgets and their ``Plot`` descriptions into Altair charts.
"""

from __future__ import annotations

import json
import math
import textwrap

import altair as alt
import pandas as pd
import pyarrow as pa
import streamlit as st

import descent_core as dc
from descent_core import content
from descent_core.labs import LABS, Choice, LabResult, Param, Plot, get_lab

from .links import target
from .specs import arrow_table, frozen
from .theme import color_of

# Distinct colours for series that are not optimizers (theory curves, configurations).
FALLBACK_COLORS = ["#1c7ed6", "#e8590c", "#2b8a3e", "#862e9c", "#495057", "#c2255c", "#0b7285", "#e67700"]
CHART_HEIGHT = 220  # the plotting area


@st.cache_data(max_entries=96, show_spinner=False)
def lab_result(lab_id: str, params_json: str) -> LabResult:
    """Run a lab (cached on its id and its canonical parameter JSON)."""
    return get_lab(lab_id).run(**json.loads(params_json))


# --------------------------------------------------------------------------------------------------------------
# Widgets from the parameter spec.


def _widget(spec: Param | Choice, key: str):
    if isinstance(spec, Choice):
        label_of = (lambda o: dc.OPTIMIZERS[o].name) if set(spec.options) <= set(dc.OPTIMIZERS) else str
        if spec.multi:
            return st.multiselect(spec.label, spec.options, default=list(spec.default), key=key,
                                  format_func=label_of, help=spec.help or None)
        return st.selectbox(spec.label, spec.options, index=spec.options.index(spec.default), key=key,
                            format_func=label_of, help=spec.help or None)
    if spec.log:
        return st.select_slider(spec.label, options=spec.options(), value=spec.default, key=key,
                                format_func=lambda v: f"{v:g}", help=spec.help or None)
    if spec.integer:
        return st.slider(spec.label, int(spec.min), int(spec.max), int(spec.default), step=int(spec.step or 1),
                         key=key, help=spec.help or None)
    value = st.slider(spec.label, float(spec.min), float(spec.max), float(spec.default),
                      step=float(spec.step) if spec.step else None, key=key, help=spec.help or None,
                      format=_slider_format(spec))
    return float(f"{value:.10g}")  # slider arithmetic leaves float dust (0.9990000000000001)


def _slider_format(spec: Param) -> str:
    step = spec.step or 0.01
    decimals = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    return f"%.{decimals}f"


def _parameter_form(lab, key: str) -> dict:
    """The lab's knobs in a form: nothing reruns until "Run" is pressed."""
    values = {}
    with st.form(key=f"{key}.form", border=False):
        columns = st.columns(3 if len(lab.params) > 4 else 2)
        for i, spec in enumerate(lab.params):
            with columns[i % len(columns)]:
                values[spec.name] = _widget(spec, f"{key}.{spec.name}")
        st.form_submit_button("Run the lab", icon=":material/science:")
    return values


# --------------------------------------------------------------------------------------------------------------
# Charts from Plot descriptions.


def plot_chart(plot: Plot, frame: pd.DataFrame) -> alt.LayerChart:
    """One Altair chart for one ``Plot``: columns are renamed to plain names so titles may hold any symbol."""
    data = pd.DataFrame({"x": frame[plot.x], "y": frame[plot.y]})
    if plot.color:
        data["series"] = frame[plot.color]
    if plot.dash:
        data["kind"] = frame[plot.dash]
    bar = plot.mark == "bar"
    categorical = not pd.api.types.is_numeric_dtype(data["x"])  # bars, or points per category
    numeric = ["y"] if categorical else ["x", "y"]
    data = data[data[numeric].apply(lambda c: pd.to_numeric(c, errors="coerce")).notna().all(axis=1)]
    for axis in numeric:
        data[axis] = data[axis].astype(float)
        data = data[data[axis].map(math.isfinite)]
        if getattr(plot, f"{axis}_log"):
            data = data[data[axis] > 0]

    x = (alt.X("x:N", title=plot.x_title or plot.x, sort=None, axis=alt.Axis(labelAngle=0, labelLimit=160))
         if categorical else
         alt.X("x:Q", title=plot.x_title or plot.x, scale=alt.Scale(type="log") if plot.x_log else alt.Undefined))
    y = alt.Y("y:Q", title=plot.y_title or plot.y,
              scale=alt.Scale(type="log") if plot.y_log else alt.Undefined)
    encoding = {"x": x, "y": y, "tooltip": [alt.Tooltip("x:N", title=plot.x) if categorical else
                                            alt.Tooltip("x:Q", title=plot.x, format=".4g"),
                                            alt.Tooltip("y:Q", title=plot.y, format=".4g")]}
    if plot.color:
        encoding["color"] = _color(plot, data["series"])
        encoding["tooltip"].insert(0, alt.Tooltip("series:N", title=plot.color))
        if categorical and plot.color != plot.x:
            encoding["xOffset"] = "series:N"
    if plot.dash:
        encoding["strokeDash"] = alt.StrokeDash("kind:N", title=None, legend=None,
                                                scale=alt.Scale(domain=["measured", "theory"], range=[[1, 0], [6, 4]]))
    base = alt.Chart(data)
    if bar:
        layers = [base.mark_bar().encode(**encoding)]
    elif categorical:
        layers = [base.mark_point(filled=True, size=140, opacity=1).encode(**encoding)]
    else:
        layers = [base.mark_line(strokeWidth=2, clip=True).encode(**encoding)]
        if plot.mark in ("point", "line_point"):
            point = base.mark_point(filled=True, size=36, clip=True)
            if plot.dash:
                point = point.transform_filter("datum.kind != 'theory'")
            layers.append(point.encode(**{k: v for k, v in encoding.items() if k != "strokeDash"}))
            if plot.mark == "point":
                layers = layers[1:]
    layers += _reference_layers(plot, data)
    title = textwrap.wrap(plot.title + (" (dashed: theory)" if plot.dash else ""), 42)
    # fit-x: the width follows the column, the height is the plotting area (title and legend come on top of it).
    return alt.layer(*layers).properties(title=alt.Title(title, anchor="start"), height=CHART_HEIGHT,
                                         autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def _color(plot: Plot, series: pd.Series) -> alt.Color:
    names = list(dict.fromkeys(series.tolist()))
    mapping = dict(plot.colors)
    fallback = iter(c for c in FALLBACK_COLORS if c not in {color_of(o) for o in mapping.values()})
    palette = [color_of(mapping[n]) if n in mapping else next(fallback, "#212529") for n in names]
    columns = 1 if max((len(str(n)) for n in names), default=0) > 18 else 2
    return alt.Color("series:N", title=None, scale=alt.Scale(domain=names, range=palette),
                     legend=alt.Legend(orient="bottom", columns=columns, labelLimit=360))


def _reference_layers(plot: Plot, data: pd.DataFrame) -> list[alt.Chart]:
    layers = []
    for i, ref in enumerate(plot.refs):
        if (ref.axis == "x" and plot.x_log or ref.axis == "y" and plot.y_log) and ref.value <= 0:
            continue
        rule_data = pd.DataFrame({"value": [ref.value], "label": [ref.label]})
        channel = "x" if ref.axis == "x" else "y"
        position = alt.X("value:Q") if channel == "x" else alt.Y("value:Q")
        rule = alt.Chart(rule_data).mark_rule(color="#868e96", strokeDash=[4, 3], strokeWidth=1.5).encode(
            **{channel: position, "tooltip": ["label:N", alt.Tooltip("value:Q", format=".4g")]})
        text = alt.Chart(rule_data).mark_text(align="left", dx=4, dy=-4 if channel == "y" else 0, baseline="bottom",
                                              color="#495057", fontSize=11).encode(
            **{channel: position, "text": "label:N"},
            **({"y": alt.value(12 + 13 * i)} if channel == "x" else {"x": alt.value(4 + 70 * i)}))
        layers += [rule, text]
    return layers


# --------------------------------------------------------------------------------------------------------------
# Results.


def _badge(passed: bool, verdict: str) -> None:
    if passed:
        st.badge("claim reproduced", icon=":material/check_circle:", color="green")
    else:
        st.badge("claim not reproduced with these settings", icon=":material/cancel:", color="red")
    st.markdown(verdict)


def numbers_table(result: LabResult) -> pd.DataFrame:
    """Measured, then expected numbers, each under its display label (the ids stay in the code and the tests)."""
    rows = [{"quantity": result.labels[k], "kind": kind, "value": _show(v)}
            for kind, numbers in (("measured", result.measured), ("expected", result.expected))
            for k, v in numbers.items()]
    return pd.DataFrame(rows, columns=["quantity", "kind", "value"])


def _show_param(value) -> str:
    if isinstance(value, tuple):
        return ", ".join(dc.OPTIMIZERS[v].name if v in dc.OPTIMIZERS else v for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _show(value) -> str:
    if isinstance(value, float):
        return "never" if value == math.inf else f"{value:.6g}"
    if isinstance(value, tuple):
        return ", ".join(_show(v) for v in value)
    return str(value)


@st.cache_data(max_entries=96, show_spinner=False)
def lab_view(lab_id: str, params_json: str) -> dict:
    """Everything a lab shows for one setting, built once: its verdict and captions, its charts frozen to Arrow
    bytes, and its three tables as Arrow bytes. A warm rerun of a page with labs unpickles bytes and builds no
    chart and no table (this was most of such a rerun)."""
    lab, result = get_lab(lab_id), lab_result(lab_id, params_json)
    params = pd.DataFrame([{"parameter": lab.spec(k).label, "value": _show(v)} for k, v in result.params.items()])
    settings = pd.DataFrame([{"setting": k, "value": _show(v)} for k, v in result.settings.items()])
    return {
        "passed": result.passed, "verdict": result.verdict,
        "ran_with": " · ".join(f"{lab.spec(k).label} = {_show_param(v)}" for k, v in result.params.items()),
        "charts": [(plot.frame, frozen(plot_chart(plot, result.frames[plot.frame]))) for plot in result.plots],
        "numbers": arrow_table(numbers_table(result)), "params": arrow_table(params),
        "settings": arrow_table(settings),
        "footer": f"Experiment `{lab.experiment.__module__}.{lab.experiment.__name__}` · ran in "
                  f"{result.runtime_s * 1000:.0f} ms (cached per setting).",
    }


def _table(data: pa.Table) -> None:
    st.dataframe(data, hide_index=True, width="stretch")


def _details(view: dict) -> None:
    with st.expander("Numbers, parameters and the full setup"):
        left, right = st.columns(2)
        with left:
            st.markdown("**Measured and expected**")
            _table(view["numbers"])
        with right:
            st.markdown("**Parameters used**")
            _table(view["params"])
            st.markdown("**Fixed settings**")
            _table(view["settings"])
        st.caption(view["footer"])


def _charts(view: dict, key: str) -> None:
    charts = view["charts"]
    for start in range(0, len(charts), 2):
        row = charts[start:start + 2]
        columns = st.columns(len(row))
        for column, (frame, spec) in zip(columns, row):
            with column:
                st.vega_lite_chart(spec, width="stretch", key=f"{key}.chart.{frame}")


def render_lab(lab_id: str, key_prefix: str = "") -> None:
    """One lab: title, claim, knobs (in a form), the pass/fail badge with its verdict, charts, and the numbers."""
    lab = LABS.get(lab_id)
    if lab is None:
        st.error(f"Lab {lab_id!r} is not defined.")
        return
    key = f"{key_prefix}lab.{lab.id}"
    with st.container(border=True):
        st.markdown(f"##### :material/science: Lab: {lab.title}")
        st.caption(f"**Claim.** {lab.claim}")
        values = _parameter_form(lab, key)
        try:
            params_json = lab.key(values)
        except ValueError as error:
            st.error(f"This setting cannot run: {error}")
            return
        with st.spinner("Running the experiment…"):
            view = lab_view(lab.id, params_json)
        _badge(view["passed"], view["verdict"])
        st.caption("Ran with " + view["ran_with"])
        _charts(view, key)
        _details(view)


# --------------------------------------------------------------------------------------------------------------
# The Labs page.


def ordered_labs() -> list[tuple[content.Section | None, list[str]]]:
    """Labs grouped by the section that makes each claim, in guide order (placement order within a section)."""
    groups = []
    placed = set()
    for section in content.sections().values():
        ids = [i for i in section.labs if i in LABS]
        ids += [lab.id for lab in LABS.values() if lab.section == section.id and lab.id not in ids]
        if ids:
            groups.append((section, list(dict.fromkeys(ids))))
            placed.update(ids)
    rest = [i for i in LABS if i not in placed]
    if rest:
        groups.append((None, rest))
    return groups


@st.cache_data(max_entries=1, show_spinner=False)
def scoreboard() -> pd.DataFrame:
    """Every lab with its default settings: section, pass/fail and the measured verdict (built once: it depends
    on nothing a reader sets)."""
    rows = []
    for section, ids in ordered_labs():
        for lab_id in ids:
            lab = LABS[lab_id]
            result = lab_result(lab_id, lab.key())
            rows.append({"result": "pass" if result.passed else "fail", "lab": lab.title,
                         "section": section.title.split(":")[0] if section else lab.section,
                         "verdict (default settings)": result.verdict,
                         "ms": round(result.runtime_s * 1000)})
    return pd.DataFrame(rows)


def _section_link(section: content.Section) -> None:
    # Every page is registered: this page always runs inside app.py's frame (navigation.inside_app_frame).
    st.page_link(target(section), label=f"Read the section: {section.title}", icon=":material/menu_book:")


def render_labs_page() -> None:
    st.title("Live labs")
    st.markdown(
        "Every number the guide quotes is re-measured here by a small experiment. Each lab states its claim, runs "
        "with the settings you choose, and gets its badge from the same comparison the test suite asserts: green "
        "when the measurement agrees with the formula, red when it does not. Several labs can be pushed into "
        "failing on purpose; the verdict then says which assumption broke.")
    with st.spinner("Running every lab with its default settings…"):
        board = scoreboard()
    passed = int((board["result"] == "pass").sum())
    st.badge(f"{passed} of {len(board)} claims reproduced with default settings",
             icon=":material/verified:", color="green" if passed == len(board) else "orange")
    st.dataframe(board, hide_index=True, width="stretch",
                 column_config={"verdict (default settings)": st.column_config.TextColumn(width="large")})
    # One section's labs at a time: each lab draws widgets and charts, and all thirteen at once made every rerun
    # of this page slow.
    groups = ordered_labs()
    titles = [section.title.split(":")[0] if section else "Other labs" for section, _ in groups]
    chosen = st.segmented_control("Show the labs of", titles, default=titles[0], key="labs.section")
    for (section, ids), title in zip(groups, titles):
        if title != chosen:
            continue
        st.header(section.title if section else "Other labs")
        if section:
            _section_link(section)
        for lab_id in ids:
            render_lab(lab_id, key_prefix="labs.")
