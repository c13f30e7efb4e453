"""The Progress page's card browser: search and filter every card, read one card's history, suspend or reset it.

The query is the engine's (`browser.browse_cards`: search, topic/kind/state filters, due, recall now, reviews,
lapses) and a card's history is `store.card_history`; this module lays them out. Card text is shown through
st.markdown, the quiz's own Markdown + math path, never as raw cells: the table lists ids, sections and schedule
facts, and the chosen card is rendered below it.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from descent_core.quiz import Deck, browser, store, topic_short_title, topic_title

from . import progress_store

KEY = "progress.browser"


def table_of(found: list[browser.CardInfo]) -> pd.DataFrame:
    """What the table shows of each card (no card text: that is rendered as Markdown below it)."""
    return pd.DataFrame([{"card": info.card.id, "section": topic_short_title(info.card.topic), "kind": info.card.kind,
                          "state": info.state, "due": info.due.strftime("%Y-%m-%d") if info.due else "",
                          "recall now": f"{info.recall_now:.0%}" if info.recall_now is not None else "",
                          "reviews": info.reviews, "lapses": info.lapses} for info in found],
                        columns=["card", "section", "kind", "state", "due", "recall now", "reviews", "lapses"])


def render_browser(cards: Deck, profile_id: int, rows: dict[str, store.CardRow], reviews: list[dict],
                   now: datetime) -> None:
    st.subheader("Card browser")
    search = st.text_input("Search cards", key=f"{KEY}.search", placeholder="words from the question or answer")
    a, b, c = st.columns(3)
    topics = a.multiselect("Section", cards.topics(), format_func=topic_title, key=f"{KEY}.topics")
    kinds = b.multiselect("Kind", sorted({card.kind for card in cards.cards}), key=f"{KEY}.kinds")
    states = c.multiselect("State", browser.BROWSER_STATES, format_func=str.capitalize, key=f"{KEY}.states")
    found = browser.browse_cards(cards.cards, rows, reviews, now, progress_store.scheduler(fuzz=False),
                                 search=search, topics=topics, kinds=kinds, states=states)
    st.caption(f"{len(found)} of {len(cards.cards)} cards.")
    st.dataframe(table_of(found), hide_index=True, width="stretch", height=260)
    if not found:
        return
    by_id = {info.card.id: info for info in found}
    card_id = st.selectbox("Open a card", list(by_id), key=f"{KEY}.card")
    info = by_id[card_id]
    card = info.card
    with st.container(border=True):
        st.caption(f"{card.id} · {topic_title(card.topic)} · {card.kind} · {info.state}")
        st.markdown(card.prompt)
        if card.answer:
            with st.expander("Answer"):
                st.markdown(card.answer)
        history = progress_store.read(lambda e: store.card_history(e, profile_id, card_id), []) or []
        if history:
            st.dataframe(pd.DataFrame([{"when": r["reviewed_at"].strftime("%Y-%m-%d %H:%M"), "rating": r["rating"],
                                        "correct": bool(r["correct"]), "seconds": round(r["elapsed_ms"] / 1000, 1),
                                        "points": r["points"]} for r in history]), hide_index=True, width="stretch")
        else:
            st.caption("No reviews of this card yet.")
        left, right = st.columns(2)
        if left.button("Bring back" if info.suspended else "Suspend", key=f"{KEY}.suspend",
                       help="A suspended card is left out of every mode; its schedule is kept."):
            progress_store.save(lambda e: store.set_suspended(e, profile_id, card_id, not info.suspended))
            st.rerun()
        if right.button("Reset", key=f"{KEY}.reset", help="Forget its schedule: the card is new again. Its past "
                        "reviews stay in the history and out of parameter fitting."):
            progress_store.save(lambda e: store.reset_card(e, profile_id, card_id, now))
            st.rerun()
