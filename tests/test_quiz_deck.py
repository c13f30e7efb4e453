"""Deck loading and validation: the real decks pass, and each kind of authoring mistake is caught."""

import pathlib
import textwrap

import pytest

from descent_core.quiz import deck as deck_mod
from descent_core import content
from descent_core.quiz.deck import Card, Deck, DeckError, card_texts, load_deck_files, parse_deck_text, topic_ids

# The topics a card may name: the section ids of content/NN-*.md, read through descent_core.content.
SECTIONS = tuple(topic_ids())

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


def test_every_topic_resolves_to_a_section_file():
    """Each card's topic is the id in the front matter of a content/NN-*.md file, and the topic list is exactly
    those files' ids in guide order (nothing hard-coded in the deck module)."""
    front_ids = {}
    for path in sorted((ROOT / "content").glob("[0-9][0-9]-*.md")):
        meta, _ = content.split_front_matter(path.read_text(encoding="utf-8"), path.name)
        front_ids[meta["id"]] = path
    assert set(SECTIONS) == set(front_ids) and len(SECTIONS) == len(front_ids)
    assert list(SECTIONS) == sorted(SECTIONS, key=lambda sid: content.section(sid).order)
    assert deck_mod.topic_titles() == {sid: content.section(sid).title for sid in SECTIONS}
    assert not hasattr(deck_mod, "SECTIONS")  # no second list of sections to fall out of step
    for card in load_deck_files():
        assert card.topic in front_ids


def test_full_deck_has_at_least_60_unique_cards_with_all_kinds():
    from descent_core.quiz import load_deck

    deck = load_deck()
    assert len(deck) >= 60, f"only {len(deck)} cards"
    assert len({c.id for c in deck.cards}) == len(deck)
    assert {c.kind for c in deck.cards} == {"explain", "choice", "formula", "numeric", "name"}
    for card in deck.cards:
        assert card.link == deck_mod.topic_url(card.topic)


def test_section_links_match_the_app_navigation():
    """A card's link must be the address the app really serves the section at."""
    for sid in SECTIONS:
        path = content.section(sid).path
        assert deck_mod.topic_url(sid) == "/" + content.strip_order(path.stem).replace("-", "_"), path.name
    links = pytest.importorskip("descent_ui.links", reason="the app's page list is not there")
    entries = {e.section_id: e for e in links.pages() if e.section_id}
    assert set(entries) == set(SECTIONS)
    for sid, entry in entries.items():
        assert deck_mod.topic_url(sid) == "/" + entry.url_path


def test_practice_links_only_for_topics_with_cards_and_the_query_is_checked():
    from descent_core.quiz import load_deck, topic_from_query, topics_with_cards

    having = topics_with_cards()
    assert having == {c.topic for c in load_deck().cards} and having <= set(SECTIONS)
    assert set(SECTIONS) - having, "some section has no cards, so the filter has something to filter"
    some = sorted(having)[0]
    assert topic_from_query(some) == some and topic_from_query(f" {some.upper()} ") == some
    for bad in [None, "", "no-such-topic", "<script>", "x" * 10_000, sorted(set(SECTIONS) - having)[0], ["gd"]]:
        assert topic_from_query(bad) is None


def test_no_card_shows_a_raw_marker():
    """Quoted quantities ({{q:id=value}}) become their numbers in every field a learner sees."""
    import random

    from descent_core.quiz import load_deck
    from descent_core.quiz.session import question_for

    raw = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "content" / "decks").glob("*.yaml"))
    assert "{{q:" in raw, "the decks quote measured quantities, so this test checks something"
    for card in load_deck().cards:
        assert not any("{{" in text for text in card_texts(card)), card.id
        q = question_for(card, random.Random(0))
        assert not any("{{" in text for text in (q.prompt, q.answer, *q.key_points, *q.options)), card.id


def test_an_unknown_marker_is_a_deck_problem():
    assert any("stays raw" in p for p in problems_for(one_card(answer="see {{lab:somewhere}}")))
    cards, problems = parse_deck_text(one_card(answer="about {{q:adam_raw_first_step=3.16}} steps"), "t.yaml")
    assert problems == [] and cards[0].answer == "about 3.16 steps"
