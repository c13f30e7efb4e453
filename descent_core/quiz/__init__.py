"""Interview practice: decks, generated cards, scoring, FSRS scheduling, the progress store, sessions.

`load_deck()` is the one entry point the UI needs for cards: the hand-written YAML decks plus the generated
numeric and name-the-optimizer cards, checked together so ids stay unique. `topics_with_cards()` tells a guide
page whether the quiz has anything to practise for its section.
"""

from __future__ import annotations

import functools
import pathlib

from .deck import DECK_DIR, Card, Deck, DeckError, load_deck_files, topic_short_title, topic_title, topic_url
from .question import Question


def load_deck(deck_dir: pathlib.Path = DECK_DIR, include_generated: bool = True) -> Deck:
    cards = load_deck_files(deck_dir)
    if include_generated:
        from .generators import generated_cards  # the engine's races load only when generated cards are wanted

        cards = cards + generated_cards()
    return Deck(tuple(cards))


@functools.lru_cache(maxsize=1)
def _default_deck_topics() -> frozenset[str]:
    return frozenset(card.topic for card in load_deck().cards)


def topics_with_cards() -> frozenset[str]:
    """Section ids the quiz has at least one card for (hand-written or generated); computed once per process.

    A guide page shows its "Practise … in the quiz" link only when its section id is in here, so no link promises
    practice that does not exist.
    """
    return _default_deck_topics()


def topic_from_query(value: object) -> str | None:
    """The topic a `?topic=` query names, when the quiz has cards for it; None for anything else (never raises).

    The quiz page preselects this topic, so a "Practise X in the quiz" link opens the quiz on X.
    """
    if not isinstance(value, str) or len(value) > 64:
        return None
    topic = value.strip().lower()
    return topic if topic in topics_with_cards() else None


__all__ = ["Card", "Deck", "DeckError", "Question", "load_deck", "load_deck_files", "topic_short_title",
           "topic_title", "topic_url", "topic_from_query", "topics_with_cards"]
