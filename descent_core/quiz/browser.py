"""The card browser's query: every card with its schedule, searchable and filtered by topic, kind and state.

Pure functions over what the store loaded (`store.load_card_rows`, `store.load_reviews`) and the deck, so the page
renders the result and the tests check the filtering without Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

from . import srs
from .deck import Card
from .store import CardRow

# What the browser calls a card's state (fsrs.State 1, 2, 3, plus never seen and suspended).
STATE_NAMES = {None: "new", 1: "learning", 2: "review", 3: "relearning"}
BROWSER_STATES = ("new", "learning", "review", "relearning", "suspended")


@dataclass(frozen=True)
class CardInfo:
    card: Card
    state: str  # one of BROWSER_STATES
    due: datetime | None
    recall_now: float | None
    reviews: int
    lapses: int  # reviews graded Again
    suspended: bool


def card_state(row: CardRow | None) -> str:
    if row is not None and row.suspended:
        return "suspended"
    if row is None or row.state is None:
        return "new"
    return STATE_NAMES[int(row.state["state"])]


def browse_cards(cards: Iterable[Card], rows: Mapping[str, CardRow], reviews: Iterable[Mapping[str, Any]],
                 now: datetime, scheduler: Any, search: str = "", topics: Iterable[str] | None = None,
                 kinds: Iterable[str] | None = None, states: Iterable[str] | None = None) -> list[CardInfo]:
    """Cards matching every filter given (search: case-insensitive words, all of which must occur in the card's
    id, prompt or answer), in deck order."""
    counts: dict[str, list[int]] = {}
    for review in reviews:
        tally = counts.setdefault(review["card_id"], [0, 0])
        tally[0] += 1
        tally[1] += int(review["rating"]) == 1
    words = [w.casefold() for w in str(search or "")[:200].split()]
    wanted_topics, wanted_kinds, wanted_states = (set(x) if x else None for x in (topics, kinds, states))
    found = []
    for card in cards:
        row = rows.get(card.id)
        state = card_state(row)
        if wanted_topics is not None and card.topic not in wanted_topics:
            continue
        if wanted_kinds is not None and card.kind not in wanted_kinds:
            continue
        if wanted_states is not None and state not in wanted_states:
            continue
        haystack = f"{card.id}\n{card.prompt}\n{card.answer}".casefold()
        if not all(w in haystack for w in words):
            continue
        stored = row.state if row is not None else None
        n, lapses = counts.get(card.id, (0, 0))
        found.append(CardInfo(card, state, srs.due_at(stored) if stored else None,
                              srs.recall_now(scheduler, stored, now) if stored else None, n, lapses,
                              bool(row and row.suspended)))
    return found
