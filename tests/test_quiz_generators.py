"""Generated cards: every numeric answer (computed by running descent_core steppers) equals an independent
closed form, for many random draws; name-the-optimizer cards show a real race path and a fair set of options."""

import math
import random

import numpy as np
import pytest
import torch

import descent_core as dc
from descent_core.quiz import generators as gen
from descent_core.quiz.session import numeric_matches, parse_number

SEEDS = range(40)


def closed_form(card_id: str, p: dict) -> float:
    """Textbook formulas, written without the engine."""
    if card_id == "gen-gd-stability-limit":
        (a, b), (_, c) = p["H"]
        lam_max = (a + c) / 2 + math.sqrt(((a - c) / 2) ** 2 + b * b)
        return 2 / lam_max
    if card_id == "gen-gd-iterate":
        return p["x0"] * (1 - p["lr"] * p["lambda"]) ** p["k"]
    if card_id == "gen-gd-best-rate":
        kappa = p["l2"] / p["l1"]
        return (kappa - 1) / (kappa + 1)
    if card_id == "gen-momentum-effective-lr":
        return p["lr"] / (1 - p["momentum"])
    if card_id == "gen-momentum-buffer-warmup":
        return (1 - p["momentum"] ** p["t"]) / (1 - p["momentum"])
    if card_id == "gen-adagrad-step":
        return p["lr"] * p["g"] / (math.sqrt(p["t"]) * p["g"] + 1e-10)
    if card_id == "gen-rmsprop-first-step":
        return p["lr"] * p["g"] / (math.sqrt(1 - p["alpha"]) * p["g"] + 1e-8)
    if card_id == "gen-adam-bias-corrected-m":
        m = 0.0
        for g in p["grads"]:
            m = p["beta1"] * m + (1 - p["beta1"]) * g
        return m / (1 - p["beta1"] ** len(p["grads"]))
    if card_id == "gen-adamw-shrink-per-step":
        return 1 - p["lr"] * p["weight_decay"]
    if card_id == "gen-adamw-shrink-after-k":
        return (1 - p["lr"] * p["weight_decay"]) ** p["k"]
    raise KeyError(card_id)


NUMERIC = [c for c in gen.generated_cards() if c.kind == "numeric"]
NAMES = [c for c in gen.generated_cards() if c.kind == "name"]


def test_there_are_generated_cards_of_both_kinds():
    assert len(NUMERIC) >= 8 and len(NAMES) >= 20
    assert {c.id for c in NUMERIC} == {
        "gen-gd-stability-limit", "gen-gd-iterate", "gen-gd-best-rate", "gen-momentum-effective-lr",
        "gen-momentum-buffer-warmup", "gen-adagrad-step", "gen-rmsprop-first-step", "gen-adam-bias-corrected-m",
        "gen-adamw-shrink-per-step", "gen-adamw-shrink-after-k",
    }


@pytest.mark.parametrize("card", NUMERIC, ids=lambda c: c.id)
def test_numeric_answers_match_an_independent_closed_form(card):
    seen = set()
    for seed in SEEDS:
        q = gen.make_question(card, random.Random(seed))
        expected = closed_form(card.id, q.params)
        assert q.value == pytest.approx(expected, rel=1e-7, abs=1e-12), (seed, q.params)
        assert numeric_matches(q, expected)
        assert gen.TOLERANCE_NOTE in q.prompt and q.rel_tol == gen.REL_TOL
        # The worked answer quotes the same number the checker accepts.
        assert gen._fmt(q.value) in q.answer
        seen.add(repr(q.params))
    assert len(seen) > 1, "parameters should change between draws"


def test_a_typed_answer_at_the_edge_of_the_tolerance():
    q = gen.make_question(NUMERIC[0], random.Random(3))
    assert numeric_matches(q, parse_number(repr(q.value * 1.009)))
    assert not numeric_matches(q, q.value * 1.02)


def test_adam_bias_correction_agrees_with_torch_optim():
    """A second independent check: torch.optim.Adam's own exp_avg, debiased."""
    q = gen.make_question(next(c for c in NUMERIC if c.id == "gen-adam-bias-corrected-m"), random.Random(7))
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=1e-3, betas=(q.params["beta1"], 0.999))
    for g in q.params["grads"]:
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
    m = opt.state[p]["exp_avg"].item() / (1 - q.params["beta1"] ** len(q.params["grads"]))
    assert q.value == pytest.approx(m, rel=1e-9)


@pytest.mark.parametrize("card", NAMES, ids=lambda c: c.id)
def test_name_the_optimizer_cards(card):
    spec = gen.name_races()[1][card.id]
    answers = set()
    for seed in range(12):
        q = gen.make_question(card, random.Random(seed))
        opt = q.params["optimizer"]
        answers.add(tuple(q.options))
        assert opt == spec.optimizer and q.params["race"] == spec.race
        assert q.kind == "name" and q.card_id == card.id and len(q.options) == gen.N_OPTIONS
        assert len(set(q.options)) == gen.N_OPTIONS
        assert q.options[q.correct] == dc.OPTIMIZERS[opt].name
        race = gen.name_race(spec.race)
        assert q.picture["landscape"] == gen.NAME_RACES[spec.race].landscape
        np.testing.assert_array_equal(np.array(q.picture["path"]), race.paths[race.optimizers.index(opt), 0])
        assert "optimizer" not in q.picture  # the picture carries no label
        assert dc.OPTIMIZERS[opt].name in q.answer and spec.tell in q.answer
        assert all(dc.OPTIMIZERS[o].name in q.options for o in q.params["choices"])
        assert set(q.params["choices"]) <= set(race.optimizers)  # every option ran in this very race
    assert len(answers) > 1, "the options should change between draws"


def test_at_least_twenty_name_cards_from_at_least_five_races():
    assert len(NAMES) >= 20
    assert len({gen.name_races()[1][c.id].race for c in NAMES}) >= 5


NAME_CLAIMS = [(c.id, claim) for c in NAMES for claim in gen.name_races()[1][c.id].claims]


@pytest.mark.parametrize("card_id, claim", NAME_CLAIMS, ids=[f"{c}:{k}" for c, k in NAME_CLAIMS])
def test_each_tell_states_what_its_picture_shows(card_id, claim):
    spec = gen.name_races()[1][card_id]
    assert gen.claim_holds(claim, spec.race, spec.optimizer), f"{card_id}: its path does not {gen.CLAIMS[claim][0]}"


@pytest.mark.parametrize("claim", list(gen.CLAIMS))
def test_every_claim_can_fail(claim):
    """A claim that holds on every path would check nothing: each must be false on some path of the races."""
    paths = [(race_id, opt) for race_id, race in gen.NAME_RACES.items() for opt in race.hparams]
    assert any(not gen.claim_holds(claim, race_id, opt) for race_id, opt in paths), claim


def test_contrasting_tells_hold_against_their_neighbour():
    """Tells that compare with another optimizer of the same race: the comparison is measured too."""
    assert gen.claim_holds("settles_on_landmark", "beale", "momentum")
    assert not gen.claim_holds("settles_on_landmark", "beale", "gd")  # "plain descent ... is still creeping"
    assert gen.claim_holds("barely_moves", "rosenbrock", "gd") and not gen.claim_holds("barely_moves", "rosenbrock", "momentum")
    assert gen.claim_holds("reaches_landmark_exactly", "rotated_ravine", "shampoo")
    assert not any(gen.claim_holds("reaches_landmark_exactly", "rotated_ravine", o)
                   for o in gen.NAME_RACES["rotated_ravine"].hparams if o != "shampoo")  # "which no per-coordinate method can"


def test_a_surface_without_a_minimum_is_never_said_to_have_one():
    for card in NAMES:
        q = gen.make_question(card, random.Random(0))
        race = gen.NAME_RACES[q.params["race"]]
        has_minimum = bool(dc.LANDSCAPES[race.landscape].minima)
        assert q.picture["landmark_name"] == ("minimum" if has_minimum else "saddle point")
        assert q.picture["landmark"] == list(race.landmark)
        if not has_minimum:
            assert "minimum" not in q.answer.replace("no minimum", ""), card.id


def test_a_false_tell_fails_and_a_bad_spec_is_refused(tmp_path):
    """The claims can catch a wrong tell: GD on the ravine neither overshoots nor moves in sign steps."""
    assert not gen.claim_holds("overshoots_landmark", "ravine", "gd")
    assert not gen.claim_holds("sign_steps", "ravine", "gd")
    text = gen.NAME_RACES_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "races.yaml"
    bad.write_text(text.replace("landmark_name: saddle point", "landmark_name: minimum"), encoding="utf-8")
    with pytest.raises(gen.DeckError, match="minima are none"):
        gen.load_name_races(bad)
    bad.write_text(text.replace("claims: [visits_landmark, lingers]", "claims: [visits_landmark, flies]"), encoding="utf-8")
    with pytest.raises(gen.DeckError, match="unknown: \\['flies'\\]"):
        gen.load_name_races(bad)


@pytest.mark.parametrize("race_id", list(gen.NAME_RACES))
def test_name_races_are_real_and_tell_the_optimizers_apart(race_id):
    race = gen.name_race(race_id)
    landscape_id = gen.NAME_RACES[race_id].landscape
    assert race.landscape.id == landscape_id and race.steps == gen.NAME_RACES[race_id].steps
    assert (race.diverged_at < 0).all()
    (x0, x1), (y0, y1) = dc.LANDSCAPES[landscape_id].bounds
    diameter = math.hypot(x1 - x0, y1 - y0)
    paths = race.paths[:, 0]
    for i in range(len(race.optimizers)):
        for j in range(i + 1, len(race.optimizers)):
            gap = np.linalg.norm(paths[i] - paths[j], axis=-1).mean() / diameter
            assert gap > 0.02, f"{race.optimizers[i]} and {race.optimizers[j]} draw nearly the same path ({gap:.3f})"


def test_surface_grid_is_small():
    grid = gen.surface_grid("ravine")
    assert len(grid["x"]) == 40 and len(grid["loss"]) == 40 and len(grid["loss"][0]) == 40
