"""Interview practice: decks, generated cards, scoring, FSRS scheduling, the progress store, sessions.

`load_deck()` is the one entry point the UI needs for cards: the hand-written YAML decks plus the
generated numeric and name-the-optimizer cards, checked together so ids stay unique.
"""

from __future__ import annotations

import pathlib

from .deck import DECK_DIR, SECTIONS, Card, Deck, DeckError, load_deck_files, section_titles, section_url


def load_deck(deck_dir: pathlib.Path = DECK_DIR, include_generated: bool = True) -> Deck:
    cards = load_deck_files(deck_dir)
    if include_generated:
        from .generators import generated_cards  # the engine (torch) loads only when generated cards are wanted

        cards = cards + generated_cards()
    return Deck(tuple(cards))


__all__ = ["Card", "Deck", "DeckError", "SECTIONS", "load_deck", "load_deck_files", "section_titles", "section_url"]
