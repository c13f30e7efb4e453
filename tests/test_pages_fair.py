"""Fair mode on the grand race and on "Your own surface", and every registry optimizer on the pages that list,
inspect or race them all (the inspector, the family table, the network race), through app.py with AppTest."""

from __future__ import annotations

import json

import pytest

from apptest import open_page

import descent_core as dc
from descent_core import content, inside
from descent_ui import fair_view
from descent_ui.your_surface import DEFAULT_OPTIMIZERS, FAIR

TIMEOUT = 300
NAMES = [spec.name for spec in dc.OPTIMIZERS.values()]


def players(at) -> list[dict]:
    return [json.loads(e.proto.mixed.json if e.proto.WhichOneof("data") == "mixed" else e.proto.json)
            for e in at.get("bidi_component") if e.proto.component_name == "descent.race_player"]


def raced(at) -> list[str]:
    """The optimizers the page's one race player draws, by name (the colour legend's domain)."""
    (player,) = players(at)
    colored = [layer for layer in player["spec"]["hconcat"][0]["layer"] if "color" in layer.get("encoding", {})]
    return colored[-1]["encoding"]["color"]["scale"]["domain"]


def tuning_table(at):
    found = [frame.value for frame in at.dataframe if "tuned lr" in frame.value.columns]
    assert len(found) == 1, "one table of tuned rates"
    return found[0]


def budget(at) -> str:
    texts = [m.value for m in at.markdown if m.value.startswith("**Budget:**")]
    assert len(texts) == 1, "the budget is said once"
    return texts[0]


def lr_of(settings: str) -> str:
    return next(part.split("=", 1)[1] for part in settings.split(", ") if part.startswith("lr="))


# --------------------------------------------------------------------------------------------------------------
# Fair mode.


def test_grand_race_fair_mode_tunes_every_optimizer_and_says_so():
    at = open_page("pages/14_grand_race.py", TIMEOUT)
    assert not at.exception
    assert not [f for f in at.dataframe if "tuned lr" in f.value.columns], "off by default"
    at.toggle(key="grand.fair").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert raced(at) == NAMES, "every optimizer races"
    table = tuning_table(at)
    assert list(table["optimizer"]) == NAMES
    text = budget(at)
    assert f"{len(NAMES)} optimizers" in text and f"same {fair_view.POINTS} learning rates" in text
    assert f"{len(NAMES) * fair_view.POINTS:,} runs" in text and "diverge" in text
    assert any(fair_view.CLAIM in m.value for m in at.markdown)
    # The race ran at the rates the table says won.
    results = at.table[0].value.set_index("optimizer")
    tuned = table.set_index("optimizer")["tuned lr"]
    for name in ("Adam", "Lion", "Muon", "Prodigy"):
        if not tuned[name].startswith("none"):
            assert float(lr_of(results.loc[name, "settings"])) == pytest.approx(float(tuned[name]), rel=5e-3)  # shown to 3 and 4 digits
    at.toggle(key="grand.fair").set_value(False).run()
    assert not at.exception and not [f for f in at.dataframe if "tuned lr" in f.value.columns]


def test_surface_page_races_at_fairly_tuned_rates_or_at_defaults():
    at = open_page("pages/your_surface.py", TIMEOUT)
    assert not at.exception
    assert at.radio(key="surface.rates").value == FAIR, "fair by default"
    names = [dc.OPTIMIZERS[o].name for o in DEFAULT_OPTIMIZERS]
    assert sorted(raced(at)) == sorted(names)
    table = tuning_table(at)
    assert sorted(table["optimizer"]) == sorted(names)
    assert f"{len(names)} optimizers" in budget(at)
    results = at.table[0].value.set_index("optimizer")
    for name, rate in table.set_index("optimizer")["tuned lr"].items():
        if not rate.startswith("none"):
            assert float(lr_of(results.loc[name, "settings"])) == pytest.approx(float(rate), rel=5e-3)  # shown to 3 and 4 digits
    at.radio(key="surface.rates").set_value("defaults").run()
    assert not at.exception
    assert not [f for f in at.dataframe if "tuned lr" in f.value.columns]
    assert not [m for m in at.markdown if m.value.startswith("**Budget:**")]


# --------------------------------------------------------------------------------------------------------------
# Every registry optimizer where the app promises all of them.


def test_every_registry_optimizer_opens_in_the_inspector_and_shows_its_state():
    at = open_page("pages/inside.py", TIMEOUT)
    assert not at.exception
    assert at.selectbox(key="inside.opt").options == NAMES, "the inspector offers every optimizer"
    for opt, spec in dc.OPTIMIZERS.items():
        recorded = dc.race("ravine", [opt], steps=2, record_state=True).states.get(opt, {})
        at.selectbox(key="inside.opt").set_value(opt).run()
        assert not at.exception, (opt, [e.value for e in at.exception])
        assert not at.error, (opt, [e.value for e in at.error])
        rows = " ".join(str(name) for name in at.table[0].value.index)
        assert "gradient g" in rows and "update made Δθ" in rows, opt
        for slot in recorded:
            shown = ("trust ratio",) if slot == "trust_ratio" else (f"{slot}: ", f"{slot} row 1: ")
            assert any(s in rows for s in shown), (opt, slot, rows)
            assert "state" != inside.slot_meaning(slot), f"{slot} has no meaning in content/inside.yaml"
        assert at.get("vega_lite_chart"), opt
        explain = content.inside_notes()["explain"].get(opt)
        assert explain and any(m.value == explain for m in at.markdown), f"{opt}: content/inside.yaml explains nothing"


def test_ademamix_inspector_has_three_betas():
    at = open_page("pages/inside.py", TIMEOUT)
    at.selectbox(key="inside.opt").set_value("ademamix").run()
    assert not at.exception
    labels = {s.label for s in at.slider}
    assert {"β1", "β2", "β3"} <= labels
    prefix = "inside.ademamix.ravine"
    at.slider(key=f"{prefix}.b3").set_value(0.999).run()
    assert not at.exception
    (settings,) = [c.value for c in at.caption if "betas=" in c.value]
    assert "betas=(0.9, 0.999, 0.999)" in settings


def test_family_table_lists_every_registry_optimizer():
    at = open_page("pages/15_family_table.py", TIMEOUT)
    assert not at.exception
    assert list(at.table[0].value.index) == NAMES, "one row per registry optimizer, in registry order"


def test_network_race_offers_every_registry_optimizer_by_default():
    """The network race starts with every optimizer picked (its engine test, tests/test_network.py, races them all)."""
    at = open_page("pages/network.py", TIMEOUT)
    assert not at.exception
    picker = at.multiselect(key="network.optimizers")
    assert list(picker.options) == NAMES and list(picker.value) == list(dc.OPTIMIZERS)
