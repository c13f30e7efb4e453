"""UI logic that needs no browser: URL parsing, chart specs (animation, payload, colours), figure settings."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
import pytest

import descent_core as dc
from descent_ui.figures import FIGURES, settings_for
from descent_ui.grand_race import RaceSettings, parse_query
from descent_ui.race_chart import MAX_ROWS, is_animated, player_data, series_of
from descent_ui.theme import OPTIMIZER_COLORS, series_styles, style_of


def test_every_optimizer_has_its_own_colour():
    assert set(OPTIMIZER_COLORS) == set(dc.OPTIMIZERS)
    assert len(set(OPTIMIZER_COLORS.values())) == len(OPTIMIZER_COLORS)


@pytest.mark.parametrize("query,problem", [
    ({"landscape": "moon"}, "landscape=moon"),
    ({"steps": "abc"}, "steps=abc"),
    ({"steps": "123"}, "steps=123"),
    ({"opts": "adam,warp"}, "unknown ids ['warp']"),
    ({"opts": ""}, "names no known optimizer"),
    ({"clip": "-1"}, "clip=-1"),
    ({"clip": "nan"}, "clip=nan"),
    ({"noise": "1e9"}, "noise=1e9"),
    ({"schedule": "sometimes"}, "schedule=sometimes"),
    ({"seed": "-4"}, "seed=-4"),
])
def test_malformed_url_parameters_fall_back_with_a_notice(query, problem):
    settings, problems = parse_query(query)
    assert len(problems) == 1 and problem in problems[0]
    default = RaceSettings()
    name = next(iter(query))
    field = {"opts": "optimizers"}.get(name, name)
    assert getattr(settings, field) == getattr(default, field)


def test_url_round_trip():
    settings = RaceSettings("himmelblau", 500, ["adam", "lion"], "warmup_cosine", 2.5, 1.5, 7, (1.5, -2.25))
    parsed, problems = parse_query({**settings.to_query(), "speed": "2"})
    assert not problems and parsed == settings


@pytest.mark.parametrize("query,problem", [({"start": "1"}, "start=1"), ({"start": "99,0"}, "start=99,0"),
                                           ({"speed": "3"}, "speed=3")])
def test_start_and_speed_in_the_url_are_checked(query, problem):
    settings, problems = parse_query(query)
    assert len(problems) == 1 and problem in problems[0] and settings.start is None


def arrow_bytes(frame) -> int:
    sink = pa.BufferOutputStream()
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().size


def payload_bytes(data: dict) -> int:
    """What the player's data costs on the wire: the JSON part plus the Arrow tables."""
    tables = {k: v for k, v in data.items() if isinstance(v, (pa.Table, pd.DataFrame))}
    rest = {k: v for k, v in data.items() if k not in tables}
    return len(json.dumps(rest)) + sum(arrow_bytes(t) for t in tables.values())


def test_race_spec_animates_in_the_browser_and_stays_small():
    race = dc.race("rosenbrock", list(dc.OPTIMIZERS), steps=1000)
    data = player_data(race, show_loss=True)
    spec = data["spec"]
    assert is_animated(spec)
    assert not any("timer" in json.dumps(p) for p in spec["params"]), "the player, not a Vega timer, drives playback"
    names = {p["name"] for p in spec["params"]}
    assert {"frame", "kept", "pick"} <= names
    pick = next(p for p in spec["params"] if p["name"] == "pick")
    assert pick["bind"] == "legend" and pick["select"]["fields"] == ["series"]
    assert len(data["race"]) <= MAX_ROWS + len(dc.OPTIMIZERS)
    assert payload_bytes(data) < 150 * 1024


def test_both_panels_dim_what_the_legend_did_not_pick_and_show_tooltips():
    race = dc.race("beale", ["adam", "lion"], steps=50)
    spec = player_data(race, show_loss=True)["spec"]
    text = json.dumps(spec)
    for panel in spec["hconcat"]:
        assert '"param": "pick"' in json.dumps(panel), "every panel's opacity follows the legend pick"
    assert text.count('"title": "optimizer"') >= 2, "hover shows the optimizer's name on the map and the loss curve"
    loss_x = spec["hconcat"][1]["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert loss_x == [0, 50], "the loss axis spans the whole race"


def test_diverged_runs_get_a_marker_layer():
    race = dc.race("ravine", ["gd"], steps=300, hparams={"gd": {"lr": [0.05, 0.5]}})
    data = player_data(race, show_loss=False)
    assert data["diverged"]["step"].to_pylist() == [int(race.diverged_at[0, 1])]
    assert '"name": "diverged"' in json.dumps(data["spec"])


def test_palette_tells_every_optimizer_apart():
    styles = {opt: style_of(opt) for opt in dc.OPTIMIZERS}
    assert len({(s.color, s.dash) for s in styles.values()}) == len(styles), "no two share colour and dash"
    for family in {spec.family for spec in dc.OPTIMIZERS.values()}:
        members = [opt for opt, spec in dc.OPTIMIZERS.items() if spec.family == family]
        assert len({styles[o].color for o in members}) == len(members), f"{family}: one shade per member"
        assert len({styles[o].dash for o in members}) == len(members), f"{family}: one dash per member"


def test_small_races_get_contrasting_colours():
    adam, adamw = series_styles(["adam", "adamw"])
    assert adam.color != adamw.color
    assert len({s.color for s in series_styles(["gd", "gd", "gd"])}) == 3, "a sweep's runs are not shades of black"
    assert series_styles(["gd", "adam"])[1].color == style_of("adam").color, "alone in its family: its own colour"


def test_menu_names_come_from_the_registry_without_importing_it():
    from descent_ui.links import registry_names, spelled

    assert registry_names() == {opt: spec.name for opt, spec in dc.OPTIMIZERS.items()}
    assert spelled("RMSprop: let the denominator forget") == "RMSProp: let the denominator forget"


def test_results_table_is_one_ranked_table_in_plain_words():
    from descent_ui.race_view import results_table

    race = dc.race("ravine", ["gd", "lion"], steps=150, hparams={"gd": {"lr": 0.09}, "lion": {"lr": 0.1}})
    table = results_table(race)
    assert list(table.columns) == ["rank", "optimizer", "final loss", "settles within 0.001 at step", "diverged",
                                   "settings"]
    assert table["optimizer"].tolist() == ["Gradient descent", "Lion"]
    assert table["diverged"].tolist() == ["no", "no"]
    assert table.loc[1, "settles within 0.001 at step"] == "—", "Lion circles the minimum: no settling step"
    saddle = results_table(dc.race("saddle", ["sgd", "adam"], steps=100))
    assert saddle.columns[3].startswith("escapes") and saddle["optimizer"].tolist() == ["Adam", "SGD"]


def test_sweep_series_are_labelled_by_the_varying_setting_in_one_hue():
    race = dc.race("ravine", ["gd"], steps=10, hparams={"gd": {"lr": [0.01, 0.05, 0.09]}})
    labels = [s.label for s in series_of(race)]
    assert labels == ["Gradient descent (lr=0.01)", "Gradient descent (lr=0.05)", "Gradient descent (lr=0.09)"]


@pytest.mark.parametrize("figure_id", list(FIGURES))
def test_every_figure_runs_with_its_defaults(figure_id):
    figure = FIGURES[figure_id]
    settings = settings_for(figure, {})
    race = dc.race(settings["landscape"], settings["optimizers"], steps=settings["steps"], starts=[settings["start"]],
                   hparams=settings["hparams"], noise=settings["noise"])
    assert np.isfinite(race.losses).all()


def test_figure_knobs_are_bounded():
    figure = FIGURES["momentum_vs_sgd"]
    with pytest.raises(ValueError, match="momentum μ must be in"):
        settings_for(figure, {"momentum μ": 1.5})


@pytest.mark.parametrize("figure_id", list(FIGURES))
def test_every_optimizer_in_every_figure_has_a_learning_rate_knob(figure_id):
    from descent_ui.figures import knobs_for

    figure = FIGURES[figure_id]
    for landscape_id in figure.landscape_choices or (figure.landscape,):
        knobs = knobs_for(figure, dc.LANDSCAPES[landscape_id])
        tuned = {opt for knob in knobs if knob.name == "lr" for opt in knob.applies_to}
        assert tuned == set(figure.optimizers)
        for knob in knobs:
            assert knob.low <= knob.default <= knob.high


def test_an_added_learning_rate_knob_reaches_the_race():
    figure = FIGURES["frontier_race"]
    settings = settings_for(figure, {"Lion: learning rate η": 0.01})
    assert settings["hparams"]["lion"]["lr"] == 0.01
    with pytest.raises(ValueError, match="Lion: learning rate η must be in"):
        settings_for(figure, {"Lion: learning rate η": 100.0})


def test_the_rotation_figure_differs_only_by_the_turn_for_rotation_invariant_methods():
    import math

    figure = FIGURES["frontier_rotated"]
    races = {}
    for landscape in ("ravine", "rotated_ravine"):
        s = settings_for(figure, {"landscape": landscape})
        races[landscape] = dc.race(s["landscape"], s["optimizers"], steps=s["steps"], starts=[s["start"]],
                                   hparams=s["hparams"], dtype=torch.float64)
    c, s_ = math.cos(math.pi / 4), math.sin(math.pi / 4)
    turned_back = races["rotated_ravine"].paths[..., 0, :, :] @ np.array([[c, -s_], [s_, c]])
    gap = np.abs(turned_back - races["ravine"].paths[..., 0, :, :]).max(axis=(-1, -2))
    by_optimizer = dict(zip(figure.optimizers, gap))
    assert by_optimizer["gd"] < 1e-9 and by_optimizer["shampoo"] < 1e-9
    # Muon's Newton-Schulz runs in bfloat16, and near the minimum its fixed-size steps (about 0.7 lr = 0.12) jitter:
    # rounding moves the jitter by a step or so, while Adam and Lion take visibly different roads.
    assert by_optimizer["muon"] < 2 * 0.7 * 0.178
    assert by_optimizer["adam"] > 0.5 and by_optimizer["lion"] > 0.5
