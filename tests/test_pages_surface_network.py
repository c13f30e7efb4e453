"""The 'Your own surface' and 'network race' pages, driven through Streamlit's AppTest."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from apptest import open_page

from descent_core.expression import EXAMPLES

SURFACE_PAGE = "pages/your_surface.py"
NETWORK_PAGE = "pages/network.py"


def surface_app() -> AppTest:
    return open_page(SURFACE_PAGE, 60)


def charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def test_surface_page_renders_a_race_on_the_default_example():
    at = surface_app()
    assert not at.exception
    assert not at.error
    assert at.text_input[0].value == EXAMPLES["Rosenbrock"].text
    assert len(charts(at)) == 1
    assert len(at.dataframe) == 2  # results and the hyperparameters used


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
    assert len(charts(at)) == 1


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
