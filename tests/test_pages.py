"""Every page renders through the real app frame (AppTest), with its title, its content and its live charts."""

import json
import pathlib

import pytest
from streamlit.testing.v1 import AppTest

import descent_core as dc
from descent_core import content
from descent_ui.links import TOOLS, page_file, title_of
from descent_ui.race_chart import is_animated

TIMEOUT = 180
APP = pathlib.Path(__file__).resolve().parents[1] / "app.py"


@pytest.fixture(scope="module")
def app():
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def visit(at: AppTest, path: str) -> AppTest:
    at.switch_page(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def specs(at: AppTest) -> list[dict]:
    """Every Vega-Lite spec on the page: plain charts, and the race players' (a custom component's data)."""
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")] + [p["spec"] for p in players(at)]


def players(at: AppTest) -> list[dict]:
    """The data of every race player on the page (``descent.race_player`` components)."""
    found = []
    for element in at.get("bidi_component"):
        proto = element.proto
        if proto.component_name == "descent.race_player":
            found.append(json.loads(proto.mixed.json if proto.WhichOneof("data") == "mixed" else proto.json))
    return found


def test_home_page(app):
    assert app.title[0].value == "Descent"
    assert any("torch.optim" in m.value for m in app.markdown)


SECTIONS = [s for s in content.sections().values() if s.id not in ("grand-race", "family")]


@pytest.mark.parametrize("section", SECTIONS, ids=[s.id for s in SECTIONS])
def test_section_page(app, section):
    at = visit(app, page_file(section))
    assert at.title[0].value == title_of(section)
    text = " ".join(m.value for m in at.markdown)
    first_paragraph = next(b.text for b in section.blocks if b.kind == "markdown")
    assert first_paragraph.splitlines()[0][:40] in text
    charts = specs(at)
    if section.figures:
        animated = [spec for spec in charts if is_animated(spec)]
        assert len(animated) >= len(set(section.figures)), "every figure is an animated race"
    if section.labs:
        assert charts, "labs draw charts"
    callouts = len(at.warning) + len(at.info) + len(at.success)
    assert callouts >= sum(b.kind == "callout" for b in section.blocks)


def test_grand_race_page(app):
    at = visit(app, "pages/14_grand_race.py")
    assert "grand race" in at.title[0].value.lower()
    animated = [spec for spec in specs(at) if is_animated(spec)]
    assert len(animated) == 1
    spec = animated[0]
    assert "hconcat" in spec, "surface and loss-vs-step (the player stacks them on narrow screens)"
    colored = [layer for layer in spec["hconcat"][0]["layer"] if "color" in layer.get("encoding", {})]
    legend_labels = colored[-1]["encoding"]["color"]["scale"]["domain"]
    assert len(legend_labels) == len(dc.OPTIMIZERS), "every optimizer races"
    assert at.query_params["landscape"] in ("beale", ["beale"])
    assert at.query_params["speed"] in ("1", ["1"]), "the playback speed is part of the share link"
    table = at.table[0].value
    assert len(table) == len(dc.OPTIMIZERS) and list(table.index) == [str(k) for k in range(1, len(table) + 1)]
    assert {"optimizer", "final loss", "diverged", "settings"} <= set(table.columns)


def test_grand_race_reads_and_validates_the_url():
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"landscape": "rosenbrock", "steps": "200", "opts": "adam,lion", "clip": "oops",
                            "schedule": "cosine"})
    at.switch_page("pages/14_grand_race.py")
    at.run()
    assert not at.exception
    assert at.session_state["grand.landscape"] == "rosenbrock"
    assert at.session_state["grand.opts"] == ["adam", "lion"]
    assert at.session_state["grand.schedule"] == "cosine"
    assert any("clip=oops" in w.value for w in at.warning)
    spec = next(s for s in specs(at) if is_animated(s))
    colored = [layer for layer in spec["hconcat"][0]["layer"] if "color" in layer.get("encoding", {})]
    assert colored[-1]["encoding"]["color"]["scale"]["domain"] == ["Adam", "Lion"]


def test_family_table_comes_from_the_registry(app):
    at = visit(app, "pages/15_family_table.py")
    frame = at.table[0].value
    assert len(frame) == len(dc.OPTIMIZERS)
    adam = frame.loc["Adam"]
    assert adam["state per parameter"] == "m, v" and str(adam["buffers"]) == "2"
    notes = " ".join(m.value for m in at.markdown)
    for spec in dc.OPTIMIZERS.values():
        assert f"**{spec.name}**:" in notes, f"the notes below the table cover {spec.name}"


@pytest.mark.parametrize("path", [t.path for t in TOOLS])
def test_tool_pages_render(app, path):
    at = visit(app, path)
    assert at.title or at.header or at.subheader


def test_figure_knob_changes_the_race(app):
    at = visit(app, "pages/03_momentum.py")
    at.slider(key="momentum.fig.momentum_vs_sgd.momentum μ").set_value(0.5).run()
    assert not at.exception
    tables = [str(table.value.values.tolist()) for table in at.table]
    assert any("momentum=0.5," in table for table in tables), "the disclosed settings show the new μ"


def test_grand_race_settings_survive_a_visit_to_another_page_and_reset():
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.switch_page("pages/14_grand_race.py")
    at.run()
    at.selectbox(key="grand.landscape").set_value("himmelblau").run()
    at.switch_page("pages/03_momentum.py")
    at.run()
    at.switch_page("pages/14_grand_race.py")
    at.run()
    assert not at.exception
    assert at.selectbox(key="grand.landscape").value == "himmelblau"
    assert at.session_state["grand.opts"] == list(dc.OPTIMIZERS)
    at.button(key="grand.reset").click().run()
    assert at.selectbox(key="grand.landscape").value == "beale"
