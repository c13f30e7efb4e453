"""The 'Your own surface' and 'network race' pages, driven through Streamlit's AppTest."""

from __future__ import annotations

import json
import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from apptest import open_page

import descent_core as dc
from descent_core.expression import EXAMPLES
from descent_ui.your_surface import DEFAULT_OPTIMIZERS

SURFACE_PAGE = "pages/your_surface.py"
NETWORK_PAGE = "pages/network.py"


def surface_app() -> AppTest:
    return open_page(SURFACE_PAGE, 60)


def charts(at: AppTest) -> list:
    """Every chart on the page: plain Vega-Lite charts and the race players (a custom component)."""
    return list(at.get("vega_lite_chart")) + races(at)


def races(at: AppTest) -> list[dict]:
    """The data of every race player on the page (``descent.race_player`` components)."""
    found = []
    for element in at.get("bidi_component"):
        proto = element.proto
        if proto.component_name == "descent.race_player":
            found.append(json.loads(proto.mixed.json if proto.WhichOneof("data") == "mixed" else proto.json))
    return found


def assert_one_race(at: AppTest, optimizers: list[str]) -> None:
    """One animated race of ``optimizers`` with its loss panel, and one ranked results table of them."""
    from descent_ui.race_chart import is_animated

    drawn = races(at)
    assert len(drawn) == 1 and not list(at.get("vega_lite_chart"))
    spec = drawn[0]["spec"]
    assert is_animated(spec) and "hconcat" in spec, "surface and loss against step, played in the browser"
    colored = [layer for layer in spec["hconcat"][0]["layer"] if "color" in layer.get("encoding", {})]
    names = [dc.OPTIMIZERS[o].name for o in optimizers]
    assert colored[-1]["encoding"]["color"]["scale"]["domain"] == names
    assert len(at.table) == 1, "one results table per race"
    table = at.table[0].value
    assert sorted(table["optimizer"]) == sorted(names)
    assert {"optimizer", "final loss", "diverged", "settings"} <= set(table.columns)
    assert list(table.index) == [str(k) for k in range(1, len(names) + 1)], "ranked 1..n"


def test_surface_page_renders_a_race_on_the_default_example():
    at = surface_app()
    assert not at.exception
    assert not at.error
    assert at.text_input[0].value == EXAMPLES["Rosenbrock"].text
    assert_one_race(at, DEFAULT_OPTIMIZERS)


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("__import__('os')", "unknown function"),
        ("x.__class__", "attributes and methods"),
        ("open('f')", "unknown function"),
        ("x if y else 1", "unexpected name"),
        ("lambda: 1", "unknown name"),
        ("9**9**9", "constant exponents"),
        ("max(x)", "max takes 2 arguments"),
        ("x \u00d7 y", "write"),
        ("", "empty"),
        ("(" * 30 + "x" + ")" * 30, "nested"),
    ],
)
def test_surface_page_shows_hostile_input_as_an_error_with_a_caret(text, phrase):
    at = surface_app()
    at.text_input[0].input(text).run()
    assert not at.exception
    assert len(at.error) == 1
    shown = at.error[0].value.replace("\\", "")  # the page escapes Markdown
    assert phrase in shown
    assert not charts(at)
    assert at.selectbox[0].value == "(your own)"  # an edited formula is no longer the named example
    if text.strip():
        assert at.code and at.code[0].value.splitlines()[-1].strip() == "^"


def drawn_start(data: dict) -> tuple[float, float]:
    start_layer = next(layer for layer in data["spec"]["hconcat"][0]["layer"]
                       if layer.get("mark", {}).get("size") == 150)
    point = start_layer["data"]["values"][0]
    return point["x"], point["y"]


def test_surface_page_refuses_a_long_input_without_crashing():
    at = surface_app()
    at.text_input[0].input("x+" * 5000 + "y").run()
    assert not at.exception
    assert at.error or len(charts(at)) == 1  # the widget may cut the text at its max_chars; either way no crash


@pytest.mark.parametrize(
    "field, value, phrase",
    [("x0", 5.0, "bounds"), ("sx", 10.0, "outside the region")],
)
def test_surface_page_checks_region_and_start(field, value, phrase):
    at = surface_app()
    labels = {"x0": "x min", "sx": "start x"}
    next(w for w in at.number_input if w.label == labels[field]).set_value(value).run()
    assert not at.exception
    assert phrase in at.error[0].value.replace("\\", "")


def test_surface_page_refuses_a_constant_surface():
    at = surface_app()
    at.text_input[0].input("x - x + 2").run()
    assert not at.exception
    assert "constant" in at.error[0].value


def test_surface_page_loads_an_example_and_races_it():
    at = surface_app()
    at.selectbox[0].select("Egg crate").run()
    assert not at.exception
    assert at.text_input[0].value == EXAMPLES["Egg crate"].text
    assert next(w for w in at.number_input if w.label == "start x").value == EXAMPLES["Egg crate"].start[0]
    assert_one_race(at, DEFAULT_OPTIMIZERS)
    start = drawn_start(races(at)[0])
    assert start == pytest.approx(EXAMPLES["Egg crate"].start, abs=1e-6), "the race starts where the example says"


def test_network_page_renders_and_runs_a_small_race():
    at = open_page(NETWORK_PAGE, 60)
    assert not at.exception
    assert at.info and len(at.dataframe) == 1  # the learning-rate table is shown before any run
    at.multiselect[0].set_value(["sgd", "adam", "muon"])
    at.slider[0].set_value(100)
    at.button[0].click().run()
    assert not at.exception
    assert len(charts(at)) == 1  # the loss curves
    assert len(at.dataframe) == 1  # results and learning rates
    assert any("Compared with the 2-D races" in m.value for m in at.markdown)
    assert any("3 optimizers × 100 steps" in m.value for m in at.markdown)
