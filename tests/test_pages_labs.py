"""The Labs page and the "look inside an optimizer" page, opened through the app frame with Streamlit's AppTest."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from apptest import open_page

from descent_core.labs import LABS
from descent_ui.labs import numbers_table, ordered_labs, plot_chart

LABS_PAGE = "pages/labs.py"
INSIDE_PAGE = "pages/inside.py"
TIMEOUT = 120


def badges(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "-badge[" in m.value]


@pytest.fixture(scope="module")
def labs_page():
    at = open_page(LABS_PAGE, TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    return at


def visit_every_section(at):
    """Yield the page once per section choice (the page shows one section's labs at a time)."""
    chooser = at.button_group(key="labs.section")
    for option in chooser.options:
        at.button_group(key="labs.section").set_value(option).run()
        assert not at.exception
        yield option, at


def test_labs_page_renders_every_lab_with_a_badge(labs_page):
    at = labs_page
    assert at.title[0].value == "Live labs"
    assert any(f"{len(LABS)} of {len(LABS)} claims reproduced" in b for b in badges(at))
    reproduced, charts = 0, 0
    for _, page in visit_every_section(at):
        reproduced += sum(":green-badge[" in b and "claim reproduced" in b for b in badges(page))
        for chart in page.get("vega_lite_chart"):
            assert "layer" in json.loads(chart.proto.spec)
            charts += 1
    assert reproduced == len(LABS)
    assert charts >= len(LABS)


def test_labs_page_groups_by_section(labs_page):
    sections = [section.title for section, _ in ordered_labs() if section]
    shown = [[h.value for h in page.header] for _, page in visit_every_section(labs_page)]
    assert shown == [[title] for title in sections]
    assert sum(len(ids) for _, ids in ordered_labs()) == len(LABS)


def test_a_wrong_setting_turns_the_badge_red():
    at = open_page(LABS_PAGE, TIMEOUT)
    at.slider(key="labs.lab.stability_map.edge_factor").set_value(1.0)
    at.button(key="FormSubmitter:labs.lab.stability_map.form-Run the lab").click()
    at.run()
    assert not at.exception
    assert any(":red-badge[" in b for b in badges(at))
    assert any("does not fall between" in m.value for m in at.markdown)


def test_every_plot_becomes_a_valid_chart():
    for lab in LABS.values():
        result = lab.run()
        for plot in result.plots:
            spec = plot_chart(plot, result.frames[plot.frame]).to_dict()
            assert spec["layer"], (lab.id, plot.frame)


def test_the_numbers_table_shows_labels_not_ids():
    result = LABS["stability_map"].run(grid_points=21, steps=50)
    table = numbers_table(result)
    assert list(table["quantity"]) == [result.labels[k] for k in [*result.measured, *result.expected]]
    assert "GD largest stable lr" in set(table["quantity"]) and "gd_edge" not in set(table["quantity"])
    assert list(table["kind"]) == ["measured"] * len(result.measured) + ["expected"] * len(result.expected)


def inside_surface(at: AppTest) -> dict:
    """The Inside page's surface: a still chart drawn by the race player (a custom component), sized to its column."""
    found = [json.loads(e.proto.mixed.json if e.proto.WhichOneof("data") == "mixed" else e.proto.json)
             for e in at.get("bidi_component") if e.proto.component_name == "descent.race_player"]
    assert len(found) == 1, "one surface picture"
    assert found[0]["meta"]["static"], "a still picture: no playback controls"
    return found[0]


def state_quantities(at: AppTest) -> list[str]:
    """The state table's rows (the quantity names are its index)."""
    table = at.table[0].value
    return [str(name) for name in table.index]


def test_inside_page_renders_and_switches_optimizer():
    at = open_page(INSIDE_PAGE, TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Look inside an optimizer"
    assert inside_surface(at)["surface"].startswith("data:image/png;base64,")
    assert at.get("vega_lite_chart"), "the signals chart"
    assert "gradient g" in state_quantities(at)
    for opt, expect in (("lamb", "trust ratio"), ("lars", "trust ratio"), ("shampoo", "preconditioner")):
        at.selectbox(key="inside.opt").set_value(opt).run()
        assert not at.exception, (opt, [e.value for e in at.exception])
        assert expect in " ".join(state_quantities(at)), opt
        assert inside_surface(at) and at.get("vega_lite_chart")
    at.selectbox(key="inside.landscape").set_value("saddle").run()
    at.slider(key="inside.k.100").set_value(60).run()
    assert not at.exception
    spec = inside_surface(at)["spec"]
    assert "Update 60 of 100" in json.dumps(spec.get("title", ""))
