"""The Progress page's card browser: search and filter every card, read one card's history, suspend or reset it.

Card text is shown through st.markdown, the quiz's own Markdown + math path, never as raw cells: the table lists
ids, sections and schedule facts, and the chosen card is rendered below it.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st
from fsrs import State

from descent_core.quiz import Deck, store, topic_short_title, topic_title

from . import progress_store

STATE_NAMES = {int(s): s.name for s in State}
CARD_STATES = ("New", "Learning", "Review", "Relearning", "Suspended")
KEY = "progress.browser"


def card_state(row: store.CardRow | None) -> str:
    if row is not None and row.suspended:
        return "Suspended"
    if row is None or row.state is None:
        return "New"
    return STATE_NAMES.get(int(row.state["state"]), "New")


def browser_rows(cards: Deck, rows: dict[str, store.CardRow], reviews: list[dict], now: datetime) -> pd.DataFrame:
    counts: dict[str, int] = {}
    for r in reviews:
        counts[r["card_id"]] = counts.get(r["card_id"], 0) + 1
    table = []
    for card in cards.cards:
        row = rows.get(card.id)
        due = row.state["due"][:10] if row is not None and row.state else ""
        table.append({"card": card.id, "section": topic_short_title(card.topic), "topic": card.topic,
                      "kind": card.kind, "state": card_state(row), "due": due, "reviews": counts.get(card.id, 0),
                      "text": f"{card.id} {card.prompt} {card.answer}".casefold()})
    return pd.DataFrame(table)


def filtered(table: pd.DataFrame, search: str, topics: list[str], kinds: list[str], states: list[str]) -> pd.DataFrame:
    keep = pd.Series(True, index=table.index)
    for word in search.casefold().split():
        keep &= table["text"].str.contains(word, regex=False)
    if topics:
        keep &= table["topic"].isin(topics)
    if kinds:
        keep &= table["kind"].isin(kinds)
    if states:
        keep &= table["state"].isin(states)
    return table[keep]


def render_browser(cards: Deck, profile_id: int, rows: dict[str, store.CardRow], reviews: list[dict],
                   now: datetime) -> None:
    st.subheader("Card browser")
    table = browser_rows(cards, rows, reviews, now)
    search = st.text_input("Search cards", key=f"{KEY}.search", placeholder="words from the question or answer")
    a, b, c = st.columns(3)
    topics = a.multiselect("Section", cards.topics(), format_func=topic_title, key=f"{KEY}.topics")
    kinds = b.multiselect("Kind", sorted(table["kind"].unique()), key=f"{KEY}.kinds")
    states = c.multiselect("State", CARD_STATES, key=f"{KEY}.states")
    shown = filtered(table, search, topics, kinds, states)
    st.caption(f"{len(shown)} of {len(table)} cards.")
    st.dataframe(shown.drop(columns=["text", "topic"]), hide_index=True, width="stretch", height=260)
    if shown.empty:
        return
    card_id = st.selectbox("Open a card", list(shown["card"]), key=f"{KEY}.card")
    card = cards.by_id[card_id]
    row = rows.get(card_id)
    with st.container(border=True):
        st.caption(f"{card.id} · {topic_title(card.topic)} · {card.kind} · {card_state(row)}")
        st.markdown(card.prompt)
        if card.answer:
            with st.expander("Answer"):
                st.markdown(card.answer)
        history = [r for r in reviews if r["card_id"] == card_id]
        if history:
            st.dataframe(pd.DataFrame([{"when": r["reviewed_at"].strftime("%Y-%m-%d %H:%M"), "rating": r["rating"],
                                        "correct": bool(r["correct"]), "seconds": round(r["elapsed_ms"] / 1000, 1),
                                        "points": r["points"]} for r in history]), hide_index=True, width="stretch")
        else:
            st.caption("No reviews of this card yet.")
        left, right = st.columns(2)
        suspended = row is not None and row.suspended
        if left.button("Bring back" if suspended else "Suspend", key=f"{KEY}.suspend",
                       help="A suspended card is left out of every mode; its schedule is kept."):
            progress_store.save(lambda e: store.set_suspended(e, profile_id, card_id, not suspended))
            st.rerun()
        if right.button("Reset", key=f"{KEY}.reset", help="Forget its schedule: the card is new again. Its past "
                        "reviews stay in the history and out of parameter fitting."):
            progress_store.save(lambda e: store.reset_card(e, profile_id, card_id, now))
            st.rerun()
