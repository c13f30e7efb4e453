"""Deck loading and validation: the real decks pass, and each kind of authoring mistake is caught."""

import pathlib
import textwrap

import pytest

from descent_core.quiz import deck as deck_mod
from descent_core.quiz.deck import SECTIONS, Card, Deck, DeckError, load_deck_files, parse_deck_text

ROOT = pathlib.Path(__file__).resolve().parents[1]

GOOD = textwrap.dedent(
    """
    topic_group: test
    cards:
      - id: gd-step
        kind: explain
        topic: gd
        difficulty: 1
        prompt: "Why step against the gradient?"
        answer: "Because $-\\\\nabla f$ is the steepest local descent direction."
        key_points: ["steepest descent", "local"]
      - id: gd-limit
        kind: choice
        topic: gd
        difficulty: 2
        prompt: "Largest stable lr on $f = \\\\tfrac12 \\\\lambda x^2$?"
        options: ["$1/\\\\lambda$", "$2/\\\\lambda$"]
        correct: 1
        answer: "$2/\\\\lambda$: the factor $1 - \\\\eta\\\\lambda$ must stay inside $(-1, 1)$."
    """
)


def problems_for(text: str) -> list[str]:
    return parse_deck_text(textwrap.dedent(text), source="t.yaml")[1]


def one_card(**changes) -> str:
    card = {
        "id": "gd-x",
        "kind": "choice",
        "topic": "gd",
        "difficulty": 1,
        "prompt": "p",
        "answer": "a",
        "options": ["one", "two"],
        "correct": 0,
    }
    card.update(changes)
    card = {k: v for k, v in card.items() if v is not None}
    import yaml

    return yaml.safe_dump({"topic_group": "t", "cards": [card]})


def test_good_deck_parses_into_cards():
    cards, problems = parse_deck_text(GOOD, "good.yaml")
    assert problems == []
    assert [c.id for c in cards] == ["gd-step", "gd-limit"]
    assert cards[0].key_points == ("steepest descent", "local")
    assert cards[1].correct == 1 and cards[1].link == "/gradient_descent"


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"id": "Bad_Id"}, "kebab-case"),
        ({"topic": "momentumm"}, "not a section id"),
        ({"difficulty": 4}, "difficulty"),
        ({"difficulty": True}, "difficulty"),
        ({"kind": "essay"}, "kind must be"),
        ({"prompt": "  "}, "prompt"),
        ({"answer": None}, "answer"),
        ({"options": ["only"]}, "at least 2 options"),
        ({"options": ["same", "same"]}, "distinct"),
        ({"correct": 2}, "correct must be an index"),
        ({"correct": None}, "correct must be an index"),
        ({"keypoints": ["typo"]}, "unknown keys"),
        ({"answer": "half $x open"}, "unbalanced $"),
        ({"answer": "$$\\begin{align} x \\end{align}$$"}, "KaTeX will not render"),
    ],
)
def test_each_mistake_is_reported(changes, expected):
    problems = problems_for(one_card(**changes))
    assert any(expected in p for p in problems), problems


def test_explain_cards_need_key_points():
    text = one_card(kind="explain", options=None, correct=None)
    assert any("key_points" in p for p in problems_for(text))


def test_file_level_problems():
    assert problems_for("just a string")[0].endswith("mapping with topic_group and cards")
    assert any("cards must be a non-empty list" in p for p in problems_for("topic_group: x\ncards: []"))
    assert any("not valid YAML" in p for p in problems_for("topic_group: [unclosed"))


def test_duplicate_ids_across_files_are_rejected(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(DeckError) as err:
        load_deck_files(tmp_path)
    assert any("duplicate card id 'gd-step'" in p for p in err.value.problems)


def test_deck_object_refuses_duplicates():
    card = Card(id="a", kind="choice", topic="gd", difficulty=1, prompt="p", options=("x", "y"), correct=0)
    with pytest.raises(DeckError):
        Deck((card, card))


# ----- the real decks ------------------------------------------------------------------------------------
def test_real_hand_written_decks_validate():
    cards = load_deck_files()
    assert cards, "content/decks holds no cards"
    assert all(c.topic in SECTIONS for c in cards)


def test_every_topic_resolves_to_a_section_file_when_the_sections_exist():
    """Each card's topic must be a section id; where content/NN-*.md exist, their front matter agrees."""
    front_ids = {}
    for path in (ROOT / "content").glob("[0-9][0-9]-*.md"):
        meta = deck_mod._front_matter(path.read_text(encoding="utf-8"))
        front_ids[meta.get("id")] = path.name
    assert set(front_ids) - {None} <= set(SECTIONS), f"section files with ids not in CONVENTIONS: {front_ids}"
    for card in load_deck_files():
        assert card.topic in SECTIONS


def test_full_deck_has_at_least_60_unique_cards_with_all_four_kinds():
    from descent_core.quiz import load_deck

    deck = load_deck()
    assert len(deck) >= 60, f"only {len(deck)} cards"
    assert len({c.id for c in deck.cards}) == len(deck)
    assert {c.kind for c in deck.cards} == {"explain", "choice", "numeric", "name"}
    for card in deck.cards:
        assert card.link == deck_mod.section_url(card.topic)


def test_section_links_match_the_app_navigation():
    """A card's link must be the address the app really serves the section at."""
    assert set(deck_mod.SECTION_SLUGS) == set(SECTIONS)
    for path in (ROOT / "content").glob("[0-9][0-9]-*.md"):
        meta = deck_mod._front_matter(path.read_text(encoding="utf-8"))
        assert path.stem[3:] == deck_mod.SECTION_SLUGS[meta["id"]], path.name
    navigation = pytest.importorskip("descent_ui.navigation", reason="the app's navigation module is not there yet")
    section_ui = pytest.importorskip("descent_ui.section")
    from descent_core import content

    for topic, section in content.sections().items():
        assert deck_mod.section_url(topic) == "/" + navigation.url_path(section_ui.page_file(section))
