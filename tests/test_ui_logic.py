"""UI logic that needs no browser: URL parsing, chart specs (animation, payload, colours), figure settings."""

import json

import numpy as np
import pyarrow as pa
import torch
import pytest

import descent_core as dc
from descent_ui.figures import FIGURES, settings_for
from descent_ui.grand_race import RaceSettings, parse_query
from descent_ui.race_chart import MAX_ROWS, is_animated, race_spec, series_of
from descent_ui.theme import OPTIMIZER_COLORS


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
    settings = RaceSettings("himmelblau", 500, ["adam", "lion"], "warmup_cosine", 2.5, 1.5, 7)
    parsed, problems = parse_query(settings.to_query())
    assert not problems and parsed == settings


def test_race_spec_animates_in_the_browser_and_stays_small():
    race = dc.race("rosenbrock", list(dc.OPTIMIZERS), steps=1000)
    spec = race_spec(race, show_loss=True)
    assert is_animated(spec)
    frame = next(p for p in spec["params"] if p["name"] == "frame")
    assert frame["bind"]["input"] == "range" and frame["bind"]["max"] == 1000
    assert "playing ?" in frame["on"][0]["update"]
    data = spec.pop("datasets")
    assert len(data["race"]) <= MAX_ROWS + len(dc.OPTIMIZERS)
    size = len(json.dumps(spec))
    for frame_data in data.values():
        sink = pa.BufferOutputStream()
        table = pa.Table.from_pandas(frame_data, preserve_index=False)
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        size += sink.getvalue().size
    assert size < 150 * 1024


def test_diverged_runs_get_a_marker_layer():
    race = dc.race("ravine", ["gd"], steps=300, hparams={"gd": {"lr": [0.05, 0.5]}})
    spec = race_spec(race)
    assert "diverged" in spec["datasets"]
    assert spec["datasets"]["diverged"]["step"].tolist() == [int(race.diverged_at[0, 1])]


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
