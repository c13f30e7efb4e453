"""Every figure's caption is a claim the code checks: each figure, at its defaults, run through the same function
the page uses (``figure_view`` → ``figure_payload``), passes every check it declares; so does every surface a reader
may pick in it. The grand race's per-landscape claims hold for the default race on every landscape. And the checks
are not vacuous: turning a knob the caption warns about makes the verdicts say so."""

from __future__ import annotations

import math

import pytest

import descent_core as dc
from descent_core import claims, content
from descent_ui import figures, grand_race
from descent_ui.figures import FIGURES

CASES = [(f.id, landscape) for f in FIGURES.values() for landscape in (f.landscape_choices or (f.landscape,))]


def verdict_lines(view: dict) -> str:
    return "\n".join(f"{v['holds']}: {v['name']} — {v['text']}: {v['measured']} (claimed {v['expected']})"
                     for v in view["verdicts"])


@pytest.mark.parametrize("figure_id, landscape", CASES, ids=[f"{f}-{l}" for f, l in CASES])
def test_every_figure_claim_holds_at_its_defaults(figure_id, landscape):
    figure = FIGURES[figure_id]
    values = {"landscape": landscape} if figure.landscape_choices else {}
    view = figures.figure_view(figure_id, values)
    assert view["verdicts"], f"{figure_id} on {landscape} declares no checks"
    assert all(v["holds"] is True for v in view["verdicts"]), verdict_lines(view)
    assert view["claim_holds"] is True


def test_every_figure_placed_in_the_guide_is_defined_and_checked():
    placed = {name for s in content.sections().values() for name in s.figures} | {"home_race"}
    assert placed <= set(FIGURES), f"placed but not defined: {sorted(placed - set(FIGURES))}"


def test_a_knob_that_breaks_the_claim_is_reported_live():
    view = figures.figure_view("momentum_vs_sgd", {"momentum μ": 0.95})
    failed = [v for v in view["verdicts"] if v["holds"] is False]
    assert failed and view["claim_holds"] is False
    view = figures.figure_view("adamw_vs_adam", {"weight decay λ (both)": 0.0})
    assert view["claim_holds"] is False, "with λ = 0 the two rules coincide, so AdamW cannot end nearer the origin"


def test_ranking_and_steps_to_tolerance_agree():
    """A run with a 'settles at' step always ranks above one without; Lion circling the minimum has none."""
    race = figures.run_figure_race(figures.settings_for(FIGURES["home_race"], {}))
    standings = claims.ranking(race)
    settled = [math.isfinite(s.settled_at) for s in standings]
    assert settled == sorted(settled, reverse=True)
    lion = next(s for s in standings if s.optimizer == "lion")
    assert not math.isfinite(lion.settled_at) and lion.rank == len(standings)


def test_unbounded_surfaces_rank_by_escape():
    race = figures.run_figure_race(figures.settings_for(FIGURES["saddle_escape"], {}))
    standings = claims.ranking(race)
    escapes = [s.escaped_at for s in standings]
    assert escapes == sorted(escapes)
    assert standings[-1].optimizer == "sgd" and not math.isfinite(standings[-1].escaped_at)


@pytest.mark.parametrize("landscape", list(dc.LANDSCAPES))
def test_grand_race_claim_holds_for_the_default_race(landscape):
    claim = grand_race.claim_for(landscape)
    assert claim.checks, f"the grand race's claim on {landscape} names no checks"
    settings = grand_race.RaceSettings(landscape=landscape)
    view = grand_race.race_payload(grand_race.settings_json(settings))
    lines = "\n".join(f"{v['holds']}: {v['text']}: {v['measured']} ({v['expected']})" for v in view["verdicts"])
    assert view["claim_holds"] is True, lines
