"""The cards of a topic and its section say the same thing, and the lab decides what that is.

* Each lab-backed claim below is run: its lab's default run must bear it out.
* The section and every card that makes the claim must quote the same measured quantities ({{q:...}} markers, which
  tests/test_quantities.py checks against the engine), so a page and a card cannot disagree on a number.
* Statements the review found false (AdaGrad escaping the saddle faster, "enormous" bias-corrected steps, warmup as
  "the whole story", a settled heavy-tailed-noise story, ...) may not come back in any section or deck.
* A card may not restate, unmarked, a number its section quotes with a marker.
* The "Find the edge yourself" box of section 01 is run, with the values it names, on the ravine its figure draws.
"""

from __future__ import annotations

import math
import pathlib
import re
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import yaml

import descent_core as dc
from descent_core import content
from descent_core.quantities import basics

ROOT = pathlib.Path(__file__).resolve().parents[1]
SECTIONS = {path.name: path for path in sorted((ROOT / "content").glob("[01][0-9]-*.md"))}
DECKS = tuple(sorted(p.stem for p in (ROOT / "content" / "decks").glob("*.yaml") if not p.name.startswith("_")))


def section_text(name: str) -> str:
    return SECTIONS[name].read_text(encoding="utf-8")


@dataclass(frozen=True)
class CardText:
    deck: str
    id: str
    topic: str
    text: str  # prompt, answer, key points and the correct option: what the card asserts (markers kept)
    prose: str  # the same without the options


def load_cards() -> dict[str, CardText]:
    cards = {}
    for deck in DECKS:
        for card in yaml.safe_load((ROOT / "content" / "decks" / f"{deck}.yaml").read_text(encoding="utf-8"))["cards"]:
            parts = [card.get("prompt", ""), card.get("answer", "")] + list(card.get("key_points") or [])
            prose = "\n".join(map(str, parts))
            if card.get("options") and isinstance(card.get("correct"), int):
                parts.append(str(card["options"][card["correct"]]))
            cards[card["id"]] = CardText(deck, card["id"], card["topic"], "\n".join(map(str, parts)), prose)
    return cards


CARDS = load_cards()


def quoted_ids(text: str) -> set[str]:
    return {qid for qid, _ in content.quotes(text)}


# --------------------------------------------------------------------------------------------------------------
# Lab-backed claims: the lab decides, and every place that makes the claim quotes the lab's measurements.


@dataclass(frozen=True)
class Claim:
    id: str
    lab: str
    holds: object  # measured dict -> bool: what the lab must show
    quotes: tuple[str, ...]  # quantities every source of the claim quotes
    sections: tuple[str, ...]
    cards: tuple[str, ...]


CLAIMS = (
    Claim("gd edge at 2/λmax", "stability_map",
          lambda m: m["gd_edge"] <= m["two_over_lam_max"] < m["gd_next_unstable"],
          ("gd_edge",), ("01-gradient-descent.md",), ("gd-stability-edge",)),
    Claim("GD and heavy-ball rates", "convergence_rates",
          lambda m: abs(m["gd_rate"] - m["gd_rate_theory"]) < 1e-6
          and abs(m["heavy_ball_rate"] - m["heavy_ball_rate_theory"]) < 5e-3,
          ("gd_best_rate", "heavy_ball_rate"), ("03-momentum.md",), ("momentum-optimal-rate", "momentum-rate-choice")),
    Claim("AdaGrad leaves the saddle last; momentum, RMSProp and Adam before SGD", "saddle_escape",
          lambda m: m["adagrad_escape"] > m["sgd_escape"] > max(m["momentum_escape"], m["rmsprop_escape"],
                                                                 m["adam_escape"]),
          ("saddle_adagrad_escape", "saddle_sgd_escape"), ("02-sgd.md",), ("problem-saddle-points", "race-saddle")),
    Claim("Adam leaves the saddle before SGD", "saddle_escape", lambda m: m["adam_escape"] < m["sgd_escape"],
          ("saddle_adam_escape", "saddle_sgd_escape"), ("02-sgd.md", "11-nadam.md"), ("adam-saddle-escape",)),
    Claim("momentum multiplies the step by 1/(1−μ) on a steady slope", "momentum_effective_lr",
          lambda m: abs(m["constant_multiplier"] - m["constant_theory"]) < 0.01 * m["constant_theory"],
          ("momentum_multiplier_09", "momentum_multiplier_099"), ("03-momentum.md",), ("momentum-effective-lr",)),
    Claim("Nesterov stays under its O(1/t²) bound", "nesterov_rate", lambda m: m["nesterov_bound_ratio"] <= 1.0,
          ("nesterov_lab_bound_ratio",), ("04-nesterov.md",), ("nesterov-rate-choice",)),
    Claim("AdaGrad's step falls like 1/√t", "adagrad_decay", lambda m: abs(m["adagrad_slope"] + 0.5) < 0.01,
          ("adagrad_step_100",), ("05-adagrad.md",), ("adagrad-decay-choice",)),
    Claim("bias-corrected Adam's first step is η; uncorrected it is 3.16η", "bias_correction",
          lambda m: abs(m["corrected_first"] - 1.0) < 1e-6 and m["raw_first"] > 3.0,
          ("adam_raw_first_step",), ("08-adam.md",), ("adam-bias-correction", "adam-uncorrected-step")),
    Claim("ε inside the root acts like √ε outside it", "epsilon_placement",
          lambda m: m["step_eps_inside"] < 0.1 * m["step_eps_outside"],
          ("adam_eps_outside_step", "adam_eps_inside_step"), ("08-adam.md",), ("adam-epsilon-placement",)),
    Claim("Adam is driven to +1, AMSGrad to −1, Adam with β2 = 0.999 to −1", "amsgrad_counterexample",
          lambda m: m["adam_final_small_b2"] > 0.99 and m["amsgrad_final_small_b2"] < -0.99
          and m["adam_final_default"] < -0.99,
          ("amsgrad_lab_adam_final", "amsgrad_lab_amsgrad_final", "amsgrad_lab_adam_default_final"),
          ("09-amsgrad.md",), ("amsgrad-counterexample",)),
    Claim("L2 decays busy weights less; AdamW decays all alike", "l2_vs_decoupled",
          lambda m: m["adam_l2_busy_decay"] < m["adam_l2_quiet_decay"]
          and math.isclose(m["adamw_busy_decay"], m["adamw_quiet_decay"], rel_tol=1e-3),
          ("l2_lab_busy", "l2_lab_quiet"), ("10-adamw.md",), ("adamw-l2-vs-decoupled",)),
    Claim("without warmup Adam's first steps are its largest", "warmup",
          lambda m: m["ratio_no_warmup"] > 1.5 > 1.0 > m["ratio_warmup"],
          ("warmup_lab_ratio_constant", "warmup_lab_ratio_warmup"), ("13-schedules.md",), ("schedules-warmup-adam",)),
)


@pytest.fixture(scope="module")
def lab_results():
    return {claim.lab: basics.lab_run(claim.lab) for claim in CLAIMS}


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_the_lab_bears_the_claim_out(claim, lab_results):
    assert claim.holds(lab_results[claim.lab]), f"{claim.lab}: {lab_results[claim.lab]}"


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_section_and_cards_quote_the_same_measurements(claim):
    sources = {name: section_text(name) for name in claim.sections}
    sources |= {f"card {cid}": CARDS[cid].text for cid in claim.cards}
    for where, text in sources.items():
        missing = set(claim.quotes) - quoted_ids(text)
        assert not missing, f"{where} makes the claim '{claim.id}' without quoting {sorted(missing)}"


# --------------------------------------------------------------------------------------------------------------
# Statements found false, refused everywhere in sections 00-13 and their decks.

REFUSED = (
    (r"remembers the large gradients", "AdaGrad's sums are per coordinate: y's own sum slows the escape"),
    (r"Adam, RMSprop\s+and\s+AdaGrad\s+normalise", "AdaGrad leaves the saddle last (saddle_escape lab)"),
    (r"AdaGrad[^.]{0,80}\bescape[sd]?\b[^.]{0,30}\b(sooner|faster|quickly)\b", "AdaGrad leaves the saddle last"),
    (r"(enormous|huge)\s+(early\s+)?steps|sometimes\s+(enormous|huge)", "bias-corrected Adam's first step is η"),
    (r"is the whole story", "warmup has several reasons (Adam's averages, large batches, Post-LN gradients)"),
    (r"(?<!not )negligible after[^.]{0,40}1/\(1-\\beta_2\)", "the correction is still 1.58 at t = 1/(1−β2)"),
    (r"worst-case bound", "(1−β1)/√(1−β2) is the single-spike case; the maximum is larger"),
    (r"(makes|is|and)\s+[^.\"]{0,40}\bcrude\b[^.\"]{0,30}Newton", "RMSprop-as-Newton is a contested reading"),
    (r"close to untrainable|barely trains|hard to train there at all", "SGD trains transformers, worse than Adam"),
    (r"gradient noise is heavy-tailed, adaptive|because gradients are heavy-tailed",
     "heavy-tailed noise is one contested explanation, not the settled one"),
    (r"it is the standard schedule for LLM|why it is the common LLM default|most large runs use the same",
     "cosine is one common schedule; warmup-stable-decay is now common too"),
    (r"often raise \$\\epsilon\$|raises \$\\epsilon\$ from \$10\^\{-8\}\$ to around",
     "ε advice is one recommendation, the same in 08, 10 and the cards"),
    (r"record-setting training runs", "say which result: AlgoPerf's external-tuning track"),
)
SOURCES = {name: content.unquote(section_text(name)) for name in SECTIONS}
SOURCES |= {f"card {c.id}": content.unquote(c.text) for c in CARDS.values()}


@pytest.mark.parametrize("pattern, why", REFUSED, ids=[why for _, why in REFUSED])
def test_refused_statements_do_not_come_back(pattern, why):
    hits = [where for where, text in SOURCES.items() if re.search(pattern, " ".join(text.split()))]
    assert not hits, f"{why}: {hits}"


def test_refused_patterns_bite():
    assert re.search(REFUSED[0][0], "its sum of squares remembers the large gradients of the approach")
    assert re.search(REFUSED[3][0], "produces erratic, sometimes enormous steps")
    assert re.search(REFUSED[4][0], "that ratio is the whole story of why Adam needs warmup")
    assert not re.search(REFUSED[4][0], "That is one reason, not the whole story")


def test_epsilon_advice_is_one_advice():
    """The three places that advise on ε name the same recipes and the same caution."""
    places = {"08-adam.md": SOURCES["08-adam.md"], "10-adamw.md": SOURCES["10-adamw.md"],
              "card adam-epsilon-placement": SOURCES["card adam-epsilon-placement"]}
    for where, text in places.items():
        flat = " ".join(text.split())
        for needle in ("GPT-3", "RoBERTa", "Llama 2", "Wortsman"):
            assert needle in flat, f"{where} gives ε advice without {needle}"


# --------------------------------------------------------------------------------------------------------------
# A card may not restate, without a marker, a number its section quotes with one.

_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d{2,}|\d{3,}(?:,\d{3})*)(?![\w.])")
# Hyperparameter values that a card may write as settings, whatever a section measures to the same digits; and round
# integers (multiples of 100), which are step counts and scales far more often than measurements.
SETTINGS = {"0.99", "0.999", "0.95"}
SECTION_OF_TOPIC = {}
for _name, _path in SECTIONS.items():
    _meta, _ = content.split_front_matter(_path.read_text(encoding="utf-8"), _name)
    SECTION_OF_TOPIC[_meta["id"]] = _name


def test_cards_do_not_restate_marked_numbers_unmarked():
    problems = []
    for card in CARDS.values():
        section = SECTION_OF_TOPIC.get(card.topic)
        if section is None:
            continue
        marked = {value for _, value in content.quotes(section_text(section)) if _NUMBER.fullmatch(value.lstrip("+-"))}
        bare = content.QUOTE.sub(" ", card.prose)  # the card's text with its own markers taken out (options are
        for number in _NUMBER.findall(bare):      # short answer choices, kept free of markers)
            if number in SETTINGS or ("." not in number and int(number.replace(",", "")) % 100 == 0):
                continue
            if number in marked:
                problems.append(f"card {card.id} writes {number} unmarked; {section} quotes it with a marker")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------------------------------------------
# Section 01's "Find the edge yourself" box, run on the ravine its figure draws.


def edge_box() -> str:
    sections = content.sections()
    box = [b for b in sections["gd"].blocks if b.kind == "callout" and b.title == "Find the edge yourself"]
    assert len(box) == 1
    return " ".join(box[0].text.split())


def box_values() -> tuple[float, float, float, int]:
    text = edge_box()
    below, above = re.search(r"η to (0\.\d+) and then to (0\.\d+)", text).groups()
    slow = re.search(r"set it to (0\.\d+)", text).group(1)
    steps = re.search(r"after all (\d+) steps", text).group(1)
    return float(below), float(above), float(slow), int(steps)


def test_the_box_names_the_values_the_quantities_measure():
    assert box_values() == (basics.BOX_BELOW, basics.BOX_ABOVE, basics.BOX_SLOW, basics.BOX_STEPS)


def test_the_box_sits_under_the_figure_it_describes():
    from descent_ui.figures import FIGURES, knobs_for

    body = content.sections()["gd"].blocks
    kinds = [(b.kind, b.title if b.kind == "callout" else b.name) for b in body]
    assert kinds.index(("figure", "gd_step_sizes")) < kinds.index(("callout", "Find the edge yourself"))
    figure = FIGURES["gd_step_sizes"]
    below, above, slow, steps = box_values()
    assert figure.landscape == "ravine" and figure.steps == steps
    assert figure.hparams["gd"]["lr"][0] == slow, "the box calls 0.01 the first run's rate"
    knob = next(k for k in knobs_for(figure, dc.LANDSCAPES["ravine"]) if k.label == "middle run's η")
    assert all(knob.low <= value <= knob.high for value in (below, above, slow)), "the reader must be able to set them"


def test_the_box_shows_what_it_says_on_the_ravine():
    below, above, slow, steps = box_values()
    surface = dc.LANDSCAPES["ravine"]
    curvature = surface.hessian_diagonal(torch.tensor([surface.start], dtype=torch.float64))[0].numpy()
    edge = 2.0 / curvature.max()
    assert below < edge < above and math.isclose(edge, 0.1)
    paths = dc.race(surface, ["gd"], steps=steps, dtype=torch.float64, device="cpu",
                    hparams={"gd": {"lr": [below, above, slow]}}).paths[0]
    y_below, y_above = paths[0, :, 1], paths[1, :, 1]
    # "For the first ten steps or so the two paths are hard to tell apart"
    assert np.all(np.abs(y_above[:11]) / np.abs(y_below[:11]) < 1.5)
    # "the first one's swings shrink ... until it settles": it crosses the floor every step, and ends near it
    assert np.all(np.sign(y_below[1:]) == -np.sign(y_below[:-1]))
    assert abs(y_below[-1]) < 0.1 * abs(y_below[0]) and np.all(np.diff(np.abs(y_below)) < 0)
    # "the second one's grow ... and leave the plot"
    assert np.all(np.diff(np.abs(y_above)) > 0)
    assert np.any(np.abs(y_above) > surface.bounds[1][1])
    # at the slow rate: the steep coordinate is gone within a few dozen steps, the flat one is far from done
    x_slow, y_slow = paths[2, :, 0], paths[2, :, 1]
    assert np.argmax(np.abs(y_slow) < 0.01 * abs(y_slow[0])) <= 30
    assert abs(x_slow[-1]) > 0.2 * abs(x_slow[0])
